// SequenceModel is the pipeline of PipelinePropertyTests behind one call: it must equal the pieces run by hand, bit for bit.
using FastRnn.Layers;
using FastRnn.Training;
using FsCheck.Xunit;

namespace FastRnn.Tests;

public class SequenceModelTests
{
    [Property(MaxTest = 30)]
    public void Model_equals_its_pieces_run_by_hand(int seed)
    {
        var random = new Random(seed);
        int T = random.Next(1, 6), B = random.Next(1, 4), V = random.Next(2, 9), C = random.Next(2, 6);
        var output = random.Next(2) == 0 ? SequenceOutput.EveryStep : SequenceOutput.LastStep;
        var options = new SequenceModelOptions(V, random.Next(1, 6), (CellKind)random.Next(3), random.Next(1, 6), C,
            random.Next(1, 3), random.Next(2) == 0, output, Seed: seed);
        int[] tokens = Enumerable.Range(0, T * B).Select(_ => random.Next(V)).ToArray();
        // Full-length batches too: the model's stack then reads x and keeps its last layer's states in place.
        bool full = random.Next(2) == 0;
        int[] lengths = Enumerable.Range(0, B).Select(_ => full ? T : random.Next(T + 1)).ToArray();
        int rows = output == SequenceOutput.LastStep ? B : T * B;
        int[] targets = Enumerable.Range(0, rows).Select(_ => random.Next(C)).ToArray();

        var model = new SequenceModel(options);
        SequenceModelWorkspace workspace = model.CreateWorkspace(T, B);
        float loss = model.Forward(tokens, T, B, targets, workspace, lengths);
        RecurrentWorkspace first = workspace.Stack.LayerWorkspace(0), last = workspace.Stack.LayerWorkspace(options.LayerCount - 1);
        bool equal = lengths.Distinct().Count() == 1;
        Assert.True(first.BorrowsInput);
        Assert.Equal(equal, first.ReadsInputInPlace);
        Assert.Equal(equal && !options.Bidirectional, last.StatesInOutput);
        model.Backward(workspace);
        float[] gradients = model.Store.Gradients.ToArray();
        float[] logits = workspace.Logits.ToArray();

        // The same parameters through the pieces.
        var twin = new SequenceModel(options);
        Assert.Equal(model.Store.Values.ToArray(), twin.Store.Values.ToArray());
        int E = options.EmbeddingSize, DH = twin.Stack.OutputSize, D = twin.Stack.DirectionCount;
        bool[] tokenMask = new bool[T * B], rowMask = new bool[rows];
        SequenceMask.FromLengths(lengths, T, B, tokenMask);
        if (output == SequenceOutput.LastStep)
        {
            SequenceMask.NonEmpty(lengths, rowMask);
        }
        else
        {
            tokenMask.CopyTo(rowMask, 0);
        }

        float[] x = new float[T * B * E], hidden = new float[T * B * DH], features = new float[rows * DH], expectedLogits = new float[rows * C];
        float[] dLogits = new float[rows * C], dFeatures = new float[rows * DH], dHidden = new float[T * B * DH], dx = new float[T * B * E];
        StackWorkspace stackWorkspace = twin.Stack.CreateWorkspace(T, B);
        twin.Embedding.Forward(tokens, x, tokenMask);
        twin.Stack.Forward(x, T, B, hidden, stackWorkspace, lengths, training: true);
        if (output == SequenceOutput.LastStep)
        {
            SequencePooling.LastValidStep(hidden, T, B, D, lengths, features);
        }
        else
        {
            hidden.CopyTo(features, 0);
        }

        twin.Head.Forward(features, rows, expectedLogits);
        float expectedLoss = Losses.SoftmaxCrossEntropy(expectedLogits, targets, C, dLogits, validRows: rowMask);
        twin.Head.Backward(features, dLogits, rows, dFeatures);
        if (output == SequenceOutput.LastStep)
        {
            SequencePooling.LastValidStepBackward(dFeatures, T, B, D, lengths, dHidden);
        }
        else
        {
            dFeatures.CopyTo(dHidden, 0);
        }

        twin.Stack.Backward(dHidden, stackWorkspace, dx);
        twin.Embedding.Backward(tokens, dx, tokenMask);

        Assert.Equal(expectedLoss, loss);
        RnnHarness.AssertBitwiseEqual(logits, expectedLogits, "logits");
        RnnHarness.AssertBitwiseEqual(gradients, twin.Store.Gradients, "gradients");
    }

    [Fact]
    public void Bad_tokens_or_targets_throw_before_anything_is_written()
    {
        var model = new SequenceModel(new SequenceModelOptions(5, 3, CellKind.Gru, 4, 3, Output: SequenceOutput.LastStep));
        SequenceModelWorkspace workspace = model.CreateWorkspace(4, 2);
        float[] before = model.Store.Values.ToArray();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([0, 1, 2, 3, 4, 5, 0, 0], 4, 2, [0, 1], workspace));
        Assert.Contains("tokens[5] must be in 0..4, was 5", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([0, 1, 2, 3, 4, 4, 0, 0], 4, 2, [0, 3], workspace));
        Assert.Contains("targets[1] must be in 0..2", e.Message);
        Assert.Throws<ArgumentException>(() => model.Forward([0, 1, 2, 3, 4, 4, 0, 0], 4, 2, [0, 1, 2], workspace));
        Assert.Throws<ArgumentException>(() => model.Backward(workspace));
        Assert.Equal(before, model.Store.Values.ToArray());

        // Ids beyond a sequence's length are not read.
        model.Forward([0, 1, 2, -9, 4, -9, 0, -9], 4, 2, [0, 1], workspace, lengths: [4, 1]);
    }
}
