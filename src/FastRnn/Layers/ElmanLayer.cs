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
        : base(store, inputSize, hiddenSize, ElmanCell<TanhActivation>.GateCount, layerIndex, reverse, namePrefix)
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

    private protected override void RunWithCell<TAction>(ref TAction action)
    {
        switch (Nonlinearity)
        {
            case Nonlinearity.Tanh:
                action.Run(new ElmanCell<TanhActivation>(default));
                break;
            case Nonlinearity.Sigmoid:
                action.Run(new ElmanCell<SigmoidActivation>(default));
                break;
            case Nonlinearity.Relu:
            case Nonlinearity.LeakyRelu:
                action.Run(new ElmanCell<LeakyReluActivation>(new(ReluSlope)));
                break;
            default:
                action.Run(new ElmanCell<IdentityActivation>(default));
                break;
        }
    }

    // ReLU is leaky ReLU with slope 0.
    private float ReluSlope => Nonlinearity == Nonlinearity.Relu ? 0f : LeakySlope;
}
