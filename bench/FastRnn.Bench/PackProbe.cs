// `gemm --packs`: what the packing of the weight-gradient products costs, next to the micro-kernel it feeds.
// - the 8 x 32 (AVX-512) micro-kernel's rate with everything in L1 and L2 (C[128, 32 or 512] += A[128, 256] * B): the
//   ceiling the GEMMs are a fraction of;
// - PackTransposedA of a dGates^T block (128 gate columns x 256 rows of a [*, 1024 or 2048] matrix, as the dW groups
//   pack it), with the rows in L2 and cycling through a 16 MiB ring in L3;
// - PackRowsInto of a block of xPacked or hPrev rows into a KC x NC slot, in L2.
// Medians of 0.1 s, best of several rounds (pure data movement: the figures are bandwidths).
using System.Diagnostics;
using System.Globalization;
using FastRnn.Cli.Benchmarking;
using FastRnn.Kernels;

namespace FastRnn.Bench;

internal static class PackProbe
{
    public static void Run()
    {
        var random = new Random(1);
        foreach ((int m, int n, int k) in (ReadOnlySpan<(int, int, int)>)[(128, 32, 256), (128, 512, 256)])
        {
            float[] a = Filled(random, m * k), w = Filled(random, k * n), c = new float[m * n];
            Memory<float> packed = AlignedMemory.Allocate(Gemm.PackedLength(k, n));
            Gemm.PackColumns(MatrixOp.None, k, 0, n, w, n, packed.Span);
            double time = Best(() => Gemm.MultiplyPackedCore(MatrixOp.None, m, n, k, a, k, packed.Span, 1f, c, n));
            Console.WriteLine(Line($"micro-kernel, C[{m}, {n}] += A[{m}, {k}] * B (L1/L2)", $"{2.0 * m * n * k / time / 1e9,7:F1} GFLOP/s"));
        }

        Memory<float> packedA = AlignedMemory.Allocate(Gemm.PackedALength);
        foreach (int lda in (ReadOnlySpan<int>)[1024, 2048])
        {
            float[] a = Filled(random, 256 * lda);
            double time = Best(() => Gemm.PackTransposedA(Gemm.MC, Gemm.KC, a, lda, packedA.Span));
            Console.WriteLine(Line($"PackTransposedA 128 x 256, lda {lda} (L2)", $"{time * 1e6,7:F2} us, {Gemm.MC * Gemm.KC * 4.0 / time / 1e9,5:F1} GB/s"));
        }

        // The ring: 2048 rows of 2048 floats (16 MiB), each pack the next 128 columns of the next 256 rows.
        const int ringLda = 2048, ringRows = 2048;
        float[] ring = Filled(random, ringRows * ringLda);
        double best = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            long start = Stopwatch.GetTimestamp();
            int packs = 0;
            for (int pass = 0; pass < 10; pass++)
            {
                for (int r0 = 0; r0 < ringRows; r0 += Gemm.KC)
                {
                    for (int column = 0; column < ringLda; column += Gemm.MC, packs++)
                    {
                        Gemm.PackTransposedA(Gemm.MC, Gemm.KC, ring.AsSpan((r0 * ringLda) + column), ringLda, packedA.Span);
                    }
                }
            }

            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds / packs);
        }

        Console.WriteLine(Line($"PackTransposedA 128 x 256, lda {ringLda} (16 MiB ring, L3)", $"{best * 1e6,7:F2} us, {Gemm.MC * Gemm.KC * 4.0 / best / 1e9,5:F1} GB/s"));

        Memory<float> slot = AlignedMemory.Allocate(Gemm.KC * Gemm.NC);
        foreach (int ld in (ReadOnlySpan<int>)[256, 512])
        {
            float[] rows = Filled(random, Gemm.KC * ld);
            double time = Best(() => Gemm.PackRowsInto(Gemm.KC, 0, ld, rows, ld, slot.Span, 0, Gemm.KC));
            Console.WriteLine(Line($"PackRowsInto 256 rows x {ld} into a slot (L2)", $"{time * 1e6,7:F2} us, {Gemm.KC * ld * 4.0 / time / 1e9,5:F1} GB/s"));
        }
    }

    private static double Best(Action action)
    {
        double best = double.MaxValue;
        for (int round = 0; round < 7; round++)
        {
            best = Math.Min(best, Timing.Median(action, 0.1));
        }

        return best;
    }

    private static string Line(string what, string figure) => string.Create(CultureInfo.InvariantCulture, $"{what,-56} {figure}");

    private static float[] Filled(Random random, int length)
    {
        float[] values = new float[length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((2 * random.NextDouble()) - 1);
        }

        return values;
    }
}
