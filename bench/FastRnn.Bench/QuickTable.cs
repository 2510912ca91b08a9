// The quick mode: the BenchmarkDotNet shapes timed with a Stopwatch (median of repeated runs), for humans and CI smoke.
using System.Diagnostics;
using System.Globalization;

namespace FastRnn.Bench;

internal static class QuickTable
{
    public static void Run(ReadOnlySpan<string> args)
    {
        const int B = 16, H = 128, I = 128;
        _ = args;
        Console.WriteLine($"Training step = forward + BPTT (incl. dX); B={B}, I={I}, H={H}; 1 thread; medians");
        Console.WriteLine($"{"cell",-6} {"T",5} {"fwd ms",9} {"step ms",9} {"tokens/s",11} {"fwd GF/s",9} {"step GF/s",10} {"bytes/step",11}");
        foreach (CellKind cell in (CellKind[])[CellKind.Elman, CellKind.Lstm, CellKind.Gru])
        {
            foreach (int t in (int[])[16, 64, 256, 1024])
            {
                var layer = new BenchLayer(cell, t, B, I, H);
                double forward = Median(layer.Forward);
                double step = Median(layer.TrainingStep);
                long before = GC.GetAllocatedBytesForCurrentThread();
                layer.TrainingStep();
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                double flops = Flops.Forward(t, B, I, H, layer.GateCount);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{cell,-6} {t,5} {forward * 1e3,9:F3} {step * 1e3,9:F3} {t * B / step,11:N0} {flops / forward * 1e-9,9:F1} {3 * flops / step * 1e-9,10:F1} {allocated,11}"));
            }
        }
    }

    internal static double Median(Action action)
    {
        // Warm up past tiered compilation, then enough repetitions for ~0.25 s, at least 5.
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed.TotalSeconds < 0.1)
        {
            action();
        }

        watch.Restart();
        action();
        double once = Math.Max(watch.Elapsed.TotalSeconds, 1e-6);
        int repetitions = Math.Clamp((int)(0.25 / once), 5, 2000);
        double[] times = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            watch.Restart();
            action();
            times[i] = watch.Elapsed.TotalSeconds;
        }

        Array.Sort(times);
        return times[repetitions / 2];
    }
}
