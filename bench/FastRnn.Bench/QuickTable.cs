// The quick mode: the same shapes as ElmanBenchmarks, timed with a Stopwatch (median of repeated runs), in seconds.
using System.Diagnostics;
using System.Globalization;
using FastRnn.Layers;

namespace FastRnn.Bench;

internal static class QuickTable
{
    public static void Run(ReadOnlySpan<string> args)
    {
        const int B = 16, H = 128, I = 128;
        Console.WriteLine($"Elman tanh training step (forward + BPTT), B={B}, I={I}, H={H}, 1 thread");
        Console.WriteLine($"{"T",6} {"fwd ms",10} {"step ms",10} {"tokens/s",12} {"GFLOP/s",9} {"bytes/step",11}");
        foreach (int t in (int[])[16, 64, 256, 1024])
        {
            var layer = new ElmanLayer(new ParameterStore(), I, H, Nonlinearity.Tanh, seed: 1);
            RecurrentWorkspace workspace = layer.CreateWorkspace(t, B);
            var random = new Random(2);
            float[] x = ElmanBenchmarks.Values(random, t * B * I), dOutput = ElmanBenchmarks.Values(random, t * B * H);
            float[] output = new float[t * B * H], dX = new float[t * B * I];
            double forward = Median(() => layer.Forward(x, t, B, output, workspace));
            long before = GC.GetAllocatedBytesForCurrentThread();
            layer.Forward(x, t, B, output, workspace);
            layer.Backward(dOutput, workspace, dX);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            double step = Median(() =>
            {
                layer.Forward(x, t, B, output, workspace);
                layer.Backward(dOutput, workspace, dX);
            });
            double flops = 3 * 2.0 * t * B * H * (I + H);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{t,6} {forward * 1e3,10:F3} {step * 1e3,10:F3} {t * B / step,12:N0} {flops / step * 1e-9,9:F1} {allocated,11}"));
        }

        _ = args;
    }

    private static double Median(Action action)
    {
        for (int i = 0; i < 3; i++)
        {
            action();
        }

        // Enough repetitions for ~0.3 s per shape, at least 5.
        var watch = Stopwatch.StartNew();
        action();
        double once = Math.Max(watch.Elapsed.TotalSeconds, 1e-6);
        int repetitions = Math.Clamp((int)(0.3 / once), 5, 1000);
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
