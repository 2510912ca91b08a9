// Stopwatch timing without BenchmarkDotNet: the median of repeated calls after a warm-up past tiered compilation, or
// the best of a few repetitions' mean call times (the statistic of the oneDNN benchmark in ../shared/anchors/onednn).
using System.Diagnostics;

namespace FastRnn.Cli.Benchmarking;

/// <summary>Median timing of an action, for quick tables (not a substitute for BenchmarkDotNet's statistics).</summary>
public static class Timing
{
    /// <summary>The default measuring time per action, in seconds.</summary>
    public const double DefaultSeconds = 0.25;

    /// <summary>
    /// The median time of one call of <paramref name="action"/>, in seconds. Warms up first (past call counting and the
    /// delayed tier-1 recompilation: for 2x <paramref name="seconds"/> and 40 calls, or 8x and 2 calls for slow
    /// actions), then times enough calls to fill <paramref name="seconds"/>, at least 5 and at most 2000.
    /// </summary>
    public static double Median(Action action, double seconds = DefaultSeconds)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        WarmUp(action, seconds);
        var watch = Stopwatch.StartNew();
        action();
        double once = Math.Max(Seconds(watch), 1e-6);
        int repetitions = (int)Math.Clamp(seconds / once, 5, 2000);
        double[] times = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            watch.Restart();
            action();
            times[i] = Seconds(watch);
        }

        Array.Sort(times);
        return times[repetitions / 2];
    }

    /// <summary>
    /// The best of <paramref name="repetitions"/> repetitions' mean time per call of <paramref name="action"/>, in
    /// seconds: after the warm-up of <see cref="Median"/>, each repetition calls it until <paramref name="seconds"/> /
    /// <paramref name="repetitions"/> have passed (at least once). This is the statistic oneDNN's RNN benchmark reports
    /// (5 repetitions), so that both sides of a comparison are measured alike; on a VM whose neighbours slow whole
    /// stretches of a run, the best repetition is far steadier than a median.
    /// </summary>
    public static double BestOfRepetitions(Action action, double seconds = DefaultSeconds, int repetitions = 5)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(repetitions);
        WarmUp(action, seconds);
        double best = double.MaxValue;
        var watch = new Stopwatch();
        for (int r = 0; r < repetitions; r++)
        {
            int calls = 0;
            watch.Restart();
            do
            {
                action();
                calls++;
            }
            while (Seconds(watch) < seconds / repetitions);
            best = Math.Min(best, Seconds(watch) / calls);
        }

        return best;
    }

    // Stopwatch.Elapsed is a TimeSpan, counted in 100 ns ticks: a 1 us call read as 0.9 or 1.0 us. The raw timestamps
    // resolve the clock's own steps (~25 ns between reads here).
    private static double Seconds(Stopwatch watch) => watch.ElapsedTicks / (double)Stopwatch.Frequency;

    // Past call counting and the delayed tier-1 recompilation: for 2x seconds and 40 calls, or 8x and 2 calls for slow actions.
    private static void WarmUp(Action action, double seconds)
    {
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while ((Seconds(watch) < 2 * seconds || calls < 40) && (Seconds(watch) < 8 * seconds || calls < 2))
        {
            action();
            calls++;
        }
    }
}
