// Once the workspace exists, a whole training step (forward, head, loss, backward, optimizer) allocates nothing.
using FastRnn.Layers;
using FastRnn.Testing;
using FastRnn.Training;

namespace FastRnn.Tests;

/// <summary>
/// Allocation measurements run alone: a garbage collection triggered by tests allocating on other threads retires this
/// thread's allocation context, and GetAllocatedBytesForCurrentThread then reports its unused remainder (seen: 3-4 KB)
/// although nothing was allocated.
/// </summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public sealed class AllocationCollection;

[Collection(nameof(AllocationTests))]
public class AllocationTests
{
    private const int T = 9, B = 5, I = 6, H = 17, C = 4;

    [Theory]
    [InlineData(Nonlinearity.Tanh, false)]
    [InlineData(Nonlinearity.Sigmoid, true)]
    [InlineData(Nonlinearity.Relu, false)]
    [InlineData(Nonlinearity.LeakyRelu, true)]
    public void Many_to_many_cross_entropy_training_step_allocates_nothing(Nonlinearity nonlinearity, bool reverse)
    {
        var store = new ParameterStore();
        var rnn = new ElmanLayer(store, I, H, nonlinearity, reverse: reverse, seed: 1);
        var head = new LinearHead(store, H, C, seed: 2);
        var sgd = new Sgd(0.01f);
        RecurrentWorkspace workspace = rnn.CreateWorkspace(T, B);
        var random = new Random(3);
        float[] x = RandomValues(random, T * B * I), h0 = RandomValues(random, B * H);
        float[] output = new float[T * B * H], hN = new float[B * H], logits = new float[T * B * C], dLogits = new float[T * B * C];
        float[] dOutput = new float[T * B * H], dX = new float[T * B * I], dh0 = new float[B * H];
        int[] lengths = [9, 0, 4, 9, 1];
        int[] targets = new int[T * B];
        for (int r = 0; r < targets.Length; r++)
        {
            targets[r] = r % 7 == 0 ? -100 : random.Next(C);
        }

        bool[] mask = new bool[T * B];

        void Step()
        {
            store.ZeroGradients();
            rnn.Forward(x, T, B, output, workspace, h0, lengths, hN);
            head.Forward(output, T * B, logits);
            SequenceMask.FromLengths(lengths, T, B, mask);
            Losses.SoftmaxCrossEntropy(logits, targets, C, dLogits, validRows: mask);
            head.Backward(output, dLogits, T * B, dOutput);
            rnn.Backward(dOutput, workspace, dX, dh0, truncationWindow: reverse ? 0 : 4);
            sgd.Step(store);
        }

        AssertNoAllocation(Step);
    }

    [Fact]
    public void Many_to_one_mse_training_step_allocates_nothing()
    {
        var store = new ParameterStore();
        var rnn = new ElmanLayer(store, I, H, seed: 1);
        var head = new LinearHead(store, H, 2, seed: 2);
        var sgd = new Sgd(0.01f);
        RecurrentWorkspace workspace = rnn.CreateWorkspace(T, B);
        var random = new Random(4);
        float[] x = RandomValues(random, T * B * I), target = RandomValues(random, B * 2);
        float[] output = new float[T * B * H], hN = new float[B * H], prediction = new float[B * 2], dPrediction = new float[B * 2], dhN = new float[B * H];
        int[] lengths = [3, 9, 0, 9, 2];
        bool[] mask = new bool[B];

        void Step()
        {
            store.ZeroGradients();
            rnn.Forward(x, T, B, output, workspace, lengths: lengths, finalHidden: hN);
            head.Forward(hN, B, prediction);
            SequenceMask.NonEmpty(lengths, mask);
            Losses.MeanSquaredError(prediction, target, 2, dPrediction, validRows: mask);
            head.Backward(hN, dPrediction, B, dhN);
            rnn.Backward(default, workspace, finalHiddenGradient: dhN);
            sgd.Step(store);
        }

        AssertNoAllocation(Step);
    }

    /// <summary>
    /// B = 20: the per-step input products, fused with the recurrent ones (SequenceDriver.FusesStepProducts). With
    /// borrowInput, full-length sequences and CopiesInputAndOutput off: the passes read x (and the GRU its input, the
    /// LSTM's output) and keep their states in their outputs.
    /// </summary>
    [Theory]
    [InlineData(false, B, false)]
    [InlineData(true, B, false)]
    [InlineData(false, 20, false)]
    [InlineData(true, 20, false)]
    [InlineData(false, B, true)]
    [InlineData(true, 20, true)]
    public void Lstm_and_gru_training_steps_allocate_nothing(bool reverse, int batch, bool borrowInput)
    {
        var store = new ParameterStore();
        var lstm = new LstmLayer(store, I, H, reverse: reverse, seed: 1);
        var gru = new GruLayer(store, H, H, layerIndex: 1, reverse: reverse, seed: 2);
        var head = new LinearHead(store, H, C, seed: 3);
        var sgd = new Sgd(0.01f);
        RecurrentWorkspace lstmWorkspace = lstm.CreateWorkspace(T, batch), gruWorkspace = gru.CreateWorkspace(T, batch);
        lstmWorkspace.CopiesInputAndOutput = gruWorkspace.CopiesInputAndOutput = !borrowInput;
        var random = new Random(5);
        float[] x = RandomValues(random, T * batch * I), h0 = RandomValues(random, batch * H), c0 = RandomValues(random, batch * H);
        float[] lstmOut = new float[T * batch * H], gruOut = new float[T * batch * H], hN = new float[batch * H], cN = new float[batch * H];
        float[] logits = new float[T * batch * C], dLogits = new float[T * batch * C], dGruOut = new float[T * batch * H], dLstmOut = new float[T * batch * H];
        float[] dX = new float[T * batch * I], dh0 = new float[batch * H], dc0 = new float[batch * H];
        int[] lengths = borrowInput ? [] : BatchLengths(batch);
        int[] targets = new int[T * batch];
        for (int r = 0; r < targets.Length; r++)
        {
            targets[r] = random.Next(C);
        }

        bool[] mask = new bool[T * batch];

        void Step()
        {
            store.ZeroGradients();
            lstm.Forward(x, T, batch, lstmOut, lstmWorkspace, h0, c0, lengths, hN, cN);
            gru.Forward(lstmOut, T, batch, gruOut, gruWorkspace, lengths: lengths);
            head.Forward(gruOut, T * batch, logits);
            SequenceMask.FromLengths(lengths, T, batch, mask);
            Losses.SoftmaxCrossEntropy(logits, targets, C, dLogits, validRows: mask);
            head.Backward(gruOut, dLogits, T * batch, dGruOut);
            gru.Backward(lstmOut, gruOut, dGruOut, gruWorkspace, dLstmOut, truncationWindow: reverse ? 0 : 3);
            lstm.Backward(x, lstmOut, dLstmOut, lstmWorkspace, dX, dh0, dc0, hN, cN, truncationWindow: reverse ? 0 : 2);
            sgd.Step(store);
        }

        AssertNoAllocation(Step);
        Assert.Equal(borrowInput, lstmWorkspace.ReadsInputInPlace);
        Assert.Equal(borrowInput, gruWorkspace.ReadsInputInPlace);
        Assert.Equal(borrowInput, lstmWorkspace.StatesInOutput);
    }

    /// <summary>Lengths 2, 9, 0, 5, 9, repeated to <paramref name="batch"/> sequences: a ragged batch with an empty sequence.</summary>
    internal static int[] BatchLengths(int batch)
    {
        int[] pattern = [2, 9, 0, 5, 9];
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            lengths[b] = pattern[b % pattern.Length];
        }

        return lengths;
    }

    [Theory]
    [InlineData(CellKind.Lstm, false, SequenceOutput.EveryStep)]
    [InlineData(CellKind.Lstm, true, SequenceOutput.LastStep)]
    [InlineData(CellKind.Gru, true, SequenceOutput.EveryStep)]
    [InlineData(CellKind.Elman, true, SequenceOutput.LastStep)]
    public void Embedding_stack_head_loss_backward_clip_adam_step_allocates_nothing(CellKind cell, bool bidirectional, SequenceOutput output)
    {
        var model = new SequenceModel(new SequenceModelOptions(
            VocabularySize: 11, EmbeddingSize: I, cell, HiddenSize: H, ClassCount: C, LayerCount: 2, bidirectional, output, Dropout: 0.25f, Seed: 4));
        SequenceModelWorkspace workspace = model.CreateWorkspace(T, B);
        var adam = new Adam(1e-3, weightDecay: 1e-4);
        var random = new Random(6);
        int[] tokens = new int[T * B], lengths = [9, 0, 4, 9, 1];
        int[] targets = new int[output == SequenceOutput.LastStep ? B : T * B];
        for (int n = 0; n < tokens.Length; n++)
        {
            tokens[n] = random.Next(11);
        }

        for (int r = 0; r < targets.Length; r++)
        {
            targets[r] = random.Next(C);
        }

        void Step()
        {
            model.Store.ZeroGradients();
            model.Forward(tokens, T, B, targets, workspace, lengths, training: true);
            model.Backward(workspace);
            GradientClipping.ClipByGlobalNorm(model.Store, 0.5f);
            adam.Step(model.Store);
        }

        AssertNoAllocation(Step);
    }

    // Warm-up covers the JIT tiers and the GEMM's per-thread scratch; the window is measured without a collection.
    internal static void AssertNoAllocation(Action step) => Assert.Equal(0, AllocationMeasurement.BytesAllocatedBy(step));

    internal static float[] RandomValues(Random random, int count)
    {
        float[] values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((2 * random.NextDouble()) - 1);
        }

        return values;
    }
}
