// Head, losses and a whole training step against the double reference.
using FastRnn.Layers;
using FastRnn.Testing;
using FastRnn.Training;
using FsCheck.Xunit;
using static FastRnn.Tests.RnnHarness;

namespace FastRnn.Tests;

public class TrainingPropertyTests
{
    private static double[] Values(Random random, int count, double scale = 1)
    {
        double[] values = new double[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = scale * ((2 * random.NextDouble()) - 1);
        }

        return values;
    }

    private static bool[]? RandomMask(Random random, int rows) =>
        random.Next(3) == 0 ? null : Enumerable.Range(0, rows).Select(_ => random.Next(4) != 0).ToArray();

    [Property(MaxTest = 100)]
    public void Linear_head_matches_the_reference(int seed)
    {
        var random = new Random(seed);
        int rows = random.Next(0, 20), inputSize = random.Next(1, 40), outputSize = random.Next(1, 20);
        bool hasBias = random.Next(2) == 0;
        var head = new LinearHead(new ParameterStore(), inputSize, outputSize, hasBias: hasBias, seed: seed);
        double[] weight = Array.ConvertAll(head.Weight.Values.ToArray(), v => (double)v);
        double[]? bias = hasBias ? Array.ConvertAll(head.Bias!.Values.ToArray(), v => (double)v) : null;
        double[] x = Values(random, rows * inputSize), dy = Values(random, rows * outputSize);
        float[] y = new float[rows * outputSize], dx = new float[rows * inputSize];
        head.Forward(ToFloat(x), rows, y);
        head.Backward(ToFloat(x), ToFloat(dy), rows, dx);

        AssertClose(y, ReferenceLinear.Forward(x, weight, bias, rows, inputSize, outputSize), "y");
        ReferenceLinearGradients expected = ReferenceLinear.Backward(x, weight, dy, rows, inputSize, outputSize);
        AssertClose(head.Weight.Gradient, expected.DWeight, "dW");
        AssertClose(dx, expected.DX, "dx");
        if (hasBias)
        {
            AssertClose(head.Bias!.Gradient, expected.DBias, "db");
        }
    }

    [Property(MaxTest = 100)]
    public void Losses_match_the_reference(int seed)
    {
        var random = new Random(seed);
        int rows = random.Next(0, 25), width = random.Next(1, 9);
        LossReduction reduction = random.Next(2) == 0 ? LossReduction.Mean : LossReduction.Sum;
        bool[]? mask = RandomMask(random, rows);
        float scale = random.Next(2) == 0 ? 1f : 0.5f;

        double[] prediction = Values(random, rows * width, 3), target = Values(random, rows * width, 3);
        float[] gradient = new float[rows * width];
        float loss = Losses.MeanSquaredError(ToFloat(prediction), ToFloat(target), width, gradient, reduction, mask, scale);
        ReferenceLossResult mse = ReferenceLoss.Mse(prediction, target, mask, width, reduction);
        Assert.Equal(scale * mse.Loss, loss, 1e-4 * Math.Max(1, Math.Abs(mse.Loss)));
        AssertClose(gradient, Array.ConvertAll(mse.Gradient, g => scale * g), "dMSE");

        // Cross-entropy with large logits (log-sum-exp must stay finite) and some ignored targets.
        int classes = width + 1;
        double[] logits = Values(random, rows * classes, 30);
        int[] targets = Enumerable.Range(0, rows).Select(_ => random.Next(5) == 0 ? -1 : random.Next(classes)).ToArray();
        float[] dLogits = new float[rows * classes];
        float ce = Losses.SoftmaxCrossEntropy(ToFloat(logits), targets, classes, dLogits, reduction, ignoreIndex: -1, mask, scale);
        ReferenceLossResult expected = ReferenceLoss.SoftmaxCrossEntropy(logits, targets, -1, mask, reduction);
        Assert.Equal(scale * expected.Loss, ce, 1e-4 * Math.Max(1, Math.Abs(expected.Loss)));
        AssertClose(dLogits, Array.ConvertAll(expected.Gradient, g => scale * g), "dCE");
    }

    [Fact]
    public void Losses_with_no_valid_target_are_zero()
    {
        float[] gradient = [9f, 9f, 9f, 9f];
        Assert.Equal(0f, Losses.MeanSquaredError([1f, 2f, 3f, 4f], [0f, 0f, 0f, 0f], 2, gradient, validRows: (bool[])[false, false]));
        Assert.All(gradient, g => Assert.Equal(0f, g));
        gradient = [9f, 9f, 9f, 9f];
        Assert.Equal(0f, Losses.SoftmaxCrossEntropy([1f, 2f, 3f, 4f], (int[])[-100, -100], 2, gradient));
        Assert.All(gradient, g => Assert.Equal(0f, g));
    }

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Many_to_many_cross_entropy_step_matches_the_reference(ElmanCase c)
    {
        (int T, int B, int I, int H) = c.Shape;
        const int Classes = 5;
        var random = new Random(c.Seed);
        var store = new ParameterStore();
        var testCase = RnnTestCase.From(c);
        RecurrentLayer rnn = testCase.CreateLayer();
        var head = new LinearHead(store, H, Classes, seed: c.Seed);
        int[] targets = Enumerable.Range(0, T * B).Select(_ => random.Next(6) == 0 ? -100 : random.Next(Classes)).ToArray();

        // Fast: forward -> head -> loss -> backward.
        RecurrentWorkspace workspace = rnn.CreateWorkspace(T, B);
        float[] output = new float[T * B * H], logits = new float[T * B * Classes], dLogits = new float[T * B * Classes], dOutput = new float[T * B * H];
        bool[] mask = new bool[T * B];
        SequenceMask.FromLengths(c.Lengths, T, B, mask);
        float loss;
        using (new WidthLimit(WidthFor(testCase)))
        {
            rnn.Forward(ToFloat(c.X), T, B, output, workspace, ToFloatOrEmpty(c.H0), c.Lengths);
            head.Forward(output, T * B, logits);
            loss = Losses.SoftmaxCrossEntropy(logits, targets, Classes, dLogits, validRows: mask);
            head.Backward(output, dLogits, T * B, dOutput);
            rnn.Backward(dOutput, workspace);
        }

        // Reference: the same composition in double.
        double[] weight = Array.ConvertAll(head.Weight.Values.ToArray(), v => (double)v), bias = Array.ConvertAll(head.Bias!.Values.ToArray(), v => (double)v);
        ReferenceElmanForward f = c.ReferenceForward();
        double[] refLogits = ReferenceLinear.Forward(f.Outputs, weight, bias, T * B, H, Classes);
        ReferenceLossResult refLoss = ReferenceLoss.SoftmaxCrossEntropy(refLogits, targets, -100, mask, LossReduction.Mean);
        ReferenceLinearGradients refHead = ReferenceLinear.Backward(f.Outputs, weight, refLoss.Gradient, T * B, H, Classes);
        ReferenceElmanGradients refRnn = ReferenceElman.Backward(f, refHead.DX, null);

        Assert.Equal(refLoss.Loss, loss, 1e-4 * Math.Max(1, Math.Abs(refLoss.Loss)));
        AssertClose(head.Weight.Gradient, refHead.DWeight, "head dW");
        AssertClose(rnn.WeightHh.Gradient, refRnn.DWeightHh, "dW_hh");
        AssertClose(rnn.WeightIh.Gradient, refRnn.DWeightIh, "dW_ih");
        AssertClose(rnn.BiasHh.Gradient, refRnn.DBiasHh, "db_hh");
    }
}
