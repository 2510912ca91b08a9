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

    /// <summary>The performance issue's shapes (T, B, I, H).</summary>
    internal static readonly (int T, int B, int I, int H)[] TargetShapes = [(64, 16, 64, 128), (256, 32, 128, 256), (512, 64, 256, 512), (1024, 16, 128, 128), (100, 1, 32, 64), (25, 1, 65, 100)];

    /// <summary>
    /// The performance issue's shapes for every cell: forward and training-step GFLOP/s. Options: <c>--tsv</c> prints
    /// tab-separated lines (T, B, I, H, cell, fwd_ms, step_ms) for bench/compare; <c>--shape N</c> runs only shape N.
    /// </summary>
    public static void RunTargets(ReadOnlySpan<string> args)
    {
        bool tsv = args.Contains("--tsv");
        int only = args.IndexOf("--shape") is int at and >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : -1;
        if (tsv)
        {
            Console.WriteLine("T\tB\tI\tH\tcell\tfwd_ms\tstep_ms");
        }
        else
        {
            Console.WriteLine("Training step = forward + BPTT (incl. dX); 1 thread; GFLOP/s from medians (forward 2*T*B*G*H*(I+H), step 3x)");
            Console.WriteLine($"{"shape (T, B, I, H)",-22} {"cell",-6} {"fwd ms",9} {"step ms",9} {"fwd GF/s",9} {"step GF/s",10}");
        }

        // A throwaway run first, so the first measured shape does not pay for JIT tiering.
        Median(new BenchLayer(CellKind.Lstm, 8, 4, 8, 8).TrainingStep);
        for (int index = 0; index < TargetShapes.Length; index++)
        {
            if (only >= 0 && index != only)
            {
                continue;
            }

            (int t, int b, int i, int h) = TargetShapes[index];
            foreach (CellKind cell in (CellKind[])[CellKind.Elman, CellKind.Lstm, CellKind.Gru])
            {
                var layer = new BenchLayer(cell, t, b, i, h);
                double forward = Median(layer.Forward);
                double step = Median(layer.TrainingStep);
                double flops = Flops.Forward(t, b, i, h, layer.GateCount);
                Console.WriteLine(tsv
                    ? string.Create(CultureInfo.InvariantCulture, $"{t}\t{b}\t{i}\t{h}\t{cell}\t{forward * 1e3:F4}\t{step * 1e3:F4}")
                    : string.Create(CultureInfo.InvariantCulture, $"{$"({t}, {b}, {i}, {h})",-22} {cell,-6} {forward * 1e3,9:F3} {step * 1e3,9:F3} {flops / forward * 1e-9,9:F1} {3 * flops / step * 1e-9,10:F1}"));
            }
        }
    }

    internal static double Median(Action action)
    {
        // Warm up past tiered compilation (call counting, then tier-1 code after a delay): 0.5 s and 40 calls, or 2 s
        // and 2 calls for slow actions; then enough repetitions for ~0.25 s, at least 5.
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while ((watch.Elapsed.TotalSeconds < 0.5 || calls < 40) && (watch.Elapsed.TotalSeconds < 2 || calls < 2))
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
