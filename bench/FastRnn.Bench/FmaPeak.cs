// `peak`: the FMA rate this machine gives one thread, and each of N threads running at once: the yardstick the
// GFLOP/s of the other modes are a fraction of. Twelve independent FMA chains in registers (no memory traffic), at the
// widest vector width the GEMM uses here, timed in slices of ~50 ms so that a slice the OS or the hypervisor took away
// shows up as a low minimum instead of moving the median.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastRnn.Kernels;

namespace FastRnn.Bench;

internal static class FmaPeak
{
    private const int Chains = 12;

    /// <summary>Prints the per-thread FMA rate for 1 thread and for <c>--threads N</c> threads at once (default: all cores).</summary>
    public static void Run(ReadOnlySpan<string> args)
    {
        int threads = Math.Max(1, QuickTable.Option(args, "--threads", Environment.ProcessorCount));
        int slices = Math.Max(5, QuickTable.Option(args, "--slices", 40));
        VectorWidth width = VectorDispatch.Current;
        long iterations = Calibrate(width);
        Console.WriteLine($"FMA peak: {Chains} register chains of {(int)width}-float vectors, {slices} slices of ~50 ms per thread; GFLOP/s per thread");
        Console.WriteLine($"{"threads",7} {"thread",6} {"median",8} {"min",8} {"max",8}");
        foreach (int count in threads == 1 ? [1] : (int[])[1, threads])
        {
            double[][] rates = Measure(width, iterations, count, slices);
            for (int t = 0; t < count; t++)
            {
                double[] sorted = [.. rates[t].Order()];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count,7} {t,6} {sorted[slices / 2],8:F1} {sorted[0],8:F1} {sorted[^1],8:F1}"));
            }
        }
    }

    // Iterations of the chain loop that take ~50 ms on one thread.
    private static long Calibrate(VectorWidth width)
    {
        long iterations = 1 << 16;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            Burn(width, iterations);
            double milliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (milliseconds > 5)
            {
                return Math.Max(1, (long)(iterations * 50 / milliseconds));
            }

            iterations *= 2;
        }
    }

    private static double[][] Measure(VectorWidth width, long iterations, int count, int slices)
    {
        double flopsPerSlice = 2.0 * Chains * (int)width * iterations;
        double[][] rates = new double[count][];
        using var start = new Barrier(count);
        Thread[] workers = new Thread[count];
        for (int t = 0; t < count; t++)
        {
            int index = t;
            rates[index] = new double[slices];
            workers[index] = new Thread(() =>
            {
                start.SignalAndWait();
                for (int s = 0; s < slices; s++)
                {
                    long begin = Stopwatch.GetTimestamp();
                    Burn(width, iterations);
                    rates[index][s] = flopsPerSlice / Stopwatch.GetElapsedTime(begin).TotalSeconds * 1e-9;
                }
            });
            workers[index].Start();
        }

        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        return rates;
    }

    private static float Burn(VectorWidth width, long iterations) => width switch
    {
        VectorWidth.W512 => Burn<Ops512, Vector512<float>>(iterations),
        VectorWidth.W256 => Burn<Ops256, Vector256<float>>(iterations),
        VectorWidth.W128 => Burn<Ops128, Vector128<float>>(iterations),
        _ => Burn<OpsScalar, float>(iterations),
    };

    // Twelve accumulators with FMA latency 4 and up to two FMA pipes: enough independent chains to keep them busy.
    // The multiplier is just below 1, so the values settle instead of overflowing; the sum keeps the JIT from
    // dropping the loop.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Burn<TOps, TVector>(long iterations)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        TVector m = TOps.Broadcast(0.9999999f), c = TOps.Broadcast(1e-7f);
        TVector a0 = TOps.Broadcast(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = TOps.MultiplyAdd(a0, m, c);
            a1 = TOps.MultiplyAdd(a1, m, c);
            a2 = TOps.MultiplyAdd(a2, m, c);
            a3 = TOps.MultiplyAdd(a3, m, c);
            a4 = TOps.MultiplyAdd(a4, m, c);
            a5 = TOps.MultiplyAdd(a5, m, c);
            a6 = TOps.MultiplyAdd(a6, m, c);
            a7 = TOps.MultiplyAdd(a7, m, c);
            a8 = TOps.MultiplyAdd(a8, m, c);
            a9 = TOps.MultiplyAdd(a9, m, c);
            a10 = TOps.MultiplyAdd(a10, m, c);
            a11 = TOps.MultiplyAdd(a11, m, c);
        }

        TVector sum = TOps.Add(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)), TOps.Add(TOps.Add(a4, a5), TOps.Add(a6, a7)));
        sum = TOps.Add(sum, TOps.Add(TOps.Add(a8, a9), TOps.Add(a10, a11)));
        Span<float> lanes = stackalloc float[TOps.Count];
        TOps.Store(sum, ref lanes[0], 0);
        return lanes[0];
    }
}
