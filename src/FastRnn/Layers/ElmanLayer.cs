using FastRnn.Cells;

namespace FastRnn.Layers;

/// <summary>
/// An Elman RNN layer, <c>h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)</c>, with PyTorch's <c>nn.RNN</c> parameter
/// names and layout (G = 1).
/// </summary>
public sealed class ElmanLayer : RecurrentLayer
{
    /// <summary>Creates the layer and adds its four parameters to <paramref name="store"/>, initialized as PyTorch does.</summary>
    /// <param name="store">Where the parameters live.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="nonlinearity">f.</param>
    /// <param name="leakySlope">Slope of <see cref="Nonlinearity.LeakyRelu"/> for negative inputs; must be &gt;= 0.</param>
    /// <param name="layerIndex">k in the parameter names (<c>weight_ih_l{k}</c>).</param>
    /// <param name="reverse">Whether this is the backward direction (parameter names end in <c>_reverse</c>).</param>
    /// <param name="seed">Seed of the default initialization.</param>
    /// <param name="namePrefix">Prepended to every parameter name, e.g. <c>rnn.</c>.</param>
    public ElmanLayer(
        ParameterStore store, int inputSize, int hiddenSize, Nonlinearity nonlinearity = Nonlinearity.Tanh, float leakySlope = 0.01f,
        int layerIndex = 0, bool reverse = false, int seed = 0, string namePrefix = "")
        : base(store, inputSize, hiddenSize, gateCount: 1, layerIndex, reverse, namePrefix)
    {
        if (!Enum.IsDefined(nonlinearity))
        {
            ThrowHelper.ThrowOutOfRange(nameof(nonlinearity), $"unknown nonlinearity {(int)nonlinearity}");
        }

        if (!(leakySlope >= 0f) || float.IsInfinity(leakySlope))
        {
            ThrowHelper.ThrowOutOfRange(nameof(leakySlope), $"must be finite and >= 0 (derivatives are taken from the output), was {leakySlope}");
        }

        Nonlinearity = nonlinearity;
        LeakySlope = leakySlope;
        ResetParameters(seed);
    }

    /// <summary>f.</summary>
    public Nonlinearity Nonlinearity { get; }

    /// <summary>The negative-side slope used by <see cref="Nonlinearity.LeakyRelu"/>.</summary>
    public float LeakySlope { get; }

    private protected override void RunForward(RecurrentWorkspace workspace, ReadOnlySpan<float> input, ReadOnlySpan<float> initialHidden, int T, int B, Span<float> output, Span<float> finalHidden)
    {
        switch (Nonlinearity)
        {
            case Nonlinearity.Tanh:
                Forward(new ElmanCell<TanhActivation>(default), workspace, input, initialHidden, T, B, output, finalHidden);
                break;
            case Nonlinearity.Sigmoid:
                Forward(new ElmanCell<SigmoidActivation>(default), workspace, input, initialHidden, T, B, output, finalHidden);
                break;
            case Nonlinearity.Relu:
                Forward(new ElmanCell<LeakyReluActivation>(new LeakyReluActivation(0f)), workspace, input, initialHidden, T, B, output, finalHidden);
                break;
            case Nonlinearity.LeakyRelu:
                Forward(new ElmanCell<LeakyReluActivation>(new LeakyReluActivation(LeakySlope)), workspace, input, initialHidden, T, B, output, finalHidden);
                break;
            default:
                Forward(new ElmanCell<IdentityActivation>(default), workspace, input, initialHidden, T, B, output, finalHidden);
                break;
        }
    }

    private protected override void RunBackward(RecurrentWorkspace workspace, ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> finalHiddenGradient, int truncationWindow, Span<float> inputGradient, Span<float> initialHiddenGradient)
    {
        switch (Nonlinearity)
        {
            case Nonlinearity.Tanh:
                Backward(new ElmanCell<TanhActivation>(default), workspace, outputGradient, finalHiddenGradient, truncationWindow, inputGradient, initialHiddenGradient);
                break;
            case Nonlinearity.Sigmoid:
                Backward(new ElmanCell<SigmoidActivation>(default), workspace, outputGradient, finalHiddenGradient, truncationWindow, inputGradient, initialHiddenGradient);
                break;
            case Nonlinearity.Relu:
                Backward(new ElmanCell<LeakyReluActivation>(new LeakyReluActivation(0f)), workspace, outputGradient, finalHiddenGradient, truncationWindow, inputGradient, initialHiddenGradient);
                break;
            case Nonlinearity.LeakyRelu:
                Backward(new ElmanCell<LeakyReluActivation>(new LeakyReluActivation(LeakySlope)), workspace, outputGradient, finalHiddenGradient, truncationWindow, inputGradient, initialHiddenGradient);
                break;
            default:
                Backward(new ElmanCell<IdentityActivation>(default), workspace, outputGradient, finalHiddenGradient, truncationWindow, inputGradient, initialHiddenGradient);
                break;
        }
    }

    private void Forward<TCell>(TCell cell, RecurrentWorkspace workspace, ReadOnlySpan<float> input, ReadOnlySpan<float> initialHidden, int T, int B, Span<float> output, Span<float> finalHidden)
        where TCell : struct, IRecurrentCell
        => SequenceDriver.Forward(cell, workspace, Reverse, WeightIh.Values, WeightHh.Values, BiasIh.Values, BiasHh.Values, input, initialHidden, T, B, output, finalHidden);

    private void Backward<TCell>(TCell cell, RecurrentWorkspace workspace, ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> finalHiddenGradient, int truncationWindow, Span<float> inputGradient, Span<float> initialHiddenGradient)
        where TCell : struct, IRecurrentCell
        => SequenceDriver.Backward(
            cell, workspace, Reverse, WeightIh.Values, WeightHh.Values, outputGradient, finalHiddenGradient, truncationWindow, inputGradient, initialHiddenGradient,
            WeightIh.Gradient, WeightHh.Gradient, BiasIh.Gradient, BiasHh.Gradient);
}
