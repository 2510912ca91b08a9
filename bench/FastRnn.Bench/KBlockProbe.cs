// `gemm --k-blocks`: the recurrent products with the packed weights read whole-K (one FMA chain over all of K per
// tile: MultiplyPackedCore, as the time loops run them) against the same weights packed in KC-row blocks
// (MultiplyPackedBlocks: C re-read per block, but a block's panel is 16-32 KiB and stays in L1 while the row tiles
// pass). Alternating rounds of medians, so a noisy minute hits both sides alike.
using System.Globalization;
using FastRnn.Cli.Benchmarking;
using FastRnn.Kernels;

namespace FastRnn.Bench;

internal static class KBlockProbe
{
    public static void Run()
    {
        Console.WriteLine($"{"product C[M, N] = A[M, K] * W",-44} {"whole-K GF/s",13} {"K blocks GF/s",14} {"blocks/whole",13}");
        var random = new Random(1);
        foreach ((int m, int n, int k, string what) in (ReadOnlySpan<(int, int, int, string)>)[
            (64, 512, 2048, "LSTM backward dh, H = 512"),
            (64, 512, 1536, "GRU backward dh, H = 512"),
            (64, 2048, 512, "LSTM forward step, H = 512"),
            (32, 256, 1024, "LSTM backward dh, H = 256"),
            (32, 1024, 256, "LSTM forward step, H = 256"),
            (16, 128, 512, "LSTM backward dh, H = 128")])
        {
            float[] a = new float[m * k], w = new float[k * n], c = new float[m * n];
            Fill(random, a);
            Fill(random, w);
            Memory<float> whole = AlignedMemory.Allocate(Gemm.PackedLength(k, n)), blocks = AlignedMemory.Allocate(Gemm.PackedLength(k, n));
            Gemm.PackColumns(MatrixOp.None, k, 0, n, w, n, whole.Span);
            Gemm.PackBlocks(MatrixOp.None, k, 0, n, w, n, blocks.Span);
            double[] wholeTimes = new double[9], blockTimes = new double[9];
            for (int round = 0; round < wholeTimes.Length; round++)
            {
                wholeTimes[round] = Timing.Median(() => Gemm.MultiplyPackedCore(MatrixOp.None, m, n, k, a, k, whole.Span, 0f, c, n), 0.2);
                blockTimes[round] = Timing.Median(() => Gemm.MultiplyPackedBlocks(m, n, k, a, k, blocks.Span, c, n), 0.2);
            }

            Array.Sort(wholeTimes);
            Array.Sort(blockTimes);
            double flops = 2.0 * m * n * k, wholeTime = wholeTimes[4], blockTime = blockTimes[4];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what + $" ({m}x{n}x{k})",-44} {flops / wholeTime * 1e-9,13:F1} {flops / blockTime * 1e-9,14:F1} {wholeTime / blockTime,13:F2}"));
        }
    }

    private static void Fill(Random random, float[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((2 * random.NextDouble()) - 1);
        }
    }
}
