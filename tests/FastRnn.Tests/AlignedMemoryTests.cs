// Legend: M rows of C, N columns of C, K reduction length.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn.Tests;

public class AlignedMemoryTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(4096)]
    [InlineData(300_000)]
    public void Allocate_gives_zeroed_floats_from_a_cache_line_boundary(int length)
    {
        for (int round = 0; round < 8; round++)
        {
            Memory<float> buffer = AlignedMemory.Allocate(length);
            Assert.Equal(length, buffer.Length);
            Assert.All(buffer.ToArray(), value => Assert.Equal(0f, value));
            if (length > 0)
            {
                Assert.Equal(0, AddressOf(buffer.Span) % AlignedMemory.Alignment);
            }

            // Something between the allocations, so they do not all land at the same offset by accident.
            GC.KeepAlive(new byte[round * 24]);
        }
    }

    [Fact]
    public void Allocate_rejects_a_negative_length()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => AlignedMemory.Allocate(-1));
        Assert.Equal("length", error.ParamName);
    }

    [Fact]
    public void The_thread_scratch_starts_a_cache_line_on_every_thread()
    {
        Assert.Equal(0, AddressOf(Gemm.ThreadScratch) % AlignedMemory.Alignment);
        Assert.True(Gemm.ThreadScratch.Length >= Gemm.ScratchLength);
        long otherThread = -1;
        var thread = new Thread(() => otherThread = AddressOf(Gemm.ThreadScratch) % AlignedMemory.Alignment);
        thread.Start();
        thread.Join();
        Assert.Equal(0, otherThread);

        // A larger request reallocates, still aligned, and keeps the length asked for.
        Span<float> larger = Gemm.ThreadScratchOf(Gemm.ScratchLength + 1000);
        Assert.True(larger.Length >= Gemm.ScratchLength + 1000);
        Assert.Equal(0, AddressOf(larger) % AlignedMemory.Alignment);
    }

    // Alignment may change the speed of the vector loads, never a value: the same product with the packed B and the
    // scratch one float off a cache line gives the same bits as on one, at every vector width.
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    public void Products_do_not_depend_on_where_the_operands_start(int floatsPerVector)
    {
        using var _ = new WidthLimit((VectorWidth)floatsPerVector);
        var random = new Random(5);
        foreach ((int m, int n, int k) in (ReadOnlySpan<(int, int, int)>)[(1, 100, 65), (1, 400, 100), (5, 33, 17), (16, 512, 128), (70, 96, 300)])
        {
            float[] a = AllocationTests.RandomValues(random, m * k), b = AllocationTests.RandomValues(random, n * k);
            int packedLength = Gemm.PackedLength(k, n);
            Memory<float> aligned = AlignedMemory.Allocate(packedLength + 1);
            Span<float> packedOn = aligned.Span[..packedLength], packedOff = aligned.Span.Slice(1, packedLength);
            float[] onLine = new float[m * n], offLine = new float[m * n];

            Gemm.PackB(MatrixOp.Transpose, k, n, b, k, packedOn);
            Gemm.MultiplyPacked(MatrixOp.None, m, n, k, a, k, packedOn, 0f, onLine, n);
            Gemm.PackB(MatrixOp.Transpose, k, n, b, k, packedOff);
            Gemm.MultiplyPacked(MatrixOp.None, m, n, k, a, k, packedOff, 0f, offLine, n);
            Assert.Equal(onLine, offLine);

            // Multiply packs B in blocks of KC rows (one chain per block), so it is compared with itself.
            Memory<float> scratch = AlignedMemory.Allocate(Gemm.ScratchLength + 1);
            Gemm.Multiply(MatrixOp.None, MatrixOp.Transpose, m, n, k, a, k, b, k, 0f, onLine, n, scratch.Span[..Gemm.ScratchLength]);
            Gemm.Multiply(MatrixOp.None, MatrixOp.Transpose, m, n, k, a, k, b, k, 0f, offLine, n, scratch.Span[1..]);
            Assert.Equal(onLine, offLine);
        }
    }

    // The address of a span over pinned memory, without unsafe code: a pinned anchor's address plus the distance to it.
    private static long AddressOf(Span<float> span)
    {
        float[] anchor = GC.AllocateArray<float>(1, pinned: true);
        long anchorAddress = Marshal.UnsafeAddrOfPinnedArrayElement(anchor, 0);
        return anchorAddress + Unsafe.ByteOffset(ref anchor[0], ref MemoryMarshal.GetReference(span));
    }
}
