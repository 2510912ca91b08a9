// `gemm`: FastRnn's GEMM against OpenBLAS (1 thread) at 1024^3 and at the RNN's shapes, GFLOP/s from medians.
// Recurrent step: C[B, G*H] = h[B, H] * W_hh^T with W_hh packed once (FastRnn) vs cblas_sgemm(N, T) per call.
// Every operand, both sides', starts a cache line (AlignedMemory), as the layers' workspace does: a packed B off the
// line boundary splits each vector load over two lines (batch 1: 33-37 instead of 52-66 GFLOP/s).
using System.Globalization;
using FastRnn.Cli.Benchmarking;
using FastRnn.Kernels;

namespace FastRnn.Bench;

internal static class GemmQuick
{
    public static void Run()
    {
        bool blas = OpenBlas.IsAvailable;
        if (blas)
        {
            OpenBlas.SetNumThreads(1);
        }
        else
        {
            Console.WriteLine("OpenBLAS not found (apt-get install libopenblas0-pthread); printing FastRnn only.");
        }

        Console.WriteLine($"{"shape",-34} {"FastRnn GF/s",13} {"OpenBLAS GF/s",14} {"ratio",7}");
        var random = new Random(1);
        Memory<float> scratch = AlignedMemory.Allocate(Gemm.ScratchLength);

        foreach ((int m, int n, int k, MatrixOp opA, MatrixOp opB, string what) in (ReadOnlySpan<(int, int, int, MatrixOp, MatrixOp, string)>)[
            (1024, 1024, 1024, MatrixOp.None, MatrixOp.None, "square NN"),
            (1024, 512, 128, MatrixOp.None, MatrixOp.Transpose, "input proj T*B=1024,4H=512,I=128"),
            (512, 128, 1024, MatrixOp.Transpose, MatrixOp.None, "dW 4H=512,H=128,T*B=1024"),
            (1024, 128, 512, MatrixOp.None, MatrixOp.None, "dX T*B=1024,I=128,4H=512"),
            (32768, 2048, 256, MatrixOp.None, MatrixOp.Transpose, "LSTM(512,64,256,512) input proj"),
            (2048, 512, 32768, MatrixOp.Transpose, MatrixOp.None, "LSTM(512,64,256,512) dW_hh"),
            (32768, 256, 2048, MatrixOp.None, MatrixOp.None, "LSTM(512,64,256,512) dX")])
        {
            Memory<float> a = BenchData.Uniform(random, m * k), b = BenchData.Uniform(random, k * n), c = AlignedMemory.Allocate(m * n);
            int lda = opA == MatrixOp.None ? k : m, ldb = opB == MatrixOp.None ? n : k;
            double ours = MedianCall(m, n, k, () => Gemm.Multiply(opA, opB, m, n, k, a.Span, lda, b.Span, ldb, 0f, c.Span, n, scratch.Span));
            double theirs = blas ? MedianCall(m, n, k, () => OpenBlas.Sgemm(opA == MatrixOp.Transpose, opB == MatrixOp.Transpose, m, n, k, a.Span, lda, b.Span, ldb, 0f, c.Span, n)) : double.NaN;
            Print($"{what} ({m}x{n}x{k})", m, n, k, ours, theirs);
        }

        foreach (int h in (int[])[64, 128, 256, 512])
        {
            foreach (int batch in (int[])[1, 16, 32, 64])
            {
                int n = 4 * h;
                Memory<float> a = BenchData.Uniform(random, batch * h), w = BenchData.Uniform(random, n * h), c = AlignedMemory.Allocate(batch * n);
                Memory<float> packed = AlignedMemory.Allocate(Gemm.PackedLength(h, n));
                Gemm.PackB(MatrixOp.Transpose, h, n, w.Span, h, packed.Span);
                double ours = MedianCall(batch, n, h, () => Gemm.MultiplyPacked(MatrixOp.None, batch, n, h, a.Span, h, packed.Span, 0f, c.Span, n));
                double theirs = blas ? MedianCall(batch, n, h, () => OpenBlas.Sgemm(false, true, batch, n, h, a.Span, h, w.Span, h, 0f, c.Span, n)) : double.NaN;
                Print($"step B={batch},4H={n},H={h}", batch, n, h, ours, theirs);
            }
        }
    }

    // The median time of one call, timed over enough back-to-back calls to fill ~20 us per sample, so that the clock
    // reads (~25 ns each) and the timing loop do not count in the ~1 us batch-1 products.
    private static double MedianCall(int m, int n, int k, Action call)
    {
        int calls = (int)Math.Clamp(2e6 / (2.0 * m * n * k), 1, 1000);
        return Timing.Median(() =>
        {
            for (int i = 0; i < calls; i++)
            {
                call();
            }
        }) / calls;
    }

    private static void Print(string shape, int m, int n, int k, double ours, double theirs)
    {
        double flops = 2.0 * m * n * k;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{shape,-34} {flops / ours * 1e-9,13:F1} {flops / theirs * 1e-9,14:F1} {theirs / ours,7:F2}"));
    }
}
