// At batch 1 the passes take their own paths: the forward's one-row product over the packed W_hh, and the backward's
// dh_{t-1} = dG_t * W_hh one row at a time over W_hh as stored, or over a copy with rows on cache-line boundaries when
// the stored rows are not (always for H not a multiple of 16) and the pass has 16 steps or more. Each gives every element the chain the batched products
// give it, so a sequence run alone must give, bit for bit, its row of the same sequence in a batch of two.
using FastRnn.Kernels;
using FastRnn.Layers;

namespace FastRnn.Tests;

public class BatchOneTests
{
    [Theory]
    [InlineData(0, 25, 100)]
    [InlineData(1, 25, 100)]
    [InlineData(2, 25, 100)]
    [InlineData(1, 16, 40)]
    [InlineData(2, 15, 40)]
    [InlineData(0, 8, 100)]
    [InlineData(1, 8, 100)]
    [InlineData(2, 30, 128)]
    [InlineData(1, 20, 17)]
    public void A_sequence_alone_gives_its_row_of_a_batch_of_two(int cell, int T, int H)
    {
        const int I = 65;
        foreach (VectorWidth width in (VectorWidth[])[VectorWidth.W128, VectorWidth.W256, VectorWidth.W512])
        {
            using var _ = new WidthLimit(width);
            var random = new Random((cell * 100) + T + H);
            float[] x = AllocationTests.RandomValues(random, T * 2 * I), dOutput = AllocationTests.RandomValues(random, T * 2 * H), h0 = AllocationTests.RandomValues(random, 2 * H);

            (float[] output, float[] dX, float[] dh0) pair = Run(cell, I, H, T, 2, x, dOutput, h0);
            (float[] output, float[] dX, float[] dh0) alone = Run(cell, I, H, T, 1, Column(x, T, 2, I), Column(dOutput, T, 2, H), h0[..H]);

            RnnHarness.AssertBitwiseEqual(alone.output, Column(pair.output, T, 2, H), $"output, width {width}");
            RnnHarness.AssertBitwiseEqual(alone.dX, Column(pair.dX, T, 2, I), $"dX, width {width}");
            RnnHarness.AssertBitwiseEqual(alone.dh0, pair.dh0.AsSpan(0, H), $"dh0, width {width}");
        }
    }

    private static (float[] Output, float[] DX, float[] Dh0) Run(int cell, int I, int H, int T, int B, float[] x, float[] dOutput, float[] h0)
    {
        var store = new ParameterStore();
        RecurrentLayer layer = cell switch
        {
            0 => new ElmanLayer(store, I, H, seed: 7),
            1 => new LstmLayer(store, I, H, seed: 7),
            _ => new GruLayer(store, I, H, seed: 7),
        };
        RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
        float[] output = new float[T * B * H], dX = new float[T * B * I], dh0 = new float[B * H];
        layer.Forward(x, T, B, output, workspace, h0);
        layer.Backward(dOutput, workspace, dX, dh0);
        return (output, dX, dh0);
    }

    // Batch position 0 of a [T, B, width] tensor, as [T, 1, width].
    private static float[] Column(float[] values, int T, int B, int width)
    {
        float[] column = new float[T * width];
        for (int t = 0; t < T; t++)
        {
            values.AsSpan(t * B * width, width).CopyTo(column.AsSpan(t * width));
        }

        return column;
    }
}
