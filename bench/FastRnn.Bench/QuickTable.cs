// The quick mode: the BenchmarkDotNet shapes timed with a Stopwatch (median of repeated runs), for humans and CI smoke.
// The measurement itself (BenchLayer, Timing, Throughput) lives in src/FastRnn.Cli, shared with `fastrnn bench`.
using System.Globalization;
using FastRnn.Cli;
using FastRnn.Cli.Benchmarking;
using FastRnn.Threading;

namespace FastRnn.Bench;

internal static class QuickTable
{
    /// <summary>
    /// The table for B=16, I=H=128. Options: <c>--seconds X</c> measures each pass for X seconds (default 0.25);
    /// <c>--threads N</c> runs the layers on a worker pool of N threads (default 1: no pool).
    /// </summary>
    public static void Run(ReadOnlySpan<string> args)
    {
        const int B = 16, H = 128, I = 128;
        double seconds = SecondsOption(args, Timing.DefaultSeconds);
        using WorkerPool? pool = CreatePool(args, out int threads);
        Console.WriteLine($"Training step = forward + BPTT (incl. dX); B={B}, I={I}, H={H}; {Threads(threads)}; medians");
        Console.WriteLine($"{"cell",-6} {"T",5} {"fwd ms",9} {"step ms",9} {"tokens/s",11} {"fwd GF/s",9} {"step GF/s",10} {"bytes/step",11}");
        foreach (CellKind cell in CellNames.All)
        {
            foreach (int t in Throughput.DefaultSequenceLengths)
            {
                ThroughputResult r = Throughput.Measure(cell, t, B, I, H, seconds, pool: pool);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{cell,-6} {t,5} {r.ForwardSeconds * 1e3,9:F3} {r.StepSeconds * 1e3,9:F3} {r.StepTokensPerSecond,11:N0} {r.ForwardGflops,9:F1} {r.StepGflops,10:F1} {r.BytesPerStep,11}"));
            }
        }
    }

    /// <summary>The performance issue's shapes (T, B, I, H).</summary>
    internal static readonly (int T, int B, int I, int H)[] TargetShapes = [(64, 16, 64, 128), (256, 32, 128, 256), (512, 64, 256, 512), (1024, 16, 128, 128), (100, 1, 32, 64), (25, 1, 65, 100)];

    /// <summary>
    /// The performance issue's shapes for every cell: forward and training-step GFLOP/s. Options: <c>--tsv</c> prints
    /// tab-separated lines (T, B, I, H, cell, fwd_ms, step_ms) for bench/compare; <c>--shape N</c> runs only shape N;
    /// <c>--cell elman|lstm|gru</c> only that cell (a profile of one row);
    /// <c>--threads N</c> runs the layers on a worker pool of N threads (default 1: no pool); <c>--best</c> reports the
    /// best of 5 repetitions' mean call times instead of the median call (oneDNN's benchmark statistic; with
    /// <c>--seconds X</c> per measurement, default 1.5, as oneDNN's; <c>--repetitions N</c> instead of 5: many short
    /// repetitions approach the fastest call, which an A/B on a noisy VM needs).
    /// </summary>
    public static void RunTargets(ReadOnlySpan<string> args)
    {
        bool tsv = args.Contains("--tsv");
        bool best = args.Contains("--best");
        double seconds = SecondsOption(args, best ? 1.5 : Timing.DefaultSeconds);
        int repetitions = Option(args, "--repetitions", 5);
        Func<Action, double> time = best ? action => Timing.BestOfRepetitions(action, seconds, repetitions) : action => Timing.Median(action, seconds);
        int only = Option(args, "--shape", -1);
        CellKind? onlyCell = null;
        if (args.IndexOf("--cell") is int cellAt and >= 0)
        {
            onlyCell = cellAt + 1 < args.Length && CellNames.TryParse(args[cellAt + 1], out CellKind parsed)
                ? parsed
                : throw new ArgumentException($"--cell takes {CellNames.Expected}.", nameof(args));
        }

        using WorkerPool? pool = CreatePool(args, out int threads);
        if (tsv)
        {
            Console.WriteLine("T\tB\tI\tH\tcell\tfwd_ms\tstep_ms");
        }
        else
        {
            Console.WriteLine($"Training step = forward + BPTT (incl. dX); {Threads(threads)}; GFLOP/s from {(best ? $"the best of {repetitions} repetitions" : "medians")} (forward 2*T*B*G*H*(I+H), step 3x)");
            Console.WriteLine($"{"shape (T, B, I, H)",-22} {"cell",-6} {"fwd ms",9} {"step ms",9} {"fwd GF/s",9} {"step GF/s",10}");
        }

        // A throwaway run first, so the first measured shape does not pay for JIT tiering.
        Timing.Median(new BenchLayer(CellKind.Lstm, 8, 4, 8, 8).TrainingStep);
        for (int index = 0; index < TargetShapes.Length; index++)
        {
            if (only >= 0 && index != only)
            {
                continue;
            }

            (int t, int b, int i, int h) = TargetShapes[index];
            foreach (CellKind cell in CellNames.All)
            {
                if (onlyCell is CellKind wanted && cell != wanted)
                {
                    continue;
                }

                var layer = new BenchLayer(cell, t, b, i, h, pool: pool);
                double forward = time(layer.Forward);
                double step = time(layer.TrainingStep);
                double flops = Flops.Forward(t, b, i, h, layer.GateCount);
                Console.WriteLine(tsv
                    ? string.Create(CultureInfo.InvariantCulture, $"{t}\t{b}\t{i}\t{h}\t{cell}\t{forward * 1e3:F4}\t{step * 1e3:F4}")
                    : string.Create(CultureInfo.InvariantCulture, $"{$"({t}, {b}, {i}, {h})",-22} {cell,-6} {forward * 1e3,9:F3} {step * 1e3,9:F3} {flops / forward * 1e-9,9:F1} {3 * flops / step * 1e-9,10:F1}"));
            }
        }
    }

    /// <summary>A pool for <c>--threads N</c> (N &gt; 1), else none: the layers then run on the calling thread.</summary>
    private static WorkerPool? CreatePool(ReadOnlySpan<string> args, out int threads)
    {
        threads = Math.Max(1, Option(args, "--threads", 1));
        return threads > 1 ? new WorkerPool(threads) : null;
    }

    private static string Threads(int threads) => threads == 1 ? "1 thread" : $"{threads} threads (worker pool; fewer where the shape is too small)";

    /// <summary>The number after <c>--seconds</c> in <paramref name="args"/>, or <paramref name="fallback"/>.</summary>
    private static double SecondsOption(ReadOnlySpan<string> args, double fallback)
        => args.IndexOf("--seconds") is int at and >= 0 && at + 1 < args.Length ? double.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;

    /// <summary>The integer after <paramref name="name"/> in <paramref name="args"/>, or <paramref name="fallback"/>.</summary>
    internal static int Option(ReadOnlySpan<string> args, string name, int fallback)
        => args.IndexOf(name) is int at and >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
