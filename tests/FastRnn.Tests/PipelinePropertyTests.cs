// Whole models, embedding -> stack -> head -> loss, many-to-many and many-to-one, against the chained double reference.
using FastRnn.Layers;
using FastRnn.Testing;
using FastRnn.Training;
using FsCheck.Xunit;
using static FastRnn.Tests.RnnHarness;

namespace FastRnn.Tests;

public class PipelinePropertyTests
{
    private const int IgnoreIndex = -100;

    [Property(MaxTest = 60)]
    public void Embedding_stack_head_and_loss_match_the_reference(int seed)
    {
        var random = new Random(seed);
        StackCase c = StackCase.Random(seed) with { H0 = null, C0 = null, DhN = null, DcN = null };
        int T = c.T, B = c.B, V = random.Next(2, 12), O = random.Next(1, 6), D = c.Directions, DH = D * c.H;
        bool manyToOne = random.Next(2) == 0, crossEntropy = random.Next(2) == 0;
        LossReduction reduction = random.Next(2) == 0 ? LossReduction.Mean : LossReduction.Sum;
        int rows = manyToOne ? B : T * B;
        int[] ids = Enumerable.Range(0, T * B).Select(_ => random.Next(V)).ToArray();
        bool[] tokenMask = new bool[T * B], rowMask = new bool[rows];
        SequenceMask.FromLengths(c.Lengths, T, B, tokenMask);
        if (manyToOne)
        {
            SequenceMask.NonEmpty(c.Lengths ?? Enumerable.Repeat(T, B).ToArray(), rowMask);
        }
        else
        {
            tokenMask.CopyTo(rowMask, 0);
        }

        for (int n = 0; n < ids.Length; n++)
        {
            ids[n] = tokenMask[n] ? ids[n] : -7; // padding ids are never read
        }

        int[] classTargets = Enumerable.Range(0, rows).Select(_ => random.Next(6) == 0 ? IgnoreIndex : random.Next(O)).ToArray();
        double[] valueTargets = StackCase.Values(random, rows * O);

        // Fast model.
        var store = new ParameterStore();
        var embedding = new Embedding(store, V, c.I, seed: seed);
        RecurrentStack stack = c.CreateStack(store);
        var head = new LinearHead(store, DH, O, seed: seed);
        StackWorkspace workspace = stack.CreateWorkspace(T, B);
        float[] x = new float[T * B * c.I], output = new float[T * B * DH], features = new float[rows * DH], logits = new float[rows * O];
        float[] dLogits = new float[rows * O], dFeatures = new float[rows * DH], dOutput = new float[T * B * DH], dx = new float[T * B * c.I];
        embedding.Forward(ids, x, tokenMask);
        stack.Forward(x, T, B, output, workspace, c.Lengths, training: true);
        if (manyToOne)
        {
            SequencePooling.LastValidStep(output, T, B, D, c.Lengths, features);
        }
        else
        {
            output.CopyTo(features, 0);
        }

        head.Forward(features, rows, logits);
        float loss = crossEntropy
            ? Losses.SoftmaxCrossEntropy(logits, classTargets, O, dLogits, reduction, IgnoreIndex, rowMask)
            : Losses.MeanSquaredError(logits, ToFloat(valueTargets), O, dLogits, reduction, rowMask);
        head.Backward(features, dLogits, rows, dFeatures);
        if (manyToOne)
        {
            SequencePooling.LastValidStepBackward(dFeatures, T, B, D, c.Lengths, dOutput);
        }
        else
        {
            dFeatures.CopyTo(dOutput, 0);
        }

        stack.Backward(dOutput, workspace, dx);
        embedding.Backward(ids, dx, tokenMask);

        // Reference: the same chain in double (the stack runs twice: once for its output, once for its gradients).
        double[] table = Array.ConvertAll(embedding.Weight.Values.ToArray(), v => (double)v);
        double[] xRef = new double[T * B * c.I];
        for (int n = 0; n < ids.Length; n++)
        {
            if (tokenMask[n])
            {
                Array.Copy(table, ids[n] * c.I, xRef, n * c.I, c.I);
            }
        }

        ReferenceRnnParameters[] parameters = StackHarness.ReferenceParameters(stack);
        double[][]? masks = StackHarness.DropoutMasks(workspace, stack, T, B);
        double[] outputRef = ReferenceStack.Run(parameters, D, T, B, xRef, c.Lengths, null, null, masks, new double[T * B * DH], null, null).Output;
        double[] featuresRef = manyToOne ? LastStep(outputRef, T, B, D, c.H, c.Lengths) : outputRef;
        double[] headWeight = Array.ConvertAll(head.Weight.Values.ToArray(), v => (double)v);
        double[] headBias = Array.ConvertAll(head.Bias!.Values.ToArray(), v => (double)v);
        double[] logitsRef = ReferenceLinear.Forward(featuresRef, headWeight, headBias, rows, DH, O);
        ReferenceLossResult lossRef = crossEntropy
            ? ReferenceLoss.SoftmaxCrossEntropy(logitsRef, classTargets, IgnoreIndex, rowMask, reduction)
            : ReferenceLoss.Mse(logitsRef, valueTargets, rowMask, O, reduction);
        ReferenceLinearGradients headRef = ReferenceLinear.Backward(featuresRef, headWeight, lossRef.Gradient, rows, DH, O);
        double[] dOutputRef = manyToOne ? ScatterLast(headRef.DX, T, B, D, c.H, c.Lengths) : headRef.DX;
        ReferenceStackResult stackRef = ReferenceStack.Run(parameters, D, T, B, xRef, c.Lengths, null, null, masks, dOutputRef, null, null);
        double[] dTable = new double[table.Length];
        for (int n = 0; n < ids.Length; n++)
        {
            for (int k = 0; tokenMask[n] && k < c.I; k++)
            {
                dTable[(ids[n] * c.I) + k] += stackRef.DX[(n * c.I) + k];
            }
        }

        string at = $"{c} many-to-one={manyToOne} CE={crossEntropy} {reduction}";
        Assert.True(Math.Abs(loss - lossRef.Loss) <= 1e-4 * Math.Max(1, Math.Abs(lossRef.Loss)), $"loss {loss} vs {lossRef.Loss} ({at})");
        AssertClose(logits, logitsRef, $"logits ({at})");
        AssertClose(head.Weight.Gradient, headRef.DWeight, $"head.weight ({at})");
        AssertClose(head.Bias.Gradient, headRef.DBias, $"head.bias ({at})");
        AssertClose(embedding.Weight.Gradient, dTable, $"embedding.weight ({at})");
        for (int k = 0; k < parameters.Length; k++)
        {
            RecurrentLayer layer = stack.Layer(k / D, k % D);
            AssertClose(layer.WeightIh.Gradient, stackRef.Layers[k].DWeightIh, $"{layer.WeightIh.Name} ({at})");
            AssertClose(layer.WeightHh.Gradient, stackRef.Layers[k].DWeightHh, $"{layer.WeightHh.Name} ({at})");
            AssertClose(layer.BiasHh.Gradient, stackRef.Layers[k].DBiasHh, $"{layer.BiasHh.Name} ({at})");
        }
    }

    [Fact]
    public void Embedding_gradient_touches_only_the_rows_used_and_bad_ids_throw_before_writing()
    {
        var store = new ParameterStore();
        var embedding = new Embedding(store, vocabularySize: 6, embeddingSize: 3, seed: 2);
        store.Gradients.Fill(float.NaN); // untouched rows must stay NaN
        int[] ids = [4, 1, 4, -1];
        bool[] valid = [true, true, true, false];
        float[] output = new float[12];
        embedding.Forward(ids, output, valid);
        Assert.Equal(embedding.Weight.Values.Slice(12, 3).ToArray(), output[..3]);
        Assert.Equal([0f, 0f, 0f], output[9..]);

        embedding.Weight.Gradient.Slice(3, 3).Clear();
        embedding.Weight.Gradient.Slice(12, 3).Clear();
        embedding.Backward(ids, [1, 2, 3, 10, 20, 30, 100, 200, 300, 5, 5, 5], valid);
        Assert.Equal([10f, 20f, 30f], embedding.Weight.Gradient.Slice(3, 3).ToArray());
        Assert.Equal([101f, 202f, 303f], embedding.Weight.Gradient.Slice(12, 3).ToArray());
        foreach (int row in (int[])[0, 2, 3, 5])
        {
            Assert.All(embedding.Weight.Gradient.Slice(row * 3, 3).ToArray(), g => Assert.True(float.IsNaN(g)));
        }

        float[] sentinel = Enumerable.Repeat(9f, 12).ToArray();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Forward([0, 6, 1, 2], sentinel));
        Assert.Contains("ids[1] must be in 0..5, was 6", e.Message);
        Assert.All(sentinel, v => Assert.Equal(9f, v));
        float[] before = store.Gradients.ToArray();
        Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Backward([0, 1, 2, -3], new float[12]));
        Assert.Equal(before, store.Gradients.ToArray());
    }

    // last[b] = [out[len-1, b, 0:H], out[0, b, H:2H]];  out: [T, B, D*H]
    private static double[] LastStep(double[] outputs, int T, int B, int D, int H, int[]? lengths)
    {
        double[] last = new double[B * D * H];
        for (int b = 0; b < B; b++)
        {
            int length = lengths?[b] ?? T;
            for (int d = 0; length > 0 && d < D; d++)
            {
                int t = d == 0 ? length - 1 : 0;
                Array.Copy(outputs, (((t * B) + b) * D * H) + (d * H), last, ((b * D) + d) * H, H);
            }
        }

        return last;
    }

    private static double[] ScatterLast(double[] dLast, int T, int B, int D, int H, int[]? lengths)
    {
        double[] dOutputs = new double[T * B * D * H];
        for (int b = 0; b < B; b++)
        {
            int length = lengths?[b] ?? T;
            for (int d = 0; length > 0 && d < D; d++)
            {
                int t = d == 0 ? length - 1 : 0;
                Array.Copy(dLast, ((b * D) + d) * H, dOutputs, (((t * B) + b) * D * H) + (d * H), H);
            }
        }

        return dOutputs;
    }
}
