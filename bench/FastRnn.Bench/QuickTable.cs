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

    /// <summary>The performance issue's shapes (T, B, I, H), for every cell: forward and training-step GFLOP/s.</summary>
    public static void RunTargets()
    {
        Console.WriteLine("Training step = forward + BPTT (incl. dX); 1 thread; GFLOP/s from medians (forward 2*T*B*G*H*(I+H), step 3x)");
        Console.WriteLine($"{"shape (T, B, I, H)",-22} {"cell",-6} {"fwd ms",9} {"step ms",9} {"fwd GF/s",9} {"step GF/s",10}");
        foreach ((int t, int b, int i, int h) in (ReadOnlySpan<(int, int, int, int)>)[(64, 16, 64, 128), (256, 32, 128, 256), (512, 64, 256, 512), (1024, 16, 128, 128), (100, 1, 32, 64), (25, 1, 65, 100)])
        {
            foreach (CellKind cell in (CellKind[])[CellKind.Elman, CellKind.Lstm, CellKind.Gru])
            {
                var layer = new BenchLayer(cell, t, b, i, h);
                double forward = Median(layer.Forward);
                double step = Median(layer.TrainingStep);
                double flops = Flops.Forward(t, b, i, h, layer.GateCount);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{$"({t}, {b}, {i}, {h})",-22} {cell,-6} {forward * 1e3,9:F3} {step * 1e3,9:F3} {flops / forward * 1e-9,9:F1} {3 * flops / step * 1e-9,10:F1}"));
            }
        }
    }

    internal static double Median(Action action)
    {
        // Warm up past tiered compilation (call counting, then tier-1 code after a delay), then enough repetitions for
        // ~0.25 s, at least 5.
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (watch.Elapsed.TotalSeconds < 0.5 || calls < 40)
        {
            action();
            calls++;
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
