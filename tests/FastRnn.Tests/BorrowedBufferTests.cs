// Legend: T time steps, B batch, I input size, H hidden size, L layers, D directions.
// With CopiesInputAndOutput off the passes read x and keep the states where the caller keeps them. Whatever the
// caller's buffers overlap and however the stack is built, the results must be the bits of the copying mode: where
// a write of the pass itself (the output, a final state) would land on what the backward reads, the pass copies.
using FastRnn.Layers;
using FastRnn.Threading;

namespace FastRnn.Tests;

public class BorrowedBufferTests
{
    private static float[] Values(Random random, int count) => Enumerable.Range(0, count).Select(_ => (2 * random.NextSingle()) - 1).ToArray();

    /// <summary>
    /// A stack whose output is its input's array (I = D*H): the last layer's output (L = 2) or the bidirectional
    /// interleave (L = 1) overwrites x after the first layer's pass, so that layer must copy x.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Elman, 2, false, 20)]
    [InlineData(CellKind.Lstm, 1, true, 20)]
    [InlineData(CellKind.Gru, 2, false, 3)]
    [InlineData(CellKind.Elman, 1, true, 3)]
    [InlineData(CellKind.Lstm, 1, false, 18)]
    public void A_stack_output_over_its_input_gives_the_bits_of_copying(CellKind cell, int L, bool bidirectional, int B)
    {
        const int T = 4, H = 8;
        float[][] Run(bool borrow)
        {
            int I = (bidirectional ? 2 : 1) * H;
            var store = new ParameterStore();
            var stack = new RecurrentStack(store, cell, I, H, L, bidirectional, Nonlinearity.Tanh, 0f, 7);
            StackWorkspace workspace = stack.CreateWorkspace(T, B);
            workspace.CopiesInputAndOutput = !borrow;
            var random = new Random(3);
            float[] buffer = Values(random, T * B * I), dOutput = Values(random, T * B * I), dX = new float[T * B * I];
            stack.Forward(buffer, T, B, buffer, workspace);
            if (borrow)
            {
                stack.Backward(buffer, buffer, dOutput, workspace, dX);
            }
            else
            {
                stack.Backward(dOutput, workspace, dX);
            }

            return [buffer, dX, store.Gradients.ToArray()];
        }

        AssertEachBitwiseEqual(Run(borrow: true), Run(borrow: false), "output", "dX", "parameter gradients");
    }

    /// <summary>
    /// A layer whose h_n (or LSTM c_n) lies inside its output or its input: written after the time loop, it would land
    /// on the states or the x the backward reads, so the pass copies both.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Elman, "hN in output")]
    [InlineData(CellKind.Gru, "hN in x")]
    [InlineData(CellKind.Lstm, "cN in output")]
    [InlineData(CellKind.Lstm, "hN in x")]
    public void A_final_state_over_x_or_the_output_gives_the_bits_of_copying(CellKind cell, string where)
    {
        const int T = 5, B = 16, H = 12, I = H;
        float[][] Run(bool borrow)
        {
            var store = new ParameterStore();
            RecurrentLayer layer = cell switch
            {
                CellKind.Lstm => new LstmLayer(store, I, H, seed: 2),
                CellKind.Gru => new GruLayer(store, I, H, seed: 2),
                _ => new ElmanLayer(store, I, H, Nonlinearity.Tanh, seed: 2),
            };
            RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
            workspace.CopiesInputAndOutput = !borrow;
            var random = new Random(9);

            // One array: x at [0, T*B*I), the output after it; the final state inside one of them.
            float[] buffer = Values(random, (T * B * I) + (T * B * H)), dOutput = Values(random, T * B * H), dX = new float[T * B * I];
            Span<float> x = buffer.AsSpan(0, T * B * I), output = buffer.AsSpan(T * B * I, T * B * H);
            Span<float> inside = where.EndsWith("output", StringComparison.Ordinal) ? output.Slice(B * H, B * H) : x.Slice(2 * B * I, B * H);
            Span<float> separate = new float[B * H];
            bool cellState = where.StartsWith("cN", StringComparison.Ordinal);
            if (layer is LstmLayer lstm)
            {
                lstm.Forward(x, T, B, output, workspace, default, default, default, cellState ? separate : inside, cellState ? inside : separate);
                Assert.False(workspace.ReadsInputInPlace || workspace.StatesInOutput);
                lstm.Backward(borrow ? x : default, borrow ? output : default, dOutput, workspace, dX, default, default);
            }
            else
            {
                layer.Forward(x, T, B, output, workspace, finalHidden: inside);
                Assert.False(workspace.ReadsInputInPlace || workspace.StatesInOutput);
                layer.Backward(borrow ? x : default, borrow ? output : default, dOutput, workspace, dX);
            }

            return [buffer, dX, store.Gradients.ToArray()];
        }

        AssertEachBitwiseEqual(Run(borrow: true), Run(borrow: false), "x, output and the final state", "dX", "parameter gradients");
    }

    /// <summary>
    /// Stacks past what the stack property test draws: B = 17 and 20 (the per-step products, so a reverse layer reads x
    /// in place too), equal lengths shorter than T, dropout, 2-3 workers, initial and final states and their gradients.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Lstm, 3, true, 0.3f, 20, -1, 0)]
    [InlineData(CellKind.Gru, 3, false, 0.3f, 20, 5, 2)]
    [InlineData(CellKind.Elman, 2, true, 0f, 17, 7, 2)]
    [InlineData(CellKind.Elman, 3, false, 0f, 20, -1, 3)]
    [InlineData(CellKind.Lstm, 1, false, 0f, 18, 6, 2)]
    public void Larger_stacks_that_borrow_give_the_bits_of_copying(CellKind cell, int L, bool bidirectional, float dropout, int B, int commonLength, int threads)
    {
        const int T = 9, I = 24, H = 40;
        int D = bidirectional ? 2 : 1;
        using WorkerPool? pool = threads > 0 ? new WorkerPool(threads) : null;
        float[][] Run(bool borrow)
        {
            var store = new ParameterStore();
            var stack = new RecurrentStack(store, cell, I, H, L, bidirectional, Nonlinearity.Tanh, dropout, 11);
            StackWorkspace workspace = stack.CreateWorkspace(T, B, pool);
            workspace.CopiesInputAndOutput = !borrow;
            foreach (RecurrentWorkspace layer in workspace.Layers)
            {
                layer.UseAllWorkers = pool is not null;
            }

            var random = new Random(5);
            float[] x = Values(random, T * B * I), dOutput = Values(random, T * B * D * H), h0 = Values(random, L * D * B * H), dhN = Values(random, L * D * B * H);
            float[] output = new float[T * B * D * H], hN = new float[L * D * B * H], dX = new float[T * B * I], dh0 = new float[L * D * B * H];
            int[] lengths = commonLength >= 0 ? Enumerable.Repeat(commonLength, B).ToArray() : [];
            stack.Forward(x, T, B, output, workspace, lengths, h0, default, hN, default, training: dropout > 0);
            Assert.Equal(borrow, workspace.LayerWorkspace(0, D - 1).ReadsInputInPlace);
            stack.Backward(borrow ? x : default, borrow ? output : default, dOutput, workspace, dX, dh0, default, dhN);
            return [output, hN, dX, dh0, store.Gradients.ToArray()];
        }

        AssertEachBitwiseEqual(Run(borrow: true), Run(borrow: false), "output", "h_n", "dX", "dh0", "parameter gradients");
    }

    private static void AssertEachBitwiseEqual(float[][] borrowed, float[][] copied, params string[] names)
    {
        for (int i = 0; i < names.Length; i++)
        {
            RnnHarness.AssertBitwiseEqual(borrowed[i], copied[i], names[i]);
        }
    }
}
