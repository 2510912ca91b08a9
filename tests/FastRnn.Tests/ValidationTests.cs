// Every invalid call throws an ArgumentException naming the argument, with expected vs actual, before anything is written.
using FastRnn.Layers;
using FastRnn.Training;

namespace FastRnn.Tests;

public class ValidationTests
{
    private const int T = 3, B = 2, I = 4, H = 5;

    private readonly ElmanLayer _layer = new(new ParameterStore(), I, H, seed: 7);
    private readonly RecurrentWorkspace _workspace;
    private readonly float[] _x = Filled(T * B * I, 0.5f);
    private readonly float[] _output = Filled(T * B * H, 42f);
    private readonly float[] _parameters;

    public ValidationTests()
    {
        _workspace = _layer.CreateWorkspace(T, B);
        _parameters = _layer.Store.Values.ToArray();
    }

    private static float[] Filled(int count, float value)
    {
        float[] values = new float[count];
        Array.Fill(values, value);
        return values;
    }

    private void AssertForwardThrows(string paramName, string messagePart, Action call)
    {
        var error = Assert.ThrowsAny<ArgumentException>(call);
        Assert.Equal(paramName, error.ParamName);
        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
        Assert.All(_output, value => Assert.Equal(42f, value));
        Assert.Equal(_parameters, _layer.Store.Values.ToArray());
        Assert.All(_layer.Store.Gradients.ToArray(), value => Assert.Equal(0f, value));
    }

    [Fact]
    public void Input_of_wrong_length() =>
        AssertForwardThrows("input", "expected 24 elements ([T=3, B=2, I=4]), got 23", () => _layer.Forward(_x.AsSpan(1), T, B, _output, _workspace));

    [Fact]
    public void Output_of_wrong_length() =>
        AssertForwardThrows("output", "expected 30 elements ([T=3, B=2, H=5]), got 29", () => _layer.Forward(_x, T, B, _output.AsSpan(1), _workspace));

    [Fact]
    public void Initial_hidden_of_wrong_length() =>
        AssertForwardThrows("initialHidden", "expected 10 elements ([B=2, H=5]), got 9", () => _layer.Forward(_x, T, B, _output, _workspace, initialHidden: new float[9]));

    [Fact]
    public void Final_hidden_of_wrong_length() =>
        AssertForwardThrows("finalHidden", "expected 10 elements ([B=2, H=5]), got 11", () => _layer.Forward(_x, T, B, _output, _workspace, finalHidden: new float[11]));

    [Fact]
    public void Lengths_of_wrong_count() =>
        AssertForwardThrows("lengths", "expected 2 elements ([B=2]), got 3", () => _layer.Forward(_x, T, B, _output, _workspace, lengths: new int[3]));

    [Fact]
    public void Length_beyond_T() =>
        AssertForwardThrows("lengths", "lengths[1] must be in 0..T=3, was 4", () => _layer.Forward(_x, T, B, _output, _workspace, lengths: (int[])[3, 4]));

    [Fact]
    public void Negative_length() =>
        AssertForwardThrows("lengths", "lengths[0] must be in 0..T=3, was -1", () => _layer.Forward(_x, T, B, _output, _workspace, lengths: (int[])[-1, 2]));

    [Fact]
    public void Sequence_longer_than_the_workspace()
    {
        RecurrentWorkspace small = _layer.CreateWorkspace(T - 1, B);
        AssertForwardThrows("sequenceLength", "T=3 exceeds the workspace's maximum 2", () => _layer.Forward(_x, T, B, _output, small));
    }

    [Fact]
    public void Batch_larger_than_the_workspace()
    {
        RecurrentWorkspace small = _layer.CreateWorkspace(T, B - 1);
        AssertForwardThrows("batchSize", "B=2 exceeds the workspace's maximum 1", () => _layer.Forward(_x, T, B, _output, small));
    }

    [Fact]
    public void Workspace_of_another_shape()
    {
        var other = new ElmanLayer(new ParameterStore(), I, H + 1);
        AssertForwardThrows("workspace", "workspace was created for I=4, H=6, G=1; this layer has I=4, H=5, G=1", () => _layer.Forward(_x, T, B, _output, other.CreateWorkspace(T, B)));
    }

    [Fact]
    public void Backward_without_forward()
    {
        var error = Assert.Throws<ArgumentException>(() => _layer.Backward(new float[T * B * H], _workspace));
        Assert.Equal("workspace", error.ParamName);
        Assert.Contains("holds no forward pass of this layer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Backward_with_a_workspace_another_layer_filled()
    {
        var other = new ElmanLayer(new ParameterStore(), I, H);
        other.Forward(_x, T, B, _output, _workspace);
        var error = Assert.Throws<ArgumentException>(() => _layer.Backward(new float[T * B * H], _workspace));
        Assert.Equal("workspace", error.ParamName);
    }

    public static TheoryData<string, int, string> BackwardSpanCases() => new()
    {
        { "outputGradient", T * B * H - 1, "expected 30 elements ([T=3, B=2, H=5]), got 29" },
        { "inputGradient", T * B * I + 1, "expected 24 elements ([T=3, B=2, I=4]), got 25" },
        { "initialHiddenGradient", B * H - 1, "expected 10 elements ([B=2, H=5]), got 9" },
        { "finalHiddenGradient", B * H + 2, "expected 10 elements ([B=2, H=5]), got 12" },
    };

    [Theory]
    [MemberData(nameof(BackwardSpanCases))]
    public void Backward_span_of_wrong_length(string name, int length, string message)
    {
        _layer.Forward(_x, T, B, _output, _workspace);
        float[] bad = Filled(length, 9f);
        float[] dOutput = new float[T * B * H];
        float[] dX = Filled(T * B * I, 9f), dh0 = Filled(B * H, 9f);
        Action call = name switch
        {
            "outputGradient" => () => _layer.Backward(bad, _workspace),
            "inputGradient" => () => _layer.Backward(dOutput, _workspace, inputGradient: bad),
            "initialHiddenGradient" => () => _layer.Backward(dOutput, _workspace, dX, initialHiddenGradient: bad),
            _ => () => _layer.Backward(dOutput, _workspace, dX, dh0, finalHiddenGradient: bad),
        };
        AssertBackwardThrows(name, message, call, dX, dh0);
    }

    private void AssertBackwardThrows(string paramName, string messagePart, Action call, float[] dX, float[] dh0)
    {
        var error = Assert.Throws<ArgumentException>(call);
        Assert.Equal(paramName, error.ParamName);
        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
        Assert.All(_layer.Store.Gradients.ToArray(), value => Assert.Equal(0f, value));
        Assert.All(dX, value => Assert.Equal(9f, value));
        Assert.All(dh0, value => Assert.Equal(9f, value));
    }

    /// <summary>
    /// A pass run with CopiesInputAndOutput off keeps no copy of x or of its states: a backward without x or the output,
    /// with either of the wrong length, or with dX over either (dX is written before the weight gradients read them) is
    /// refused, and nothing is written.
    /// </summary>
    [Theory]
    [InlineData("no x or output", "input", "CopiesInputAndOutput off")]
    [InlineData("no output", "output", "CopiesInputAndOutput off")]
    [InlineData("short x", "input", "expected 24 elements ([T=3, B=2, I=4]), got 23")]
    [InlineData("long output", "output", "expected 30 elements ([T=3, B=2, H=5]), got 31")]
    [InlineData("dX over x", "inputGradient", "overlaps x or the output")]
    [InlineData("dX over output", "inputGradient", "overlaps x or the output")]
    public void Backward_of_a_pass_that_borrowed_the_input_and_output(string fault, string name, string message)
    {
        _workspace.CopiesInputAndOutput = false;
        float[] shared = Filled((T * B * I) + 3, 0.5f), output = new float[(T * B * H) + 1];
        _layer.Forward(shared.AsSpan(0, T * B * I), T, B, output.AsSpan(0, T * B * H), _workspace);
        float[] kept = output.ToArray();
        float[] dOutput = Filled(T * B * H, 1f), dX = Filled(T * B * I, 9f), dh0 = Filled(B * H, 9f);
        Action call = fault switch
        {
            "no x or output" => () => _layer.Backward(dOutput, _workspace, dX, dh0),
            "no output" => () => _layer.Backward(shared.AsSpan(0, T * B * I), default, dOutput, _workspace, dX, dh0),
            "short x" => () => _layer.Backward(shared.AsSpan(0, (T * B * I) - 1), output.AsSpan(0, T * B * H), dOutput, _workspace, dX, dh0),
            "long output" => () => _layer.Backward(shared.AsSpan(0, T * B * I), output, dOutput, _workspace, dX, dh0),
            "dX over x" => () => _layer.Backward(shared.AsSpan(0, T * B * I), output.AsSpan(0, T * B * H), dOutput, _workspace, shared.AsSpan(3, T * B * I), dh0),
            _ => () => _layer.Backward(shared.AsSpan(0, T * B * I), output.AsSpan(0, T * B * H), dOutput, _workspace, output.AsSpan(0, T * B * I), dh0),
        };
        AssertBackwardThrows(name, message, call, dX, dh0);
        Assert.All(shared, value => Assert.Equal(0.5f, value));
        Assert.Equal(kept, output);

        // The same pass, given x and the output, runs.
        _layer.Backward(shared.AsSpan(0, T * B * I), output.AsSpan(0, T * B * H), dOutput, _workspace, dX, dh0);
        Assert.Contains(_layer.Store.Gradients.ToArray(), value => value != 0f);
    }

    [Fact]
    public void Truncation_on_a_reverse_layer()
    {
        var reverse = new ElmanLayer(new ParameterStore(), I, H, reverse: true);
        RecurrentWorkspace workspace = reverse.CreateWorkspace(T, B);
        reverse.Forward(_x, T, B, _output, workspace);
        var error = Assert.Throws<ArgumentException>(() => reverse.Backward(new float[T * B * H], workspace, truncationWindow: 2));
        Assert.Equal("truncationWindow", error.ParamName);
        Assert.All(reverse.Store.Gradients.ToArray(), value => Assert.Equal(0f, value));
    }

    [Fact]
    public void Negative_truncation_window()
    {
        _layer.Forward(_x, T, B, _output, _workspace);
        var error = Assert.ThrowsAny<ArgumentException>(() => _layer.Backward(new float[T * B * H], _workspace, truncationWindow: -1));
        Assert.Equal("truncationWindow", error.ParamName);
    }

    [Fact]
    public void Invalid_layer_configuration()
    {
        Assert.Equal("inputSize", Assert.ThrowsAny<ArgumentException>(() => new ElmanLayer(new ParameterStore(), 0, H)).ParamName);
        Assert.Equal("hiddenSize", Assert.ThrowsAny<ArgumentException>(() => new ElmanLayer(new ParameterStore(), I, -1)).ParamName);
        Assert.Equal("leakySlope", Assert.ThrowsAny<ArgumentException>(() => new ElmanLayer(new ParameterStore(), I, H, Nonlinearity.LeakyRelu, -0.1f)).ParamName);
        Assert.Equal("nonlinearity", Assert.ThrowsAny<ArgumentException>(() => new ElmanLayer(new ParameterStore(), I, H, (Nonlinearity)99)).ParamName);
        Assert.Equal("maxSequenceLength", Assert.ThrowsAny<ArgumentException>(() => _layer.CreateWorkspace(0, 1)).ParamName);
    }

    [Fact]
    public void Parameter_names_must_be_unique()
    {
        var store = new ParameterStore();
        _ = new ElmanLayer(store, I, H);
        var error = Assert.Throws<ArgumentException>(() => new ElmanLayer(store, I, H));
        Assert.Equal("name", error.ParamName);
        Assert.Contains("weight_ih_l0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Loss_shapes_and_targets()
    {
        float[] gradient = Filled(6, 9f);
        var error = Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(new float[6], new float[5], 3, gradient));
        Assert.Equal("target", error.ParamName);
        Assert.Contains("expected 6 elements ([N=2, W=3]), got 5", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(new float[6], new float[6], 3, gradient, validRows: new bool[3]));
        Assert.Equal("validRows", error.ParamName);

        error = Assert.ThrowsAny<ArgumentException>(() => Losses.SoftmaxCrossEntropy(new float[6], (int[])[0, 3], 3, gradient));
        Assert.Equal("targets", error.ParamName);
        Assert.Contains("targets[1] must be in 0..2 or the ignore index -100, was 3", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(new float[5], (int[])[0, 1], 3, gradient));
        Assert.Equal("logits", error.ParamName);
        Assert.All(gradient, value => Assert.Equal(9f, value));
    }

    [Fact]
    public void Head_shapes()
    {
        var head = new LinearHead(new ParameterStore(), 4, 3);
        var error = Assert.Throws<ArgumentException>(() => head.Forward(new float[8], 2, new float[5]));
        Assert.Equal("output", error.ParamName);
        Assert.Contains("expected 6 elements ([N=2, O=3]), got 5", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<ArgumentException>(() => head.Backward(new float[7], new float[6], 2));
        Assert.Equal("input", error.ParamName);
    }

    [Fact]
    public void Lstm_cell_state_spans_of_wrong_length()
    {
        var lstm = new LstmLayer(new ParameterStore(), I, H);
        RecurrentWorkspace workspace = lstm.CreateWorkspace(T, B);
        var error = Assert.Throws<ArgumentException>(() => lstm.Forward(_x, T, B, _output, workspace, new float[B * H], new float[B * H - 1]));
        Assert.Equal("initialCell", error.ParamName);
        Assert.Contains("expected 10 elements ([B=2, H=5]), got 9", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<ArgumentException>(() => lstm.Forward(_x, T, B, _output, workspace, default, default, finalCell: new float[3]));
        Assert.Equal("finalCell", error.ParamName);
        Assert.All(_output, value => Assert.Equal(42f, value));

        lstm.Forward(_x, T, B, _output, workspace);
        float[] dh0 = Filled(B * H, 9f);
        error = Assert.Throws<ArgumentException>(() => lstm.Backward(default, workspace, default, dh0, new float[1]));
        Assert.Equal("initialCellGradient", error.ParamName);
        error = Assert.Throws<ArgumentException>(() => lstm.Backward(default, workspace, default, dh0, default, default, new float[B * H + 1]));
        Assert.Equal("finalCellGradient", error.ParamName);
        Assert.All(dh0, value => Assert.Equal(9f, value));
        Assert.All(lstm.Store.Gradients.ToArray(), value => Assert.Equal(0f, value));
    }

    [Fact]
    public void Workspace_of_another_cell()
    {
        var gru = new GruLayer(new ParameterStore(), I, H);
        AssertForwardThrows("workspace", "workspace was created for I=4, H=5, G=3; this layer has I=4, H=5, G=1", () => _layer.Forward(_x, T, B, _output, gru.CreateWorkspace(T, B)));
    }
}
