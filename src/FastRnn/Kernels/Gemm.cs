// GEMM: C[M, N] = op(A)[M, K] * op(B)[K, N] + beta * C, row-major, float32.
//
// Legend: M rows of C, N columns of C, K the reduction length. MR x NR is the register block.
//
// BLIS structure, with the loops named as in BLIS:
//   loop 5 (pc): K in blocks of KC     -> pack op(B)[pc:pc+KC, jc:jc+NC] into NR-wide panels
//   loop 4 (jc): N in blocks of NC
//   loop 3 (jr): one NR-wide panel at a time; NR = two vectors (32 floats with AVX-512, 16 with AVX2, 8 with SSE)
//   loop 2 (ir): M in register blocks of up to MR rows (8 with AVX-512's 32 registers, 6 with AVX2's 16)
//   loop 1     : the micro-kernel, MR x NR accumulators over kc, no loops in the M/N directions.
//   loop 3 (ic): M in blocks of MC    -> pack op(A)[ic:ic+MC, pc:pc+KC] into 8-row micro-panels (A transposed)
// The panel width follows the vector width so that every k of a panel is one or two whole cache lines the kernel
// reads in full; packing and multiplying therefore run at the same width (the width is per process, and the tests'
// per-thread width limit travels to the pool's workers). Sizes (PackedLength) are those of the widest panels, so they
// hold for every width. On Zen 3 (AVX2, 32 KiB L1, 512 KiB L2), against 4-row blocks over halves of 32-wide panels,
// 16-wide panels and 6-row blocks took a dX-like product [64, 2048] x [2048, 256] from 81-82 to 95-96 GFLOP/s (probe
// kernels, min of short runs) and the (256, 32, 128, 256) LSTM training step from 326-376 to 274-293 ms (min per process).
// Multiply packs a transposed A (the weight gradients' dG^T): at T*B = 16384 rows it comes from DRAM, and the
// kernel's reads of it (one cache line of a different stored row per k) left it waiting on memory; the pack streams
// the block once and the kernels then read it from L2. A row-major A is read in place (see MultiplyCore), and so is
// MultiplyPacked's A (the recurrent step: M = batch rows, already in L1). Edges in N are zero-padded in packing
// so the kernel always runs at full width; only the store is masked. beta = 0 never reads C (it may hold NaN).
//
// Every C element is reduced over k in ascending order by one FMA chain per KC block, in interior
// and edge tiles alike, so results do not depend on where a tile falls (needed for determinism).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

/// <summary>Single-precision matrix multiply for the recurrent kernels: <c>C = op(A) * op(B) + beta * C</c>, row-major.</summary>
/// <remarks>
/// Two entry points: <see cref="Multiply(MatrixOp, MatrixOp, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, Span{float})"/>
/// packs <c>op(B)</c> block by block into a caller-provided scratch buffer; <see cref="PackB"/> plus <see cref="MultiplyPacked"/>
/// pack <c>op(B)</c> once and reuse it (the recurrent weights, reused for every time step).
/// With <c>beta == 0</c>, C is written without being read.
/// </remarks>
public static class Gemm
{
    /// <summary>Columns of the widest packed panel (AVX-512's): sizes and column splits that must suit every width use it.</summary>
    internal const int MaxPanelWidth = 32;

    /// <summary>Reduction block: a KC x NR panel of B (16 KiB with AVX2, 32 KiB with AVX-512) stays in L1/L2 while the rows of A stream past it.</summary>
    internal const int KC = 256;

    /// <summary>
    /// Packed B operands of this many bytes or more are taken to arrive from L3: half of a 2 MiB L2, which the rest of
    /// a time step (the other weight matrix, the states, the gates) shares. Their panels are asked for one panel ahead
    /// (see <see cref="RunColumnBlock"/>).
    /// </summary>
    private const long StreamedPanelsBytes = 1 << 20;

    /// <summary>A step's packed weights of this size or more are taken to arrive from L3 (<see cref="StepWeightsStream"/>).</summary>
    private const long StreamedStepWeightsBytes = 3 << 19;

    /// <summary>Column block of B packed at a time.</summary>
    internal const int NC = 512;

    /// <summary>Row block of A (loop 3): MC x KC floats stay in L2 across all panels of a packed block.</summary>
    internal const int MC = 128;

    /// <summary>How many stored rows ahead <see cref="PackA"/> asks for A's rows (2 to 32 measured alike).</summary>
    private const int PackAheadRows = 8;

    /// <summary>Rows per packed micro-panel of A: the tallest register block.</summary>
    private const int PackedRows = 8;

    /// <summary>A transposed A of fewer floats (k * lda: 4 MiB) is read in place; see MultiplyCore.</summary>
    private const long PackAMinFloats = 1L << 20;

    /// <summary>Floats of the packed B block at the start of the scratch buffer; the packed A block follows.</summary>
    private const int PackedBLength = KC * NC;

    /// <summary>Length, in floats, of the scratch buffer <see cref="Multiply(MatrixOp, MatrixOp, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, Span{float})"/> needs.</summary>
    public const int ScratchLength = PackedBLength + PackedALength;

    [ThreadStatic]
    private static float[]? s_threadScratch;

    [ThreadStatic]
    private static int s_threadScratchStart;

    /// <summary>Floats needed to hold op(B) [K, N] packed for <see cref="MultiplyPacked"/>.</summary>
    /// <param name="k">Rows of op(B).</param>
    /// <param name="n">Columns of op(B).</param>
    public static int PackedLength(int k, int n)
    {
        ThrowHelper.ThrowIfNegative(k);
        ThrowHelper.ThrowIfNegative(n);
        return checked(k * RoundUpToPanel(n));
    }

    /// <summary>Packs op(B) [K, N] into the panel layout <see cref="MultiplyPacked"/> reads.</summary>
    /// <remarks>
    /// The layout follows the process's SIMD width (panels two vectors wide), which <see cref="MultiplyPacked"/> reads at the
    /// same width. Give <paramref name="packed"/> a 64-byte aligned start (<see cref="AlignedMemory.Allocate"/>): the
    /// product loads every k of a panel as whole cache lines, and off a line boundary each load touches two (a batch-1
    /// product ran at 33-37 instead of 52-66 GFLOP/s). Alignment never changes a result.
    /// </remarks>
    /// <param name="opB">Whether B is used as stored or transposed.</param>
    /// <param name="k">Rows of op(B).</param>
    /// <param name="n">Columns of op(B).</param>
    /// <param name="b">The stored matrix B.</param>
    /// <param name="ldb">Row stride of the stored B.</param>
    /// <param name="packed">Destination of length at least <see cref="PackedLength"/>(k, n).</param>
    public static void PackB(MatrixOp opB, int k, int n, ReadOnlySpan<float> b, int ldb, Span<float> packed)
    {
        ThrowHelper.ThrowIfNegative(k);
        ThrowHelper.ThrowIfNegative(n);
        ValidateOperand(opB, k, n, b, ldb, nameof(b), nameof(ldb));
        ThrowHelper.ThrowIfTooShort(packed, PackedLength(k, n), nameof(packed));
        PackPanels(opB, ref MemoryMarshal.GetReference(b), ldb, 0, k, 0, n, ref MemoryMarshal.GetReference(packed));
    }

    /// <summary><c>C[M, N] = op(A)[M, K] * B[K, N] + beta * C</c> with B packed by <see cref="PackB"/>.</summary>
    /// <param name="opA">Whether A is used as stored or transposed.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C; must equal the n given to <see cref="PackB"/>.</param>
    /// <param name="k">Reduction length; must equal the k given to <see cref="PackB"/>.</param>
    /// <param name="a">The stored matrix A.</param>
    /// <param name="lda">Row stride of the stored A.</param>
    /// <param name="packedB">B as packed by <see cref="PackB"/>.</param>
    /// <param name="beta">Scale of the existing C; 0 means C is not read.</param>
    /// <param name="c">The output C.</param>
    /// <param name="ldc">Row stride of C.</param>
    public static void MultiplyPacked(MatrixOp opA, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> packedB, float beta, Span<float> c, int ldc)
    {
        ValidateSizes(m, n, k);
        ValidateOperand(opA, m, k, a, lda, nameof(a), nameof(lda));
        ThrowHelper.ThrowIfTooShort(packedB, PackedLength(k, n), nameof(packedB));
        ValidateOperand(MatrixOp.None, m, n, c, ldc, nameof(c), nameof(ldc));
        if (m == 0 || n == 0)
        {
            return;
        }

        MultiplyPackedCore(opA, m, n, k, ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(packedB), beta, ref MemoryMarshal.GetReference(c), ldc);
    }

    /// <summary><c>C[M, N] = op(A)[M, K] * op(B)[K, N] + beta * C</c>, packing op(B) in blocks into <paramref name="scratch"/>.</summary>
    /// <param name="opA">Whether A is used as stored or transposed.</param>
    /// <param name="opB">Whether B is used as stored or transposed.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Reduction length.</param>
    /// <param name="a">The stored matrix A.</param>
    /// <param name="lda">Row stride of the stored A.</param>
    /// <param name="b">The stored matrix B.</param>
    /// <param name="ldb">Row stride of the stored B.</param>
    /// <param name="beta">Scale of the existing C; 0 means C is not read.</param>
    /// <param name="c">The output C.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="scratch">At least <see cref="ScratchLength"/> floats for packing; 64-byte aligned for full speed (<see cref="AlignedMemory.Allocate"/>).</param>
    public static void Multiply(MatrixOp opA, MatrixOp opB, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, Span<float> scratch)
    {
        ValidateSizes(m, n, k);
        ValidateOperand(opA, m, k, a, lda, nameof(a), nameof(lda));
        ValidateOperand(opB, k, n, b, ldb, nameof(b), nameof(ldb));
        ValidateOperand(MatrixOp.None, m, n, c, ldc, nameof(c), nameof(ldc));
        ThrowHelper.ThrowIfTooShort(scratch, ScratchLength, nameof(scratch));
        MultiplyCore(opA, opB, m, n, k, a, lda, b, ldb, beta, c, ldc, scratch);
    }

    /// <summary>As the overload with a scratch buffer, using a per-thread buffer allocated on a thread's first call.</summary>
    /// <param name="opA">Whether A is used as stored or transposed.</param>
    /// <param name="opB">Whether B is used as stored or transposed.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Reduction length.</param>
    /// <param name="a">The stored matrix A.</param>
    /// <param name="lda">Row stride of the stored A.</param>
    /// <param name="b">The stored matrix B.</param>
    /// <param name="ldb">Row stride of the stored B.</param>
    /// <param name="beta">Scale of the existing C; 0 means C is not read.</param>
    /// <param name="c">The output C.</param>
    /// <param name="ldc">Row stride of C.</param>
    public static void Multiply(MatrixOp opA, MatrixOp opB, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => Multiply(opA, opB, m, n, k, a, lda, b, ldb, beta, c, ldc, ThreadScratch);

    /// <summary>The unvalidated blocked GEMM; callers inside the library have validated shapes.</summary>
    internal static void MultiplyCore(MatrixOp opA, MatrixOp opB, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, Span<float> scratch)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        ref float c0 = ref MemoryMarshal.GetReference(c);
        if (k == 0)
        {
            ScaleRows(m, n, beta, ref c0, ldc);
            return;
        }

        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float b0 = ref MemoryMarshal.GetReference(b);
        ref float packed = ref MemoryMarshal.GetReference(scratch);
        (nint aRow, nint aCol) = opA == MatrixOp.None ? ((nint)lda, (nint)1) : (1, lda);
        VectorWidth width = VectorDispatch.Current;

        // Only a large transposed A whose blocks are strided is packed. There each k of a micro-tile reads part of a
        // cache line of a different stored row, lda apart, and from DRAM the kernel waits on them: dW = dG^T * X with
        // G*H = 512 rose from 71-76 to 89-92 GFLOP/s at T*B = 16384 and from 74-77 to 89-95 at 4096 with the pack, but
        // fell from 104-105 to 98 at 1024 (2 MiB of A, in cache). When the block is whole stored rows (lda = m <= MC:
        // the Elman dW, G*H = 128) it is one contiguous stream and the pack only costs (98-102 -> 91-95 at 1024 rows).
        // A stored row-major is 8 streams the prefetcher follows; packing it measured slower too (dX 106 -> 101 at 1024
        // rows, equal at 16384). One micro-panel of rows is read from cache either way; the scalar specification reads
        // A in place.
        bool packA = opA == MatrixOp.Transpose && m > PackedRows && lda > Math.Min(m, MC) && (long)k * lda >= PackAMinFloats
            && width != VectorWidth.Scalar;
        ref float packedA = ref packA ? ref Unsafe.Add(ref packed, PackedBLength) : ref Unsafe.NullRef<float>();

        for (int pc = 0; pc < k; pc += KC)
        {
            int kc = Math.Min(KC, k - pc);
            float betaBlock = pc == 0 ? beta : 1f;
            ref float aBlock = ref Unsafe.Add(ref a0, pc * aCol);
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                PackPanels(opB, ref b0, ldb, pc, kc, jc, nc, ref packed);
                RunPanels(width, m, nc, kc, ref aBlock, aRow, aCol, ref packed, betaBlock, ref Unsafe.Add(ref c0, jc), ldc, ref packedA, streamsPanels: false);
            }
        }
    }

    /// <summary>This thread's packing scratch (<see cref="ScratchLength"/> floats), allocated on its first use.</summary>
    internal static Span<float> ThreadScratch => ThreadScratchOf(ScratchLength);

    /// <summary>
    /// This thread's scratch, at least <paramref name="length"/> floats (never less than <see cref="ScratchLength"/>),
    /// 64-byte aligned: the packed B block at its start is loaded as whole vectors (see <see cref="AlignedMemory"/>).
    /// Allocates only when a larger one is asked for.
    /// </summary>
    internal static Span<float> ThreadScratchOf(int length)
    {
        float[]? scratch = s_threadScratch;
        if (scratch is null || scratch.Length - s_threadScratchStart < length)
        {
            scratch = AlignedMemory.AllocateArray(Math.Max(length, ScratchLength), out s_threadScratchStart);
            s_threadScratch = scratch;
        }

        return scratch.AsSpan(s_threadScratchStart);
    }

    /// <summary>
    /// Packs columns [<paramref name="j0"/>, <paramref name="j0"/> + <paramref name="n"/>) of op(B) [K, *] as
    /// <see cref="PackB"/> packs a whole matrix: the packed slice multiplies exactly like those columns of the whole.
    /// </summary>
    internal static void PackColumns(MatrixOp opB, int k, int j0, int n, ReadOnlySpan<float> b, int ldb, Span<float> packed)
        => PackPanels(opB, ref MemoryMarshal.GetReference(b), ldb, 0, k, j0, n, ref MemoryMarshal.GetReference(packed));

    /// <summary>
    /// <see cref="MultiplyPacked"/> without validation, for the time loops (their shapes were validated once per call).
    /// <paramref name="weightsStream"/>: B is part of a step's weights that do not stay in L2 (<see cref="StepWeightsStream"/>),
    /// so its panels are asked for ahead even when B alone is smaller than <see cref="StreamedPanelsBytes"/>.
    /// </summary>
    internal static void MultiplyPackedCore(MatrixOp opA, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> packedB, float beta, Span<float> c, int ldc, bool weightsStream = false)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        MultiplyPackedCore(opA, m, n, k, ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(packedB), beta, ref MemoryMarshal.GetReference(c), ldc, weightsStream);
    }

    internal static void MultiplyPackedCore(MatrixOp opA, int m, int n, int k, ref float a, int lda, ref float packedB, float beta, ref float c, int ldc, bool weightsStream = false)
    {
        if (k == 0)
        {
            ScaleRows(m, n, beta, ref c, ldc);
            return;
        }

        (nint aRow, nint aCol) = opA == MatrixOp.None ? ((nint)lda, (nint)1) : (1, lda);
        RunPanels(VectorDispatch.Current, m, n, k, ref a, aRow, aCol, ref packedB, beta, ref c, ldc, ref Unsafe.NullRef<float>(), weightsStream || StreamsPanels(k, n));
    }

    /// <summary>
    /// Packs <paramref name="rows"/> stored rows of columns [<paramref name="j0"/>, <paramref name="j0"/> +
    /// <paramref name="n"/>) of B (not transposed) as rows [<paramref name="row0"/>, <paramref name="row0"/> +
    /// <paramref name="rows"/>) of a block that <see cref="PackColumns"/> would pack for <paramref name="blockRows"/> rows:
    /// a block whose rows come from several places is packed piece by piece.
    /// </summary>
    internal static void PackRowsInto(int rows, int j0, int n, ReadOnlySpan<float> b, int ldb, Span<float> packed, int row0, int blockRows)
        => PackPanels(MatrixOp.None, ref MemoryMarshal.GetReference(b), ldb, 0, rows, j0, n, ref Unsafe.Add(ref MemoryMarshal.GetReference(packed), (nint)row0 * CurrentPanelWidth), blockRows);

    /// <summary>
    /// Packs the stored A [K, M] of a transposed-A product, M at most <see cref="MC"/> and K at most <see cref="KC"/>,
    /// into <paramref name="packedA"/> (<see cref="PackedALength"/> floats) for any number of
    /// <see cref="MultiplyPrepackedTransposedA"/> calls: one pack of a dGates^T block serves both dW_ih and dW_hh.
    /// Packed, the kernels do not stride through stored rows lda apart (whole L1 sets alias when lda * 4 bytes is a
    /// multiple of 4 KiB). Does nothing where that product reads A in place (the scalar width).
    /// </summary>
    internal static void PackTransposedA(int m, int k, ReadOnlySpan<float> a, int lda, Span<float> packedA)
    {
        System.Diagnostics.Debug.Assert(m <= MC && k <= KC && packedA.Length >= PackedALength, "one MC x KC block");
        if (m > 0 && k > 0 && VectorDispatch.Current != VectorWidth.Scalar)
        {
            PackA(ref MemoryMarshal.GetReference(a), lda, m, k, ref MemoryMarshal.GetReference(packedA));
        }
    }

    /// <summary>
    /// <c>C[M, N] = A^T[M, K] * B + beta * C</c> with A [K, M] (lda) already packed by <see cref="PackTransposedA"/>
    /// into <paramref name="packedA"/>, which the vector widths read; the scalar width reads <paramref name="a"/> in
    /// place. Pure data movement: the bits are those of reading A in place. <paramref name="weightsStream"/>: the caller's
    /// B panels together are past L2 (see <see cref="StepWeightsStream"/>), so the product asks for its next panel.
    /// </summary>
    internal static void MultiplyPrepackedTransposedA(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> packedA, ReadOnlySpan<float> packedB, float beta, Span<float> c, int ldc, bool weightsStream = false)
    {
        System.Diagnostics.Debug.Assert(m <= MC && k <= KC && packedA.Length >= PackedALength, "one MC x KC block");
        VectorWidth width = VectorDispatch.Current;
        if (m == 0 || n == 0 || k == 0 || width == VectorWidth.Scalar)
        {
            MultiplyPackedCore(MatrixOp.Transpose, m, n, k, a, lda, packedB, beta, c, ldc);
            return;
        }

        RunPanelsOnRowBlock(width, m, n, k, ref MemoryMarshal.GetReference(packedA), 1, PackedRows, PackedAPanelStride(k), ref MemoryMarshal.GetReference(packedB), beta, ref MemoryMarshal.GetReference(c), ldc, weightsStream || StreamsPanels(k, n));
    }

    /// <summary>
    /// Whether <see cref="MultiplyRowInPlace"/> can take a product of <paramref name="n"/> columns at the current
    /// width: it needs one whole vector of columns (its last vector overlaps the one before) and FMA lanes.
    /// </summary>
    internal static bool MultipliesRowInPlace(int n) => VectorDispatch.Current != VectorWidth.Scalar && n >= (int)VectorDispatch.Current;

    /// <summary>
    /// <c>c[N] = a[K] * B[K, N] + beta * c</c> for one row of A and B read as stored (row-major, stride
    /// <paramref name="ldb"/>), without packing: each element gets the single k-ascending FMA chain
    /// <see cref="MultiplyPackedCore(MatrixOp, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, float, Span{float}, int, bool)"/>
    /// gives it, so the bits are those of the packed product. At batch 1 the backward's dh = dG * W_hh is such a
    /// row; the product streams the weights from cache at the load rate, so the pack (6 us for W_hh [400, 100]) and
    /// the packed panels' zero padding (N = 100 reads 112 columns) were pure cost. Requires <see cref="MultipliesRowInPlace"/>.
    /// </summary>
    internal static void MultiplyRowInPlace(int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c)
    {
        System.Diagnostics.Debug.Assert(MultipliesRowInPlace(n), "a whole vector of columns and FMA lanes");
        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float b0 = ref MemoryMarshal.GetReference(b);
        ref float c0 = ref MemoryMarshal.GetReference(c);
        switch (VectorDispatch.Current)
        {
            case VectorWidth.W512:
                MultiplyRowInPlace<Ops512, Vector512<float>>(n, k, ref a0, ref b0, ldb, beta, ref c0);
                break;
            case VectorWidth.W256:
                MultiplyRowInPlace<Ops256, Vector256<float>>(n, k, ref a0, ref b0, ldb, beta, ref c0);
                break;
            default:
                MultiplyRowInPlace<Ops128, Vector128<float>>(n, k, ref a0, ref b0, ldb, beta, ref c0);
                break;
        }
    }

    // Groups of up to eight vectors of columns, one accumulator each; the last vector of the last group starts at
    // n - w, overlapping its neighbour, so no load reaches past a row. Overlapped columns get the same chain twice,
    // within one group (nine vectors split 7 + 2), so no group reads a C the one before has already written.
    private static void MultiplyRowInPlace<TOps, TVector>(int n, int k, ref float a, ref float b, int ldb, float beta, ref float c)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        int w = TOps.Count;
        int left = (n + w - 1) / w;
        for (int j0 = 0; left > 0;)
        {
            int vectors = left == 9 ? 7 : Math.Min(8, left);
            int last = Math.Min(j0 + ((vectors - 1) * w), n - w);
            RowGroup<TOps, TVector>(k, ref a, ref Unsafe.Add(ref b, j0), ldb, vectors, last - j0, beta, ref Unsafe.Add(ref c, j0));
            j0 += vectors * w;
            left -= vectors;
        }
    }

    private static void RowGroup<TOps, TVector>(int k, ref float a, ref float b, int ldb, int vectors, int lastOffset, float beta, ref float c)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        switch (vectors)
        {
            case 1:
                RowGroup<TOps, TVector, Count1>(k, ref a, ref b, ldb, lastOffset, beta, ref c);
                break;
            case 2:
                RowGroup<TOps, TVector, Count2>(k, ref a, ref b, ldb, lastOffset, beta, ref c);
                break;
            case 3:
                RowGroup<TOps, TVector, Count3>(k, ref a, ref b, ldb, lastOffset, beta, ref c);
                break;
            case 4:
                RowGroup<TOps, TVector, Count4>(k, ref a, ref b, ldb, lastOffset, beta, ref c);
                break;
            case 5:
                RowGroup<TOps, TVector, Count5>(k, ref a, ref b, ldb, lastOffset, beta, ref c);
                break;
            case 6:
                RowGroup<TOps, TVector, Count6>(k, ref a, ref b, ldb, lastOffset, beta, ref c);
                break;
            case 7:
                RowGroup<TOps, TVector, Count7>(k, ref a, ref b, ldb, lastOffset, beta, ref c);
                break;
            default:
                RowGroup<TOps, TVector, Count8>(k, ref a, ref b, ldb, lastOffset, beta, ref c);
                break;
        }
    }

    // c[v * w ..] for v < vectors - 1, and c[lastOffset ..] for the last vector, from the stored rows of B. The
    // vector count is a type, so the JIT drops the branches on it from the k loop.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RowGroup<TOps, TVector, TCount>(int k, ref float a, ref float b, int ldb, int lastOffset, float beta, ref float c)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        where TCount : struct, ICount
    {
        nint w = TOps.Count;
        int vectors = TCount.Value;
        nint o1 = vectors == 2 ? lastOffset : w, o2 = vectors == 3 ? lastOffset : 2 * w, o3 = vectors == 4 ? lastOffset : 3 * w;
        nint o4 = vectors == 5 ? lastOffset : 4 * w, o5 = vectors == 6 ? lastOffset : 5 * w, o6 = vectors == 7 ? lastOffset : 6 * w;
        nint o7 = vectors == 8 ? lastOffset : 7 * w;
        nint o0 = vectors == 1 ? lastOffset : 0;
        TVector c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero, c4 = TOps.Zero, c5 = TOps.Zero, c6 = TOps.Zero, c7 = TOps.Zero;
        for (nint p = 0; p < k; p++)
        {
            ref float row = ref Unsafe.Add(ref b, p * ldb);
            TVector x = TOps.Broadcast(Unsafe.Add(ref a, p));
            c0 = TOps.MultiplyAdd(x, TOps.Load(ref row, o0), c0);
            if (vectors > 1)
            {
                c1 = TOps.MultiplyAdd(x, TOps.Load(ref row, o1), c1);
            }

            if (vectors > 2)
            {
                c2 = TOps.MultiplyAdd(x, TOps.Load(ref row, o2), c2);
            }

            if (vectors > 3)
            {
                c3 = TOps.MultiplyAdd(x, TOps.Load(ref row, o3), c3);
            }

            if (vectors > 4)
            {
                c4 = TOps.MultiplyAdd(x, TOps.Load(ref row, o4), c4);
            }

            if (vectors > 5)
            {
                c5 = TOps.MultiplyAdd(x, TOps.Load(ref row, o5), c5);
            }

            if (vectors > 6)
            {
                c6 = TOps.MultiplyAdd(x, TOps.Load(ref row, o6), c6);
            }

            if (vectors > 7)
            {
                c7 = TOps.MultiplyAdd(x, TOps.Load(ref row, o7), c7);
            }
        }

        // beta * c is read for every vector before any is stored: the last vector may overlap the one before.
        if (beta != 0f)
        {
            TVector scale = TOps.Broadcast(beta);
            c0 = TOps.MultiplyAdd(scale, TOps.Load(ref c, o0), c0);
            c1 = vectors > 1 ? TOps.MultiplyAdd(scale, TOps.Load(ref c, o1), c1) : c1;
            c2 = vectors > 2 ? TOps.MultiplyAdd(scale, TOps.Load(ref c, o2), c2) : c2;
            c3 = vectors > 3 ? TOps.MultiplyAdd(scale, TOps.Load(ref c, o3), c3) : c3;
            c4 = vectors > 4 ? TOps.MultiplyAdd(scale, TOps.Load(ref c, o4), c4) : c4;
            c5 = vectors > 5 ? TOps.MultiplyAdd(scale, TOps.Load(ref c, o5), c5) : c5;
            c6 = vectors > 6 ? TOps.MultiplyAdd(scale, TOps.Load(ref c, o6), c6) : c6;
            c7 = vectors > 7 ? TOps.MultiplyAdd(scale, TOps.Load(ref c, o7), c7) : c7;
        }

        TOps.Store(c0, ref c, o0);
        if (vectors > 1)
        {
            TOps.Store(c1, ref c, o1);
        }

        if (vectors > 2)
        {
            TOps.Store(c2, ref c, o2);
        }

        if (vectors > 3)
        {
            TOps.Store(c3, ref c, o3);
        }

        if (vectors > 4)
        {
            TOps.Store(c4, ref c, o4);
        }

        if (vectors > 5)
        {
            TOps.Store(c5, ref c, o5);
        }

        if (vectors > 6)
        {
            TOps.Store(c6, ref c, o6);
        }

        if (vectors > 7)
        {
            TOps.Store(c7, ref c, o7);
        }
    }

    /// <summary>Floats <see cref="PackTransposedA"/> packs A into: one MC x KC block, its micro-panels <see cref="PackedAPad"/> apart.</summary>
    internal const int PackedALength = (MC * KC) + (MC / PackedRows * PackedAPad);

    /// <summary>
    /// Floats between the packed micro-panels of A, one cache line: unpadded, they lie 8 * KC floats (8 KiB) apart, so
    /// <see cref="PackA"/>'s 16 stores per stored row (one per micro-panel) all fell in one L1 set, with the stored row
    /// itself (dGates rows are 4 KiB multiples apart) in the same set: a 128 x 256 block packed at 10.5 GB/s in L2.
    /// </summary>
    private const int PackedAPad = 16;

    /// <summary>Floats from one packed micro-panel of A to the next for a block of <paramref name="kc"/> k.</summary>
    private static nint PackedAPanelStride(int kc) => ((nint)PackedRows * kc) + PackedAPad;

    /// <summary><paramref name="n"/> rounded up to whole panels of the widest width: packed sizes that hold for every width.</summary>
    internal static int RoundUpToPanel(int n) => (n + MaxPanelWidth - 1) / MaxPanelWidth * MaxPanelWidth;

    /// <summary>
    /// Columns per packed panel of B at <paramref name="width"/>: the micro-kernel's NR, two vectors, so each k of a
    /// panel is one or two whole cache lines that the kernel reads in full. (With 32-wide panels at 256 bits, each
    /// 16-column half read half of every line of a panel as large as L1, KC x 32 floats = 32 KiB.) The scalar
    /// specification reads the 128-bit layout.
    /// </summary>
    internal static int PanelWidthOf(VectorWidth width) => width == VectorWidth.Scalar ? 2 * (int)VectorWidth.W128 : 2 * (int)width;

    /// <summary>The panel width of this thread's kernels: packing and multiplying must run at the same width.</summary>
    private static int CurrentPanelWidth => PanelWidthOf(VectorDispatch.Current);

    /// <summary>
    /// Packs columns [<paramref name="j0"/>, <paramref name="j0"/> + <paramref name="n"/>) of op(B) [K, *] as consecutive
    /// blocks of KC rows, each laid out as <see cref="PackB"/> lays out a whole matrix, for <see cref="MultiplyPackedBlocks"/>:
    /// <see cref="PackedLength"/>(k, n) floats in all.
    /// </summary>
    internal static void PackBlocks(MatrixOp opB, int k, int j0, int n, ReadOnlySpan<float> b, int ldb, Span<float> packed)
    {
        ref float b0 = ref MemoryMarshal.GetReference(b);
        ref float p0 = ref MemoryMarshal.GetReference(packed);
        int width = RoundUpToPanel(n);
        for (int pc = 0; pc < k; pc += KC)
        {
            PackPanels(opB, ref b0, ldb, pc, Math.Min(KC, k - pc), j0, n, ref Unsafe.Add(ref p0, (nint)pc * width));
        }
    }

    /// <summary>
    /// <c>C[M, N] = A[M, K] * B</c> with B packed by <see cref="PackBlocks"/>: every element gets the operations
    /// <see cref="MultiplyCore"/> gives it with beta 0 (one FMA chain per KC block of k, each block added to C in
    /// order), so a product computed a few rows at a time equals, bit for bit, the one computed over all rows at once.
    /// <paramref name="weightsStream"/> as for <see cref="MultiplyPackedCore(MatrixOp, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, float, Span{float}, int, bool)"/>.
    /// </summary>
    internal static void MultiplyPackedBlocks(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> packed, Span<float> c, int ldc, bool weightsStream = false)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float p0 = ref MemoryMarshal.GetReference(packed);
        ref float c0 = ref MemoryMarshal.GetReference(c);
        if (k == 0)
        {
            ScaleRows(m, n, 0f, ref c0, ldc);
            return;
        }

        int width = RoundUpToPanel(n);
        VectorWidth vectorWidth = VectorDispatch.Current;
        for (int pc = 0; pc < k; pc += KC)
        {
            RunPanels(vectorWidth, m, n, Math.Min(KC, k - pc), ref Unsafe.Add(ref a0, pc), lda, 1, ref Unsafe.Add(ref p0, (nint)pc * width), pc == 0 ? 0f : 1f, ref c0, ldc, ref Unsafe.NullRef<float>(), weightsStream || StreamsPanels(k, n));
        }
    }

    /// <summary>
    /// <c>C[M, N] = A1[M, K1] * B1 + A2[M, K2] * B2</c>: both A row-major and read in place, both B packed whole as
    /// <see cref="PackB"/> packs them (<see cref="PackColumns"/> for a slice of columns; one block of all K rows, also past
    /// KC), C written and never read. Every element is one FMA chain, k ascending through A1's columns and then on
    /// through A2's, in interior and edge tiles alike. The forward step's <c>x_t W_ih^T + h_{t-1} W_hh^T</c> in one pass
    /// over C: each register block's accumulators stay in registers from the first k of x to the last of h, where two
    /// products store C after the first and load it again for the second, and make twice the kernel calls
    /// ([16, 512] from K = 64 + 128: 20.0 -> 18.9 us; [32, 256] from 128 + 256: 38.2 -> 37.3 us).
    /// </summary>
    internal static void MultiplyPackedPair(int m, int n, int k1, ReadOnlySpan<float> a1, int lda1, ReadOnlySpan<float> packed1, int k2, ReadOnlySpan<float> a2, int lda2, ReadOnlySpan<float> packed2, Span<float> c, int ldc)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k2 == 0)
        {
            MultiplyPackedCore(MatrixOp.None, m, n, k1, a1, lda1, packed1, 0f, c, ldc);
            return;
        }

        if (k1 == 0)
        {
            MultiplyPackedCore(MatrixOp.None, m, n, k2, a2, lda2, packed2, 0f, c, ldc);
            return;
        }

        var second = new SecondOperand(ref MemoryMarshal.GetReference(a2), lda2, ref MemoryMarshal.GetReference(packed2), k2);
        RunPanels(VectorDispatch.Current, m, n, k1, ref MemoryMarshal.GetReference(a1), lda1, 1, ref MemoryMarshal.GetReference(packed1), 0f, ref MemoryMarshal.GetReference(c), ldc, ref Unsafe.NullRef<float>(), streamsPanels: false, second);
    }

    // packed: [ceil(nc / pw)][kc][pw], pw = CurrentPanelWidth; columns past nc are zero so the kernel always runs full
    // panels.
    private static void PackPanels(MatrixOp opB, ref float b, int ldb, int pc, int kc, int jc, int nc, ref float packed)
        => PackPanels(opB, ref b, ldb, pc, kc, jc, nc, ref packed, kc);

    // As above, with panels panelRows rows apart: kc rows written into a block packed for more rows.
    private static void PackPanels(MatrixOp opB, ref float b, int ldb, int pc, int kc, int jc, int nc, ref float packed, int panelRows)
    {
        int pw = CurrentPanelWidth;
        nint panelStride = (nint)panelRows * pw;
        int panels = (nc + pw - 1) / pw;
        for (int panel = 0; panel < panels; panel++)
        {
            int j0 = jc + (panel * pw);
            int cols = Math.Min(pw, jc + nc - j0);
            ref float dst = ref Unsafe.Add(ref packed, panel * panelStride);
            if (opB == MatrixOp.None)
            {
                // A full panel row is one to four 8-float vectors: copied in registers rather than by a memmove call
                // per row (W_hh [400, 100] packed in 9.7 us that way, 6% of a (25, 1, 65, 100) LSTM step). A partial
                // one is zeroed the same way and then gets its few columns.
                bool vectorRows = Vector256.IsHardwareAccelerated;
                for (int p = 0; p < kc; p++)
                {
                    ref float row = ref Unsafe.Add(ref dst, (nint)p * pw);
                    ref float src = ref Unsafe.Add(ref b, ((nint)(pc + p) * ldb) + j0);
                    if (!vectorRows)
                    {
                        Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref row), ref Unsafe.As<float, byte>(ref src), (uint)(cols * sizeof(float)));
                        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref row, cols), pw - cols).Clear();
                    }
                    else if (cols == pw)
                    {
                        for (nuint q = 0; q < (nuint)pw; q += 8)
                        {
                            Vector256.LoadUnsafe(ref src, q).StoreUnsafe(ref row, q);
                        }
                    }
                    else
                    {
                        for (nuint q = 0; q < (nuint)pw; q += 8)
                        {
                            Vector256<float>.Zero.StoreUnsafe(ref row, q);
                        }

                        for (int j = 0; j < cols; j++)
                        {
                            Unsafe.Add(ref row, j) = Unsafe.Add(ref src, j);
                        }
                    }
                }
            }
            else
            {
                // Transposed: 8 x 8 blocks are transposed in registers (8 stored rows in, 8 packed rows out); the
                // rest, and the scalar path, read each stored row (one panel column) contiguously while the writes
                // stride through the panel (kc x 32 floats), which stays in L1 while its 32 columns are filled.
                int blocked = 0;
                if (Avx.IsSupported && VectorDispatch.Current >= VectorWidth.W256)
                {
                    blocked = cols & ~7;
                    for (int j = 0; j < blocked; j += 8)
                    {
                        TransposeRows8(ref Unsafe.Add(ref b, ((nint)(j0 + j) * ldb) + pc), ldb, kc, ref Unsafe.Add(ref dst, j), pw);
                    }
                }

                for (int j = blocked; j < cols; j++)
                {
                    ref float src = ref Unsafe.Add(ref b, ((nint)(j0 + j) * ldb) + pc);
                    ref float column = ref Unsafe.Add(ref dst, j);
                    for (nint p = 0; p < kc; p++)
                    {
                        Unsafe.Add(ref column, p * pw) = Unsafe.Add(ref src, p);
                    }
                }

                for (int j = cols; j < pw; j++)
                {
                    ref float column = ref Unsafe.Add(ref dst, j);
                    for (nint p = 0; p < kc; p++)
                    {
                        Unsafe.Add(ref column, p * pw) = 0f;
                    }
                }
            }
        }
    }

    // packed[p][0..8) = (src[0][p], ..., src[7][p]) for p < kc: eight stored rows ldb apart become eight panel columns
    // of a panel pw floats wide. Pure data movement, so results do not depend on which pack ran.
    private static void TransposeRows8(ref float src, int ldb, int kc, ref float packed, nint pw)
    {
        nint p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            Vector256<float> r0 = Vector256.LoadUnsafe(ref src, (nuint)p), r1 = Vector256.LoadUnsafe(ref src, (nuint)(ldb + p));
            Vector256<float> r2 = Vector256.LoadUnsafe(ref src, (nuint)((2 * ldb) + p)), r3 = Vector256.LoadUnsafe(ref src, (nuint)((3 * ldb) + p));
            Vector256<float> r4 = Vector256.LoadUnsafe(ref src, (nuint)((4 * ldb) + p)), r5 = Vector256.LoadUnsafe(ref src, (nuint)((5 * ldb) + p));
            Vector256<float> r6 = Vector256.LoadUnsafe(ref src, (nuint)((6 * ldb) + p)), r7 = Vector256.LoadUnsafe(ref src, (nuint)((7 * ldb) + p));

            // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: the classic 8 x 8 transpose.
            Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
            Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
            Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
            Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
            ref float row = ref Unsafe.Add(ref packed, p * pw);
            Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref row);
            Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref row, (nuint)pw);
            Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref row, (nuint)(2 * pw));
            Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref row, (nuint)(3 * pw));
            Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref row, (nuint)(4 * pw));
            Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref row, (nuint)(5 * pw));
            Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref row, (nuint)(6 * pw));
            Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref row, (nuint)(7 * pw));
        }

        for (; p < kc; p++)
        {
            ref float row = ref Unsafe.Add(ref packed, p * pw);
            for (int r = 0; r < 8; r++)
            {
                Unsafe.Add(ref row, r) = Unsafe.Add(ref src, ((nint)r * ldb) + p);
            }
        }
    }

    // packedA: room for an MC x KC block of a transposed A packed by PackA, or a null ref to read A in place.
    // second: a product whose chains continue those of this one (MultiplyPackedPair; A read in place), or none.
    private static void RunPanels(VectorWidth width, int m, int n, int kc, ref float a, nint aRow, nint aCol, ref float packed, float beta, ref float c, int ldc, ref float packedA, bool streamsPanels, scoped in SecondOperand second = default)
    {
        // Loop 3 (ic): rows of A in blocks of MC, so a block (MC x KC floats, 128 KiB) stays in L2 while every panel
        // of the packed B block passes it.
        for (int ic = 0; ic < m; ic += MC)
        {
            int mc = Math.Min(MC, m - ic);
            ref float aBlock = ref Unsafe.Add(ref a, ic * aRow);
            ref float cBlock = ref Unsafe.Add(ref c, (nint)ic * ldc);
            if (Unsafe.IsNullRef(ref packedA))
            {
                var secondBlock = second.K == 0 ? default : new SecondOperand(ref Unsafe.Add(ref second.A, ic * second.ARow), second.ARow, ref second.Packed, second.K);
                RunPanelsOnRowBlock(width, mc, n, kc, ref aBlock, aRow, aCol, PackedRows * aRow, ref packed, beta, ref cBlock, ldc, streamsPanels, secondBlock);
            }
            else
            {
                // Micro-panel b starts at b * PackedAPanelStride(kc); within it rows are 1 apart and k steps 8.
                PackA(ref aBlock, aCol, mc, kc, ref packedA);
                RunPanelsOnRowBlock(width, mc, n, kc, ref packedA, 1, PackedRows, PackedAPanelStride(kc), ref packed, beta, ref cBlock, ldc, streamsPanels);
            }
        }
    }

    // packedA: [ceil(mc / 8)][kc][8] with PackedAPad floats after each micro-panel, element (i, p) at (i / 8) *
    // PackedAPanelStride(kc) + p * 8 + i % 8, from a transposed A (element (i, p) at p * aCol + i); rows past mc are
    // zero (the kernels are chosen by the rows left, so they are never stored). Pure data movement: the products that
    // read it are the ones that read A in place, so packing does not change a bit.
    private static void PackA(ref float a, nint aCol, int mc, int kc, ref float packedA)
    {
        // Whole micro-panels go stored row by stored row: one pass over each row of A (dGates for dW: 512 bytes of a
        // row thousands of bytes long, rows too far apart for the hardware prefetchers, which stop at page ends), with
        // the row PackAheadRows on asked for meanwhile. Panel by panel, the 16 panels of a 128-row block read each row
        // 16 times, 32 bytes at a time, and waited on a miss per row. dW adding 8 blocks of a
        // 16 MiB dGates to dW [2048, 256]: 93.2-96.2 -> 96.4-97.4 GFLOP/s; to dW [2048, 512]: 98.4-98.8 -> 100.5.
        int whole = Vector256.IsHardwareAccelerated ? mc / PackedRows * PackedRows : 0;
        if (whole > 0)
        {
            nint panelStride = PackedAPanelStride(kc);
            for (nint p = 0; p < kc; p++)
            {
                if (p + PackAheadRows < kc)
                {
                    Prefetch.ToL1(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref a, (p + PackAheadRows) * aCol), whole));
                }

                ref float row = ref Unsafe.Add(ref a, p * aCol);
                ref float dst = ref Unsafe.Add(ref packedA, p * PackedRows);
                for (int r = 0; r < whole; r += PackedRows)
                {
                    Vector256.LoadUnsafe(ref row, (nuint)r).StoreUnsafe(ref dst);
                    dst = ref Unsafe.Add(ref dst, panelStride);
                }
            }
        }

        for (int r = whole; r < mc; r += PackedRows)
        {
            int rows = Math.Min(PackedRows, mc - r);
            ref float src = ref Unsafe.Add(ref a, r);
            ref float dst = ref Unsafe.Add(ref packedA, (r / PackedRows) * PackedAPanelStride(kc));
            for (nint p = 0; p < kc; p++)
            {
                ref float column = ref Unsafe.Add(ref dst, p * PackedRows);
                for (int i = 0; i < PackedRows; i++)
                {
                    Unsafe.Add(ref column, i) = i < rows ? Unsafe.Add(ref src, (p * aCol) + i) : 0f;
                }
            }
        }
    }

    // Row i of A: block i / 8 at a + (i / 8) * blockStride, then (i % 8) * aRow; k steps aCol. In place, blockStride is
    // 8 * aRow; for A packed by PackA it is PackedAPanelStride(kc) with aRow = 1, aCol = 8 (never with the scalar path,
    // which reads A in place).
    private static void RunPanelsOnRowBlock(VectorWidth width, int m, int n, int kc, ref float a, nint aRow, nint aCol, nint blockStride, ref float packed, float beta, ref float c, int ldc, bool streamsPanels, scoped in SecondOperand second = default)
    {
        switch (width)
        {
            case VectorWidth.W512:
                RunPanels<Ops512, Vector512<float>>(m, n, kc, ref a, aRow, aCol, blockStride, ref packed, beta, ref c, ldc, streamsPanels, second);
                break;
            case VectorWidth.W256:
                RunPanels<Ops256, Vector256<float>>(m, n, kc, ref a, aRow, aCol, blockStride, ref packed, beta, ref c, ldc, streamsPanels, second);
                break;
            case VectorWidth.W128:
                RunPanels<Ops128, Vector128<float>>(m, n, kc, ref a, aRow, aCol, blockStride, ref packed, beta, ref c, ldc, streamsPanels, second);
                break;
            default:
                System.Diagnostics.Debug.Assert(blockStride == PackedRows * aRow, "the scalar path reads A in place");
                RunPanelsScalar(m, n, kc, ref a, aRow, aCol, ref packed, beta, ref c, ldc, second);
                break;
        }
    }

    // Loops 3..1 over one packed block: one NR-wide panel (two vectors) at a time. The kernels are not inlined here:
    // with several of them in one method body the JIT's register allocator spills accumulators inside the k loops
    // (measured: 111 -> 40 GFLOP/s); one call per MR x NR x kc tile costs nothing by comparison.
    private static void RunPanels<TOps, TVector>(int m, int n, int kc, ref float a, nint aRow, nint aCol, nint blockStride, ref float packed, float beta, ref float c, int ldc, bool streamsPanels, scoped in SecondOperand second)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        int pw = 2 * TOps.Count;
        nint panelStride = (nint)kc * pw;
        int j0 = 0;

        // A single row (batch 1: a matrix-vector product) has only two accumulators per panel, too few to hide the
        // FMA latency: take up to four panels at once for up to eight independent chains, the last group with the
        // vectors that are left (N = 100: seven, instead of four latency-bound panels one after the other). A group
        // of v vectors takes at least max(4, v) cycles per k (4: the FMA latency), so a rest of 9 to 11 vectors goes
        // as 4 + the rest rather than 8 + 1 to 3: N = 400 at AVX-512 runs as 8 + 8 + 4 + 5 vectors, not 8 + 8 + 8 + 1
        // ((25, 1, 65, 100) LSTM forward 47-50 -> 41-43 us; rests of 10 and 11, N = 160, 176 and 300, moved within
        // the noise). A column's group changes its chain's neighbours, not its chain.
        if (m == 1 && second.K == 0)
        {
            int w = TOps.Count;
            while (j0 < n)
            {
                int vectorsLeft = (n - j0 + w - 1) / w;
                int cols = vectorsLeft is > 8 and < 12 ? 2 * pw : Math.Min(4 * pw, n - j0);
                Kernel1x8<TOps, TVector>(kc, ref a, aCol, ref Unsafe.Add(ref packed, (j0 / pw) * panelStride), panelStride, ref Unsafe.Add(ref c, j0), beta, cols);
                j0 += cols;
            }

            return;
        }

        // Below 8 rows a panel meets one or two small register blocks, which read it at the load rate, and a hint for
        // the next panel only competes with them (see RunColumnBlock).
        if (second.K == 0 && streamsPanels && m >= PackedRows)
        {
            RunColumnBlocks<TOps, TVector, OneStreamedProduct>(m, n, kc, ref a, aRow, aCol, blockStride, ref packed, beta, ref c, ldc, 0, ref Unsafe.NullRef<float>(), 0, ref Unsafe.NullRef<float>());
        }
        else if (second.K == 0)
        {
            RunColumnBlocks<TOps, TVector, OneProduct>(m, n, kc, ref a, aRow, aCol, blockStride, ref packed, beta, ref c, ldc, 0, ref Unsafe.NullRef<float>(), 0, ref Unsafe.NullRef<float>());
        }
        else
        {
            RunColumnBlocks<TOps, TVector, TwoProducts>(m, n, kc, ref a, aRow, aCol, blockStride, ref packed, beta, ref c, ldc, second.K, ref second.A, second.ARow, ref second.Packed);
        }
    }

    // Loop 3 (jr): one NR-wide panel at a time, with TwoProducts the same panel of the second packed B too.
    private static void RunColumnBlocks<TOps, TVector, TProducts>(int m, int n, int kc, ref float a, nint aRow, nint aCol, nint blockStride, ref float packed, float beta, ref float c, int ldc, int secondK, ref float secondA, nint secondARow, ref float secondPacked)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        where TProducts : struct, IProductCount
    {
        int pw = 2 * TOps.Count;
        nint panelStride = (nint)kc * pw;

        // A panel's lines (kc * pw floats), shared out over the m rows' register blocks (see RunColumnBlock).
        nint panelLines = 0, linesPerBlock = 0;
        if (TProducts.FetchesNextPanel)
        {
            int blocks = 0, mr = MaxRegisterRows<TOps, TVector>();
            for (int r = 0; r < m; r += RegisterBlockRows(m - r, mr))
            {
                blocks++;
            }

            panelLines = panelStride * sizeof(float) / Prefetch.LineBytes;
            linesPerBlock = (panelLines + blocks - 1) / blocks;
        }

        for (int j0 = 0; j0 < n; j0 += pw)
        {
            int cols = Math.Min(pw, n - j0);
            ref float panel = ref Unsafe.Add(ref packed, (j0 / pw) * panelStride);
            ref float cBlock = ref Unsafe.Add(ref c, j0);
            ref float secondPanel = ref TProducts.Two ? ref Unsafe.Add(ref secondPacked, (j0 / pw) * (nint)secondK * pw) : ref secondPacked;
            bool hasNext = TProducts.FetchesNextPanel && j0 + pw < n;
            ref float nextPanel = ref hasNext ? ref Unsafe.Add(ref panel, panelStride) : ref panel;
            nint nextLines = hasNext ? panelLines : 0;

            // A tail of at most one vector (N = 65: 1 column, N = 100: 4) skips the second vector's zero padding:
            // half the loads and FMAs of that block; the columns it keeps get the same chains.
            if (cols <= TOps.Count)
            {
                RunColumnBlock<TOps, TVector, FirstHalf, TProducts>(m, kc, ref a, aRow, aCol, blockStride, ref panel, beta, ref cBlock, ldc, cols, secondK, ref secondA, secondARow, ref secondPanel, ref nextPanel, nextLines, linesPerBlock);
            }
            else
            {
                RunColumnBlock<TOps, TVector, BothHalves, TProducts>(m, kc, ref a, aRow, aCol, blockStride, ref panel, beta, ref cBlock, ldc, cols, secondK, ref secondA, secondARow, ref secondPanel, ref nextPanel, nextLines, linesPerBlock);
            }
        }
    }

    // Whether the packed panels of a product with k x n packed B are fetched ahead (see RunColumnBlock).
    private static bool StreamsPanels(int k, int n) => (long)k * n * sizeof(float) >= StreamedPanelsBytes;

    /// <summary>
    /// Whether a time step's weights, <paramref name="floats"/> of them packed (a worker's slices of W_ih and W_hh),
    /// arrive from L3 each step: from 1.5 MiB, with the states and gates beside them, they do not stay in a 2 MiB L2.
    /// The (512, 64, 256, 512) Elman and (256, 32, 128, 256) LSTM have exactly 1.5 MiB; with the hint (and their forward
    /// products apart, see SequenceDriver.FusesStepProducts), probe A/B, alternating processes: Elman forward
    /// 150.2-150.4 -> 152.2-153.4 GFLOP/s, training step 143.8-144.6 -> 145.7-147.2 (two threads 273.5-278.0 ->
    /// 280.4-280.5), LSTM step 130.0-132.1 -> 134.6-135.4. (The sixth session's first table, on e71ae71, counted 1.5 MiB
    /// as streamed and measured the Elman's two-thread step at 248.1 against oneDNN's 262.1; 9963d16 then stopped the
    /// hint there. Its A/B runs moved within 2%, as this host's runs do; the Elman's forward was then one fused pair
    /// product, which takes no hint.)
    /// </summary>
    internal static bool StepWeightsStream(long floats) => floats * sizeof(float) >= StreamedStepWeightsBytes;

    /// <summary>
    /// Rows of the register block that starts with <paramref name="left"/> rows to go: <paramref name="mr"/> while at
    /// least <paramref name="mr"/> + 4 are left, then the rest in one block (at most <paramref name="mr"/>) or two
    /// near-equal ones. Blocks of 4 rows or more have at least eight accumulators, enough independent FMA chains to
    /// cover the FMA latency on two pipes; only a matrix of fewer than 4 rows, or a rest of 7 with mr = 6 (4 + 3), gets
    /// a smaller one. With mr = 6: 16 rows go 6 + 6 + 4, 32 go 6 * 4 + 4 + 4, 64 go 6 * 10 + 4.
    /// </summary>
    internal static int RegisterBlockRows(int left, int mr) => left <= mr ? left : left >= mr + 4 ? mr : (left + 1) / 2;

    /// <summary>
    /// Rows per register block at a width: 8 x 2 vectors = 16 accumulators with AVX-512's 32 vector registers, 6 x 2 =
    /// 12 with the 16 of AVX2 and SSE (with the two panel vectors and a broadcast: 15 registers, no spills).
    /// </summary>
    private static int MaxRegisterRows<TOps, TVector>()
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => TOps.Count == 16 ? 8 : 6;

    // Loops 2..1 for one NR-wide panel: all m rows in register blocks of RegisterBlockRows. Row i of A lies in
    // micro-panel i / 8 (blockStride apart) at (i % 8) * aRow: a packed A's 8-row micro-panels, or A in place with
    // blockStride = 8 * aRow. A block may straddle two micro-panels (the kernel locates each of its rows once).
    // With TwoProducts, the chains go on over secondK more k: A2 in place (rows secondARow apart), secondPanel of B2.
    // With FetchesNextPanel, lines of nextPanel (0: there is none) are asked for, linesPerBlock by each block.
    private static unsafe void RunColumnBlock<TOps, TVector, THalves, TProducts>(int m, int kc, ref float a, nint aRow, nint aCol, nint blockStride, ref float panel, float beta, ref float cBlock, int ldc, int cols, int secondK, ref float secondA, nint secondARow, ref float secondPanel, ref float nextPanel, nint lines, nint linesPerBlock)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        where THalves : struct, IPanelHalves
        where TProducts : struct, IProductCount
    {
        int mr = MaxRegisterRows<TOps, TVector>();

        // A panel of weights past L2 arrives from L3 as the first row block reads it, 16 bytes per cycle at 8 rows, and
        // that block waited (packed W [512, 384] in L2 times 64 rows: 165-168 GFLOP/s; [512, 1536], past it: 152-154).
        // Each row block now asks for its share of the next panel in L2, one line per k, while it computes on a panel
        // already near, so the fetch overlaps all of this panel's FMAs instead of stalling the first block's. Medians
        // of 2 s runs: packed W [512, 1536] times 64 rows (the GRU forward step, H = 512) 152-154 -> 158-159 GFLOP/s;
        // dh [64, 512] of a [1536, 512] W 146-150 -> 156-158; 16 rows 123-125 -> 141-144; 8 rows 100-104 -> 103-110;
        // 6 rows 86 -> 78-81 and 4 rows 63-65 -> 54-55, so RunPanels asks only from 8 rows on. A block asks for at most
        // kc lines: with a single block (8 rows at AVX-512) the second half of the next panel is left to the hardware.
        // Measured on the Emerald Rapids Xeon (2 MiB L2 per core). Hints only: the bits do not change, and a stale
        // address (the GC moved an unpinned panel) costs one useless fetch.
        nint nextLine = TProducts.FetchesNextPanel ? (nint)Unsafe.AsPointer(ref nextPanel) : 0;
        for (int r = 0; r < m;)
        {
            int rows = RegisterBlockRows(m - r, mr);
            nint blockLines = 0, prefetchFrom = nextLine;
            if (TProducts.FetchesNextPanel)
            {
                blockLines = Math.Clamp(Math.Min(linesPerBlock, lines), 0, kc);
                lines -= linesPerBlock;
                nextLine += linesPerBlock * Prefetch.LineBytes;
            }

            ref float aPanel = ref Unsafe.Add(ref a, (r / PackedRows) * blockStride);
            int rowInPanel = r % PackedRows;
            ref float cRows = ref Unsafe.Add(ref cBlock, (nint)r * ldc);
            ref float secondPanelA = ref TProducts.Two ? ref Unsafe.Add(ref secondA, (r / PackedRows) * PackedRows * secondARow) : ref secondA;
            switch (rows)
            {
                case 1:
                    Kernel<TOps, TVector, THalves, Count1, TProducts>(kc, ref aPanel, rowInPanel, aRow, aCol, blockStride, ref panel, ref cRows, ldc, beta, cols, secondK, ref secondPanelA, secondARow, ref secondPanel, prefetchFrom, blockLines);
                    break;
                case 2:
                    Kernel<TOps, TVector, THalves, Count2, TProducts>(kc, ref aPanel, rowInPanel, aRow, aCol, blockStride, ref panel, ref cRows, ldc, beta, cols, secondK, ref secondPanelA, secondARow, ref secondPanel, prefetchFrom, blockLines);
                    break;
                case 3:
                    Kernel<TOps, TVector, THalves, Count3, TProducts>(kc, ref aPanel, rowInPanel, aRow, aCol, blockStride, ref panel, ref cRows, ldc, beta, cols, secondK, ref secondPanelA, secondARow, ref secondPanel, prefetchFrom, blockLines);
                    break;
                case 4:
                    Kernel<TOps, TVector, THalves, Count4, TProducts>(kc, ref aPanel, rowInPanel, aRow, aCol, blockStride, ref panel, ref cRows, ldc, beta, cols, secondK, ref secondPanelA, secondARow, ref secondPanel, prefetchFrom, blockLines);
                    break;
                case 5:
                    Kernel<TOps, TVector, THalves, Count5, TProducts>(kc, ref aPanel, rowInPanel, aRow, aCol, blockStride, ref panel, ref cRows, ldc, beta, cols, secondK, ref secondPanelA, secondARow, ref secondPanel, prefetchFrom, blockLines);
                    break;
                case 6:
                    Kernel<TOps, TVector, THalves, Count6, TProducts>(kc, ref aPanel, rowInPanel, aRow, aCol, blockStride, ref panel, ref cRows, ldc, beta, cols, secondK, ref secondPanelA, secondARow, ref secondPanel, prefetchFrom, blockLines);
                    break;
                case 7:
                    Kernel<TOps, TVector, THalves, Count7, TProducts>(kc, ref aPanel, rowInPanel, aRow, aCol, blockStride, ref panel, ref cRows, ldc, beta, cols, secondK, ref secondPanelA, secondARow, ref secondPanel, prefetchFrom, blockLines);
                    break;
                default:
                    Kernel<TOps, TVector, THalves, Count8, TProducts>(kc, ref aPanel, rowInPanel, aRow, aCol, blockStride, ref panel, ref cRows, ldc, beta, cols, secondK, ref secondPanelA, secondARow, ref secondPanel, prefetchFrom, blockLines);
                    break;
            }

            r += rows;
        }
    }

    // C[R, NR] (+)= A[R, kc] * panel[kc, NR] (with TwoProducts, + A2[R, secondK] * secondPanel[secondK, NR] in the
    // same chains), R = TRows.Value (1 to 8; at most 6 below AVX-512); panel rows are NR floats apart, so each k reads
    // one or two whole cache lines. Row r of the block is row firstRow + r of the 8-row micro-panels that start at a,
    // blockStride apart (see RowOf); k steps aCol. The row count is a type, so the JIT keeps only the accumulators and
    // loads of R rows.
    // With TProducts.FetchesNextPanel, k < prefetchLines also asks for the line at prefetchFrom + 64 k in L2.
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private static unsafe void Kernel<TOps, TVector, THalves, TRows, TProducts>(int kc, ref float a, int firstRow, nint aRow, nint aCol, nint blockStride, ref float panel, ref float c, int ldc, float beta, int cols, int secondK, ref float secondA, nint secondARow, ref float secondPanel, nint prefetchFrom, nint prefetchLines)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        where THalves : struct, IPanelHalves
        where TRows : struct, ICount
        where TProducts : struct, IProductCount
    {
        nint w = TOps.Count, pw = 2 * w;
        int rows = TRows.Value;
        TVector c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c20 = TOps.Zero, c21 = TOps.Zero, c30 = TOps.Zero, c31 = TOps.Zero;
        TVector c40 = TOps.Zero, c41 = TOps.Zero, c50 = TOps.Zero, c51 = TOps.Zero, c60 = TOps.Zero, c61 = TOps.Zero, c70 = TOps.Zero, c71 = TOps.Zero;

        // C is read (or, with beta = 0, its lines are owned for the stores) after the k loop; when it lives past L2
        // (dW [G*H, I + H] of the big shapes, the step block after W_ih streamed by) its rows are fetched into L2 now,
        // while the loop runs. On Zen 4, 1024^3 went from 87-97 to 100-104 GFLOP/s, the (256, 32) LSTM step from
        // 208-210 to 202-206 ms (1 thread) and 111-137 to 109-111 ms (2 threads); a hint only, so the bits do not change.
        if (Sse.IsSupported)
        {
            unsafe
            {
                for (nint r = 0; r < rows; r++)
                {
                    float* row = (float*)Unsafe.AsPointer(ref Unsafe.Add(ref c, r * ldc));
                    Sse.Prefetch1(row);
                    Sse.Prefetch1(row + pw - 1);
                }
            }
        }

        for (int product = 0; ; product++)
        {
            // Absent rows alias row 0, so no reference points past A; they are never read.
            ref float a0 = ref RowOf(ref a, firstRow, aRow, blockStride);
            ref float a1 = ref RowOf(ref a, rows > 1 ? firstRow + 1 : firstRow, aRow, blockStride);
            ref float a2 = ref RowOf(ref a, rows > 2 ? firstRow + 2 : firstRow, aRow, blockStride);
            ref float a3 = ref RowOf(ref a, rows > 3 ? firstRow + 3 : firstRow, aRow, blockStride);
            ref float a4 = ref RowOf(ref a, rows > 4 ? firstRow + 4 : firstRow, aRow, blockStride);
            ref float a5 = ref RowOf(ref a, rows > 5 ? firstRow + 5 : firstRow, aRow, blockStride);
            ref float a6 = ref RowOf(ref a, rows > 6 ? firstRow + 6 : firstRow, aRow, blockStride);
            ref float a7 = ref RowOf(ref a, rows > 7 ? firstRow + 7 : firstRow, aRow, blockStride);

            for (nint p = 0; p < kc; p++)
            {
                if (TProducts.FetchesNextPanel && Sse.IsSupported && p < prefetchLines)
                {
                    Sse.Prefetch1((byte*)prefetchFrom + (p * Prefetch.LineBytes));
                }

                nint bOffset = p * pw;
                TVector b0 = TOps.Load(ref panel, bOffset);
                TVector b1 = THalves.Both ? TOps.Load(ref panel, bOffset + w) : TOps.Zero;
                nint aOffset = p * aCol;
                TVector x = TOps.Broadcast(Unsafe.Add(ref a0, aOffset));
                c00 = TOps.MultiplyAdd(x, b0, c00);
                c01 = THalves.Both ? TOps.MultiplyAdd(x, b1, c01) : c01;
                if (rows > 1)
                {
                    x = TOps.Broadcast(Unsafe.Add(ref a1, aOffset));
                    c10 = TOps.MultiplyAdd(x, b0, c10);
                    c11 = THalves.Both ? TOps.MultiplyAdd(x, b1, c11) : c11;
                }

                if (rows > 2)
                {
                    x = TOps.Broadcast(Unsafe.Add(ref a2, aOffset));
                    c20 = TOps.MultiplyAdd(x, b0, c20);
                    c21 = THalves.Both ? TOps.MultiplyAdd(x, b1, c21) : c21;
                }

                if (rows > 3)
                {
                    x = TOps.Broadcast(Unsafe.Add(ref a3, aOffset));
                    c30 = TOps.MultiplyAdd(x, b0, c30);
                    c31 = THalves.Both ? TOps.MultiplyAdd(x, b1, c31) : c31;
                }

                if (rows > 4)
                {
                    x = TOps.Broadcast(Unsafe.Add(ref a4, aOffset));
                    c40 = TOps.MultiplyAdd(x, b0, c40);
                    c41 = THalves.Both ? TOps.MultiplyAdd(x, b1, c41) : c41;
                }

                if (rows > 5)
                {
                    x = TOps.Broadcast(Unsafe.Add(ref a5, aOffset));
                    c50 = TOps.MultiplyAdd(x, b0, c50);
                    c51 = THalves.Both ? TOps.MultiplyAdd(x, b1, c51) : c51;
                }

                if (rows > 6)
                {
                    x = TOps.Broadcast(Unsafe.Add(ref a6, aOffset));
                    c60 = TOps.MultiplyAdd(x, b0, c60);
                    c61 = THalves.Both ? TOps.MultiplyAdd(x, b1, c61) : c61;
                }

                if (rows > 7)
                {
                    x = TOps.Broadcast(Unsafe.Add(ref a7, aOffset));
                    c70 = TOps.MultiplyAdd(x, b0, c70);
                    c71 = THalves.Both ? TOps.MultiplyAdd(x, b1, c71) : c71;
                }
            }

            if (!TProducts.Two || product == 1)
            {
                break;
            }

            // The second product's k go on in the same chains: its A in place (8-row blocks 8 rows apart), its panel.
            kc = secondK;
            a = ref secondA;
            aRow = secondARow;
            aCol = 1;
            blockStride = PackedRows * secondARow;
            panel = ref secondPanel;
        }

        StoreRow<TOps, TVector>(c00, c01, ref c, beta, cols);
        if (rows > 1)
        {
            StoreRow<TOps, TVector>(c10, c11, ref Unsafe.Add(ref c, ldc), beta, cols);
        }

        if (rows > 2)
        {
            StoreRow<TOps, TVector>(c20, c21, ref Unsafe.Add(ref c, 2 * (nint)ldc), beta, cols);
        }

        if (rows > 3)
        {
            StoreRow<TOps, TVector>(c30, c31, ref Unsafe.Add(ref c, 3 * (nint)ldc), beta, cols);
        }

        if (rows > 4)
        {
            StoreRow<TOps, TVector>(c40, c41, ref Unsafe.Add(ref c, 4 * (nint)ldc), beta, cols);
        }

        if (rows > 5)
        {
            StoreRow<TOps, TVector>(c50, c51, ref Unsafe.Add(ref c, 5 * (nint)ldc), beta, cols);
        }

        if (rows > 6)
        {
            StoreRow<TOps, TVector>(c60, c61, ref Unsafe.Add(ref c, 6 * (nint)ldc), beta, cols);
        }

        if (rows > 7)
        {
            StoreRow<TOps, TVector>(c70, c71, ref Unsafe.Add(ref c, 7 * (nint)ldc), beta, cols);
        }
    }

    // Row i of the 8-row micro-panels that start at a, blockStride floats apart, rows aRow apart within one.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float RowOf(ref float a, int i, nint aRow, nint blockStride) => ref Unsafe.Add(ref a, ((i / PackedRows) * blockStride) + ((i % PackedRows) * aRow));

    // C[1, cols] (+)= A[1, kc] * up to four consecutive panels (cols <= 4 * NR), as ceil(cols / w) vectors.
    private static void Kernel1x8<TOps, TVector>(int kc, ref float a, nint aCol, ref float panels, nint panelStride, ref float c, float beta, int cols)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        switch ((cols + TOps.Count - 1) / TOps.Count)
        {
            case 1:
                KernelRow<TOps, TVector, Count1>(kc, ref a, aCol, ref panels, panelStride, ref c, beta, cols);
                break;
            case 2:
                KernelRow<TOps, TVector, Count2>(kc, ref a, aCol, ref panels, panelStride, ref c, beta, cols);
                break;
            case 3:
                KernelRow<TOps, TVector, Count3>(kc, ref a, aCol, ref panels, panelStride, ref c, beta, cols);
                break;
            case 4:
                KernelRow<TOps, TVector, Count4>(kc, ref a, aCol, ref panels, panelStride, ref c, beta, cols);
                break;
            case 5:
                KernelRow<TOps, TVector, Count5>(kc, ref a, aCol, ref panels, panelStride, ref c, beta, cols);
                break;
            case 6:
                KernelRow<TOps, TVector, Count6>(kc, ref a, aCol, ref panels, panelStride, ref c, beta, cols);
                break;
            case 7:
                KernelRow<TOps, TVector, Count7>(kc, ref a, aCol, ref panels, panelStride, ref c, beta, cols);
                break;
            default:
                KernelRow<TOps, TVector, Count8>(kc, ref a, aCol, ref panels, panelStride, ref c, beta, cols);
                break;
        }
    }

    // Each output element keeps its own k-ascending chain, as in the other kernels. Vectors past cols are not
    // computed (their panels may not exist); the count is a type, so the JIT drops the branches on it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private static void KernelRow<TOps, TVector, TCount>(int kc, ref float a, nint aCol, ref float panels, nint panelStride, ref float c, float beta, int cols)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        where TCount : struct, ICount
    {
        nint w = TOps.Count, pw = 2 * w;
        int vectors = TCount.Value;
        TVector c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero, c4 = TOps.Zero, c5 = TOps.Zero, c6 = TOps.Zero, c7 = TOps.Zero;

        // Absent panels alias the first, so no reference points past the packed block; they are never read.
        ref float p1 = ref vectors > 2 ? ref Unsafe.Add(ref panels, panelStride) : ref panels;
        ref float p2 = ref vectors > 4 ? ref Unsafe.Add(ref panels, 2 * panelStride) : ref panels;
        ref float p3 = ref vectors > 6 ? ref Unsafe.Add(ref panels, 3 * panelStride) : ref panels;
        for (nint p = 0; p < kc; p++)
        {
            nint bOffset = p * pw;
            TVector x = TOps.Broadcast(Unsafe.Add(ref a, p * aCol));
            c0 = TOps.MultiplyAdd(x, TOps.Load(ref panels, bOffset), c0);
            if (vectors > 1)
            {
                c1 = TOps.MultiplyAdd(x, TOps.Load(ref panels, bOffset + w), c1);
            }

            if (vectors > 2)
            {
                c2 = TOps.MultiplyAdd(x, TOps.Load(ref p1, bOffset), c2);
            }

            if (vectors > 3)
            {
                c3 = TOps.MultiplyAdd(x, TOps.Load(ref p1, bOffset + w), c3);
            }

            if (vectors > 4)
            {
                c4 = TOps.MultiplyAdd(x, TOps.Load(ref p2, bOffset), c4);
            }

            if (vectors > 5)
            {
                c5 = TOps.MultiplyAdd(x, TOps.Load(ref p2, bOffset + w), c5);
            }

            if (vectors > 6)
            {
                c6 = TOps.MultiplyAdd(x, TOps.Load(ref p3, bOffset), c6);
            }

            if (vectors > 7)
            {
                c7 = TOps.MultiplyAdd(x, TOps.Load(ref p3, bOffset + w), c7);
            }
        }

        int panelWidth = (int)pw;
        StoreRow<TOps, TVector>(c0, c1, ref c, beta, Math.Min(cols, panelWidth));
        if (cols > panelWidth)
        {
            StoreRow<TOps, TVector>(c2, c3, ref Unsafe.Add(ref c, pw), beta, Math.Min(cols - panelWidth, panelWidth));
        }

        if (cols > 2 * panelWidth)
        {
            StoreRow<TOps, TVector>(c4, c5, ref Unsafe.Add(ref c, 2 * pw), beta, Math.Min(cols - (2 * panelWidth), panelWidth));
        }

        if (cols > 3 * panelWidth)
        {
            StoreRow<TOps, TVector>(c6, c7, ref Unsafe.Add(ref c, 3 * pw), beta, cols - (3 * panelWidth));
        }
    }

    // C[0, 0..cols) = acc + beta * C; beta == 0 never reads C.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TOps, TVector>(TVector acc0, TVector acc1, ref float c, float beta, int cols)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint w = TOps.Count;
        if (cols == 2 * w)
        {
            if (beta != 0f)
            {
                TVector scale = TOps.Broadcast(beta);
                acc0 = TOps.MultiplyAdd(scale, TOps.Load(ref c, 0), acc0);
                acc1 = TOps.MultiplyAdd(scale, TOps.Load(ref c, w), acc1);
            }

            TOps.Store(acc0, ref c, 0);
            TOps.Store(acc1, ref c, w);
            return;
        }

        if (cols == w)
        {
            if (beta != 0f)
            {
                acc0 = TOps.MultiplyAdd(TOps.Broadcast(beta), TOps.Load(ref c, 0), acc0);
            }

            TOps.Store(acc0, ref c, 0);
            return;
        }

        StorePartialRow<TOps, TVector>(acc0, acc1, ref c, beta, cols);
    }

    // Inlined (no call): a call inside the kernel would make the JIT spill every live accumulator in the k loop,
    // because all vector registers are caller-saved on x64. Hence an inline array rather than stackalloc.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePartialRow<TOps, TVector>(TVector acc0, TVector acc1, ref float c, float beta, int cols)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        Unsafe.SkipInit(out PanelRow tmp);
        ref float t = ref tmp[0];
        TOps.Store(acc0, ref t, 0);
        TOps.Store(acc1, ref t, TOps.Count);
        for (int j = 0; j < cols; j++)
        {
            // The same FMA as the full-width path, so edge and interior tiles round alike.
            Unsafe.Add(ref c, j) = beta != 0f ? float.MultiplyAddEstimate(beta, Unsafe.Add(ref c, j), Unsafe.Add(ref t, j)) : Unsafe.Add(ref t, j);
        }
    }

    // The specification: plain loops over the packed block, one k-ascending sum per element.
    private static void RunPanelsScalar(int m, int n, int kc, ref float a, nint aRow, nint aCol, ref float packed, float beta, ref float c, int ldc, scoped in SecondOperand second)
    {
        int pw = PanelWidthOf(VectorWidth.Scalar);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                ref float bColumn = ref Unsafe.Add(ref packed, ((nint)(j / pw) * kc * pw) + (j % pw));
                float sum = 0f;
                for (nint p = 0; p < kc; p++)
                {
                    sum += Unsafe.Add(ref a, (i * aRow) + (p * aCol)) * Unsafe.Add(ref bColumn, p * pw);
                }

                // MultiplyPackedPair's second product: the same sum goes on.
                ref float b2Column = ref Unsafe.Add(ref second.Packed, ((nint)(j / pw) * second.K * pw) + (j % pw));
                for (nint p = 0; p < second.K; p++)
                {
                    sum += Unsafe.Add(ref second.A, (i * second.ARow) + p) * Unsafe.Add(ref b2Column, p * pw);
                }

                ref float cij = ref Unsafe.Add(ref c, ((nint)i * ldc) + j);
                cij = beta != 0f ? sum + (beta * cij) : sum;
            }
        }
    }

    private static void ScaleRows(int m, int n, float beta, ref float c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            Span<float> row = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref c, (nint)i * ldc), n);
            if (beta == 0f)
            {
                row.Clear();
            }
            else if (beta != 1f)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }

    private static void ValidateSizes(int m, int n, int k)
    {
        ThrowHelper.ThrowIfNegative(m);
        ThrowHelper.ThrowIfNegative(n);
        ThrowHelper.ThrowIfNegative(k);
    }

    // A stored operand for op(X)[rows, cols] needs ld >= stored columns and (storedRows - 1) * ld + storedCols elements.
    private static void ValidateOperand(MatrixOp op, int rows, int cols, ReadOnlySpan<float> x, int ld, string name, string ldName)
    {
        (int storedRows, int storedCols) = op == MatrixOp.None ? (rows, cols) : (cols, rows);
        if (ld < Math.Max(1, storedCols))
        {
            ThrowHelper.ThrowArgument(ldName, $"leading dimension must be at least {Math.Max(1, storedCols)}, was {ld}");
        }

        long needed = storedRows == 0 || storedCols == 0 ? 0 : ((long)(storedRows - 1) * ld) + storedCols;
        if (x.Length < needed)
        {
            ThrowHelper.ThrowArgument(name, $"expected at least {needed} elements for a [{storedRows}, {storedCols}] matrix with stride {ld}, got {x.Length}");
        }
    }

    /// <summary>A count from 1 to 8 (a register block's rows, a single-row kernel's vectors), as a type the JIT specializes on.</summary>
    private interface ICount
    {
        static abstract int Value { get; }
    }

    private readonly struct Count1 : ICount
    {
        public static int Value => 1;
    }

    private readonly struct Count2 : ICount
    {
        public static int Value => 2;
    }

    private readonly struct Count3 : ICount
    {
        public static int Value => 3;
    }

    private readonly struct Count4 : ICount
    {
        public static int Value => 4;
    }

    private readonly struct Count5 : ICount
    {
        public static int Value => 5;
    }

    private readonly struct Count6 : ICount
    {
        public static int Value => 6;
    }

    private readonly struct Count7 : ICount
    {
        public static int Value => 7;
    }

    private readonly struct Count8 : ICount
    {
        public static int Value => 8;
    }

    /// <summary>Which of an NR-wide column block's two vectors a kernel computes (a type, so the JIT drops the other).</summary>
    private interface IPanelHalves
    {
        /// <summary>Both vectors; otherwise only the first, for a tail of at most one vector's columns.</summary>
        static abstract bool Both { get; }
    }

    private readonly struct BothHalves : IPanelHalves
    {
        public static bool Both => true;
    }

    private readonly struct FirstHalf : IPanelHalves
    {
        public static bool Both => false;
    }

    /// <summary>
    /// Whether a kernel's chains go on through a second product (<see cref="MultiplyPackedPair"/>), and whether it asks
    /// for the next panel meanwhile (<see cref="RunColumnBlock"/>): types, so the JIT drops the loop back and the hint's
    /// test from the kernels that have none.
    /// </summary>
    private interface IProductCount
    {
        static abstract bool Two { get; }

        static abstract bool FetchesNextPanel { get; }
    }

    private readonly struct OneProduct : IProductCount
    {
        public static bool Two => false;

        public static bool FetchesNextPanel => false;
    }

    private readonly struct OneStreamedProduct : IProductCount
    {
        public static bool Two => false;

        public static bool FetchesNextPanel => true;
    }

    private readonly struct TwoProducts : IProductCount
    {
        public static bool Two => true;

        public static bool FetchesNextPanel => false;
    }

    /// <summary>
    /// The second product of <see cref="MultiplyPackedPair"/>: A [M, K] read in place with rows <see cref="ARow"/> apart,
    /// B [K, N] packed whole as <see cref="PackB"/> packs it; <see cref="K"/> = 0 (the default) means there is none.
    /// </summary>
    private readonly ref struct SecondOperand
    {
        public readonly ref float A;
        public readonly nint ARow;
        public readonly ref float Packed;
        public readonly int K;

        public SecondOperand(ref float a, nint aRow, ref float packed, int k)
        {
            A = ref a;
            ARow = aRow;
            Packed = ref packed;
            K = k;
        }
    }

    /// <summary>One row of a 32-wide panel, on the stack.</summary>
    [InlineArray(MaxPanelWidth)]
    private struct PanelRow
    {
        private float _element;
    }
}
