// Multi-layer and bidirectional stacks against the chained double reference; the reference chain against finite differences.
using FastRnn.Layers;
using FastRnn.Testing;
using FastRnn.Training;
using FsCheck.Xunit;
using static FastRnn.Tests.RnnHarness;

namespace FastRnn.Tests;

public class StackPropertyTests
{
    private sealed record StackRun(float[] Output, float[] HN, float[] CN, float[] DX, float[] DH0, float[] DC0, double[][]? Masks);

    private static StackRun RunFast(StackCase c, RecurrentStack stack, bool training = true, bool borrowInput = false)
    {
        (int T, int B, int I) = (c.T, c.B, c.I);
        StackWorkspace workspace = stack.CreateWorkspace(T, B);
        workspace.CopiesInputAndOutput = !borrowInput;
        bool lstm = c.Cell == CellKind.Lstm;
        float[] x = ToFloat(c.X), output = new float[T * B * stack.OutputSize];
        float[] hN = new float[c.StateLength], cN = lstm ? new float[c.StateLength] : [];
        float[] dx = new float[T * B * I], dh0 = new float[c.StateLength], dc0 = lstm ? new float[c.StateLength] : [];
        stack.Forward(x, T, B, output, workspace, c.Lengths, ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), hN, cN, training);

        // Layers above the first never copy their inputs (the outputs the workspace keeps); the first does unless told.
        // A unidirectional layer keeps its states in its output unless dropout scales it; the last unless told.
        bool dropout = training && c.Dropout > 0f && c.Layers > 1;
        for (int k = 0; k < stack.LayerCount * stack.DirectionCount; k++)
        {
            bool last = k / stack.DirectionCount == stack.LayerCount - 1;
            Assert.Equal(k >= stack.DirectionCount || borrowInput, workspace.Layers[k].BorrowsInput);
            Assert.Equal(stack.DirectionCount == 1 && (last ? borrowInput : !dropout), workspace.Layers[k].BorrowsOutput);
        }

        stack.Backward(borrowInput ? x : default, borrowInput ? output : default, ToFloat(c.DOutput), workspace, dx, dh0, dc0, ToFloatOrEmpty(c.DhN), ToFloatOrEmpty(c.DcN));
        return new StackRun(output, hN, cN, dx, dh0, dc0, StackHarness.DropoutMasks(workspace, stack, T, B));
    }

    [Property(MaxTest = 100)]
    public void Stack_matches_the_reference(int seed)
    {
        StackCase c = StackCase.Random(seed);
        var stack = c.CreateStack(new ParameterStore());
        ReferenceRnnParameters[] parameters = StackHarness.ReferenceParameters(stack);
        StackRun fast = RunFast(c, stack);
        Assert.Equal(c.Dropout > 0, fast.Masks is not null);

        ReferenceStackResult expected = ReferenceStack.Run(
            parameters, c.Directions, c.T, c.B, c.X, c.Lengths, c.H0, c.C0, fast.Masks, c.DOutput, c.DhN, c.DcN);
        string at = c.ToString();
        AssertClose(fast.Output, expected.Output, $"output ({at})");
        AssertClose(fast.HN, expected.HN, $"h_n ({at})");
        AssertClose(fast.DX, expected.DX, $"dX ({at})");
        AssertClose(fast.DH0, expected.DH0, $"dh0 ({at})");
        if (c.Cell == CellKind.Lstm)
        {
            AssertClose(fast.CN, expected.CN!, $"c_n ({at})");
            AssertClose(fast.DC0, expected.DC0!, $"dc0 ({at})");
        }

        for (int k = 0; k < parameters.Length; k++)
        {
            RecurrentLayer layer = stack.Layer(k / c.Directions, k % c.Directions);
            ReferenceRnnGradients g = expected.Layers[k];
            AssertClose(layer.WeightIh.Gradient, g.DWeightIh, $"{layer.WeightIh.Name} ({at})");
            AssertClose(layer.WeightHh.Gradient, g.DWeightHh, $"{layer.WeightHh.Name} ({at})");
            AssertClose(layer.BiasIh.Gradient, g.DBiasIh, $"{layer.BiasIh.Name} ({at})");
            AssertClose(layer.BiasHh.Gradient, g.DBiasHh, $"{layer.BiasHh.Name} ({at})");
        }
    }

    /// <summary>
    /// With the stack workspace's CopiesInputAndOutput off, the first layer reads the stack's x in place, the last keeps
    /// its states in the stack's output (unidirectional), and the backward is given both again: the same bits as
    /// copying, parameter gradients included. Without them, that backward is refused.
    /// </summary>
    [Property(MaxTest = 40)]
    public void A_stack_that_borrows_its_input_gives_the_bits_of_copying_it(int seed)
    {
        StackCase c = StackCase.Random(seed);
        var copyingStore = new ParameterStore();
        var borrowingStore = new ParameterStore();
        StackRun copied = RunFast(c, c.CreateStack(copyingStore));
        StackRun borrowed = RunFast(c, c.CreateStack(borrowingStore), borrowInput: true);
        AssertBitwiseEqual(borrowed.Output, copied.Output, "output");
        AssertBitwiseEqual(borrowed.DX, copied.DX, "dX");
        AssertBitwiseEqual(borrowed.DH0, copied.DH0, "dh0");
        AssertBitwiseEqual(borrowed.DC0, copied.DC0, "dc0");
        AssertBitwiseEqual(borrowingStore.Gradients, copyingStore.Gradients, "parameter gradients");

        RecurrentStack stack = c.CreateStack(new ParameterStore());
        StackWorkspace workspace = stack.CreateWorkspace(c.T, c.B);
        workspace.CopiesInputAndOutput = false;
        stack.Forward(ToFloat(c.X), c.T, c.B, new float[c.T * c.B * stack.OutputSize], workspace, c.Lengths);
        var error = Assert.Throws<ArgumentException>(() => stack.Backward(ToFloat(c.DOutput), workspace));
        Assert.Equal("input", error.ParamName);
        Assert.All(stack.Store.Gradients.ToArray(), value => Assert.Equal(0f, value));
    }

    [Property(MaxTest = 40)]
    public void Reference_stack_gradients_match_finite_differences(int seed)
    {
        StackCase c = StackCase.Random(seed) with { Dropout = 0f };
        if (c.Nonlinearity == Nonlinearity.Relu)
        {
            // Centred differences are meaningless at ReLU's kink; the single-layer FD property covers ReLU.
            c = c with { Nonlinearity = Nonlinearity.Tanh };
        }

        ReferenceRnnParameters[] parameters = StackHarness.ReferenceParameters(c.CreateStack(new ParameterStore()));
        ReferenceStackResult analytic = ReferenceStack.Run(parameters, c.Directions, c.T, c.B, c.X, c.Lengths, c.H0, c.C0, null, c.DOutput, c.DhN, c.DcN);

        // theta = [every layer's W_ih, W_hh, b_ih, b_hh..., x]; f = <dOutput, output> + <dh_n, h_n> + <dc_n, c_n>.
        var arrays = new List<double[]>();
        var gradients = new List<double[]>();
        for (int k = 0; k < parameters.Length; k++)
        {
            arrays.AddRange([parameters[k].WeightIh, parameters[k].WeightHh, parameters[k].BiasIh, parameters[k].BiasHh]);
            ReferenceRnnGradients g = analytic.Layers[k];
            gradients.AddRange([g.DWeightIh, g.DWeightHh, g.DBiasIh, g.DBiasHh]);
        }

        arrays.Add(c.X);
        gradients.Add(analytic.DX);
        double[] theta = [.. arrays.SelectMany(a => a)];
        double[] gradient = [.. gradients.SelectMany(a => a)];

        double Loss(double[] point)
        {
            int offset = 0;
            foreach (double[] a in arrays)
            {
                Array.Copy(point, offset, a, 0, a.Length);
                offset += a.Length;
            }

            ReferenceStackResult r = ReferenceStack.Run(parameters, c.Directions, c.T, c.B, c.X, c.Lengths, c.H0, c.C0, null, c.DOutput, null, null);
            return Dot(c.DOutput, r.Output) + Dot(c.DhN, r.HN) + Dot(c.DcN, r.CN);
        }

        GradientCheckReport report = GradientCheck.AlongRandomDirections(Loss, theta, gradient, directions: 8, new Random(seed), eps: 1e-5);
        Assert.True(report.MaxRelativeError < 1e-5, $"{c}: {report}");
    }

    [Property(MaxTest = 60)]
    public void Last_valid_step_pooling_equals_the_top_layer_h_n(int seed)
    {
        StackCase c = StackCase.Random(seed) with { Dropout = 0f };
        var stack = c.CreateStack(new ParameterStore());
        StackRun fast = RunFast(c, stack, training: false);
        int D = c.Directions, H = c.H, B = c.B;
        float[] last = new float[B * D * H];
        SequencePooling.LastValidStep(fast.Output, c.T, B, D, c.Lengths, last);
        for (int b = 0; b < B; b++)
        {
            if (c.Lengths is not null && c.Lengths[b] == 0)
            {
                Assert.All(last.AsSpan(b * D * H, D * H).ToArray(), v => Assert.Equal(0f, v));
                continue;
            }

            for (int d = 0; d < D; d++)
            {
                // h_n row (L-1)*D + d holds the top layer's direction d.
                ReadOnlySpan<float> hN = fast.HN.AsSpan((((((c.Layers - 1) * D) + d) * B) + b) * H, H);
                AssertBitwiseEqual(last.AsSpan(((b * D) + d) * H, H), hN, $"last[{b}, dir {d}] ({c})");
            }
        }

        // Backward puts each row's gradient back where it was gathered and zero elsewhere.
        float[] dLast = ToFloat(StackCase.Values(new Random(seed), B * D * H));
        float[] dOutput = Enumerable.Repeat(float.NaN, fast.Output.Length).ToArray();
        SequencePooling.LastValidStepBackward(dLast, c.T, B, D, c.Lengths, dOutput);
        float[] regathered = new float[B * D * H];
        SequencePooling.LastValidStep(dOutput, c.T, B, D, c.Lengths, regathered);
        double total = 0;
        foreach (float v in dOutput)
        {
            total += Math.Abs(v);
        }

        double expectedTotal = 0;
        for (int b = 0; b < B; b++)
        {
            bool empty = c.Lengths is not null && c.Lengths[b] == 0;
            for (int i = 0; i < D * H; i++)
            {
                Assert.Equal(empty ? 0f : dLast[(b * D * H) + i], regathered[(b * D * H) + i]);
                expectedTotal += empty ? 0 : Math.Abs(dLast[(b * D * H) + i]);
            }
        }

        Assert.Equal(expectedTotal, total, 1e-4);
    }

    [Fact]
    public void Parameters_have_pytorch_names_shapes_and_order()
    {
        var store = new ParameterStore();
        _ = new RecurrentStack(store, CellKind.Lstm, inputSize: 5, hiddenSize: 3, layerCount: 2, bidirectional: true, namePrefix: "rnn.");
        string[] expected =
        [
            "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
            "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
            "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
        ];
        Assert.Equal(expected.Select(n => "rnn." + n), store.Tensors.Select(t => t.Name));
        Assert.Equal([12, 5], store["rnn.weight_ih_l0"].Shape.ToArray());
        Assert.Equal([12, 6], store["rnn.weight_ih_l1_reverse"].Shape.ToArray());
        Assert.Equal([12, 3], store["rnn.weight_hh_l1"].Shape.ToArray());
        Assert.Equal([12], store["rnn.bias_hh_l1_reverse"].Shape.ToArray());
    }

    [Fact]
    public void Dropout_applies_only_in_training_and_is_reproducible_by_seed()
    {
        StackCase c = StackCase.Random(7) with { Cell = CellKind.Gru, Layers = 3, Dropout = 0.5f, Lengths = null, H0 = null, C0 = null, DhN = null, DcN = null };
        float[] Forward(RecurrentStack stack, bool training)
        {
            float[] output = new float[c.T * c.B * stack.OutputSize];
            stack.Forward(ToFloat(c.X), c.T, c.B, output, stack.CreateWorkspace(c.T, c.B), training: training);
            return output;
        }

        RecurrentStack a = c.CreateStack(new ParameterStore()), b = c.CreateStack(new ParameterStore());
        float[] evaluation = Forward(a, training: false);
        Assert.Equal(evaluation, Forward(a, training: false));
        float[] first = Forward(a, training: true), second = Forward(a, training: true);
        Assert.NotEqual(evaluation, first);
        Assert.NotEqual(first, second);
        Assert.Equal(first, Forward(b, training: true));
        Assert.Equal(second, Forward(b, training: true));
    }

    [Property(MaxTest = 30)]
    public void Truncation_window_at_least_T_equals_full_bptt_for_a_unidirectional_stack(int seed)
    {
        StackCase c = StackCase.Random(seed) with { Directions = 1, Dropout = 0f };
        c = c with { DOutput = StackCase.Values(new Random(seed), c.T * c.B * c.H) };
        float[] Gradients(int window)
        {
            var store = new ParameterStore();
            RecurrentStack stack = c.CreateStack(store);
            StackWorkspace workspace = stack.CreateWorkspace(c.T, c.B);
            float[] output = new float[c.T * c.B * c.H], dx = new float[c.T * c.B * c.I];
            stack.Forward(ToFloat(c.X), c.T, c.B, output, workspace, c.Lengths);
            stack.Backward(ToFloat(c.DOutput), workspace, dx, truncationWindow: window);
            return [.. dx, .. store.Gradients];
        }

        AssertBitwiseEqual(Gradients(c.T + Math.Abs(seed % 3)), Gradients(0), c.ToString());
    }

    [Fact]
    public void Bad_calls_throw_before_writing()
    {
        var store = new ParameterStore();
        var gru = new RecurrentStack(store, CellKind.Gru, 2, 3, layerCount: 2, bidirectional: true);
        StackWorkspace workspace = gru.CreateWorkspace(4, 2);
        float[] x = new float[4 * 2 * 2], output = new float[4 * 2 * 6];
        float[] sentinel = Enumerable.Repeat(7f, output.Length).ToArray();

        ArgumentException e = Assert.Throws<ArgumentException>(() => gru.Forward(x, 4, 2, sentinel.AsSpan(1), workspace));
        Assert.Contains("[T=4, B=2, D*H=6]", e.Message);
        e = Assert.Throws<ArgumentException>(() => gru.Forward(x, 4, 2, sentinel, workspace, initialCell: new float[2 * 2 * 2 * 3]));
        Assert.Equal("initialCell", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => gru.Forward(x, 4, 2, sentinel, workspace, initialHidden: new float[5]));
        Assert.Contains("L*D=4", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => gru.Forward(x, 4, 2, sentinel, workspace, lengths: [1, 5]));
        Assert.All(sentinel, v => Assert.Equal(7f, v));

        Assert.Throws<ArgumentException>(() => gru.Backward(output, workspace)); // no forward yet
        gru.Forward(x, 4, 2, output, workspace);
        e = Assert.Throws<ArgumentException>(() => gru.Backward(output, workspace, truncationWindow: 2));
        Assert.Equal("truncationWindow", e.ParamName);
        var other = new RecurrentStack(new ParameterStore(), CellKind.Gru, 2, 3, layerCount: 2, bidirectional: true);
        e = Assert.Throws<ArgumentException>(() => other.Forward(x, 4, 2, output, workspace));
        Assert.Equal("workspace", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecurrentStack(store, CellKind.Lstm, 2, 3, dropout: 1f));
    }

    private static double Dot(double[]? a, double[]? b)
    {
        if (a is null || b is null)
        {
            return 0;
        }

        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
