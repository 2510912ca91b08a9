using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn.Kernels;

/// <summary>
/// Float buffers whose first element starts a 64-byte cache line, for the operands the GEMM reads as whole vectors:
/// the packed B of <see cref="Gemm.PackB"/> and the scratch of <see cref="Gemm.Multiply(MatrixOp, MatrixOp, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, Span{float})"/>.
/// </summary>
/// <remarks>
/// Every k of a packed panel is one or two whole cache lines, which the micro-kernels load as 64-byte vectors with
/// AVX-512. Off a line boundary each such load touches two lines; a plain <c>new float[]</c> starts at 16 bytes past
/// an 8-byte aligned object, so on the line boundary only by chance (large arrays were 0, 8, 16, 24, 40, 48 or 56 bytes
/// past one). Measured on an Emerald Rapids Xeon, batch-1 products <c>[1, K] x [K, 4K]</c> with the packed B in L2:
/// 52-66 GFLOP/s aligned against 33-37 GFLOP/s four bytes off (K = 64 to 256). The buffers are pinned (the pinned
/// object heap never moves them), so the alignment lasts.
/// </remarks>
public static class AlignedMemory
{
    /// <summary>Bytes the first element is aligned to: one cache line.</summary>
    public const int Alignment = 64;

    /// <summary>A pinned buffer of <paramref name="length"/> floats, zeroed, whose first float is <see cref="Alignment"/>-byte aligned.</summary>
    /// <param name="length">Floats in the buffer; zero or more.</param>
    /// <returns>The buffer; its span is <paramref name="length"/> floats long.</returns>
    public static Memory<float> Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        float[] array = AllocateArray(length, out int start);
        return array.AsMemory(start, length);
    }

    /// <summary>
    /// Whether <paramref name="span"/> starts at an <see cref="Alignment"/>-byte boundary now. Over an unpinned array
    /// the answer can change when the GC moves it; callers use it to choose a faster path, never for a result.
    /// </summary>
    internal static unsafe bool IsAligned(ReadOnlySpan<float> span)
        => ((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span)) & (Alignment - 1)) == 0;

    /// <summary>
    /// A pinned array with room for <paramref name="length"/> floats from <paramref name="start"/> on, the first of
    /// them <see cref="Alignment"/>-byte aligned.
    /// </summary>
    internal static unsafe float[] AllocateArray(int length, out int start)
    {
        const int slack = Alignment / sizeof(float);
        if (length > Array.MaxLength - slack)
        {
            ThrowHelper.ThrowArgument(nameof(length), $"{length} floats and {slack} of alignment slack are more than one array can hold");
        }

        float[] array = GC.AllocateArray<float>(length + slack, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref array[0]);
        start = (int)((Alignment - (address % Alignment)) % Alignment / sizeof(float));
        return array;
    }
}
