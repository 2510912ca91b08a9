// Legend: M rows of C, N columns, K reduction. FastRnn's GEMM against OpenBLAS's cblas_sgemm (1 thread) at 1024^3
// and at the RNN's shapes; "Step" is the recurrent product h[B, H] * W_hh^T with W_hh packed once (as the layers do).
// Operands start a cache line (AlignedMemory), as in the layers' workspace.
using BenchmarkDotNet.Attributes;
using FastRnn.Cli.Benchmarking;
using FastRnn.Kernels;

namespace FastRnn.Bench;

[MemoryDiagnoser]
public class GemmBenchmarks
{
    private Memory<float> _a, _b, _c, _packed, _scratch;
    private int _m, _n, _k;

    /// <summary>M x N x K; the second group are recurrent steps B x 4H x H.</summary>
    [Params("1024x1024x1024", "1024x512x128", "1x512x128", "16x512x128", "64x2048x512")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        int[] sizes = Array.ConvertAll(Shape.Split('x'), s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture));
        (_m, _n, _k) = (sizes[0], sizes[1], sizes[2]);
        (int M, int N, int K) = (_m, _n, _k);
        var random = new Random(1);
        _a = BenchData.Uniform(random, M * K);
        _b = BenchData.Uniform(random, N * K);
        _c = AlignedMemory.Allocate(M * N);
        _scratch = AlignedMemory.Allocate(Gemm.ScratchLength);
        _packed = AlignedMemory.Allocate(Gemm.PackedLength(K, N));
        Gemm.PackB(MatrixOp.Transpose, K, N, _b.Span, K, _packed.Span);
        if (OpenBlas.IsAvailable)
        {
            OpenBlas.SetNumThreads(1);
        }
    }

    /// <summary>C = A * B^T, packing B per call.</summary>
    [Benchmark]
    public void FastRnnGemm() => Gemm.Multiply(MatrixOp.None, MatrixOp.Transpose, _m, _n, _k, _a.Span, _k, _b.Span, _k, 0f, _c.Span, _n, _scratch.Span);

    /// <summary>C = A * B^T with B packed once (the recurrent step).</summary>
    [Benchmark]
    public void FastRnnPrepacked() => Gemm.MultiplyPacked(MatrixOp.None, _m, _n, _k, _a.Span, _k, _packed.Span, 0f, _c.Span, _n);

    [Benchmark(Baseline = true)]
    public void OpenBlasSgemm() => OpenBlas.Sgemm(false, true, _m, _n, _k, _a.Span, _k, _b.Span, _k, 0f, _c.Span, _n);
}
