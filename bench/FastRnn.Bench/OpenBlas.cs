// OpenBLAS's cblas_sgemm through P/Invoke: the yardstick for the GEMM, bench-only (never a library dependency).
// Install: apt-get install libopenblas0-pthread
using System.Runtime.InteropServices;

namespace FastRnn.Bench;

internal static partial class OpenBlas
{
    private const string Library = "libopenblas.so.0";

    public const int RowMajor = 101, NoTrans = 111, Trans = 112;

    public static bool IsAvailable
    {
        get
        {
            if (!NativeLibrary.TryLoad(Library, out nint handle))
            {
                return false;
            }

            NativeLibrary.Free(handle);
            return true;
        }
    }

    [LibraryImport(Library, EntryPoint = "openblas_set_num_threads")]
    public static partial void SetNumThreads(int threads);

    [LibraryImport(Library, EntryPoint = "cblas_sgemm")]
    private static unsafe partial void Sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    /// <summary>C[M, N] = op(A) * op(B) + beta * C, row-major.</summary>
    public static unsafe void Sgemm(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        fixed (float* pa = a, pb = b, pc = c)
        {
            Sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, 1f, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }
}
