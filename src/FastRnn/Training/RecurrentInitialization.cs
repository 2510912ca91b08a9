namespace FastRnn.Training;

/// <summary>A recipe for <see cref="Initializers.Initialize"/>: how to fill each of a recurrent layer's four tensors.</summary>
public sealed record RecurrentInitialization
{
    /// <summary>PyTorch's default: every tensor uniform in <c>[-1/sqrt(H), 1/sqrt(H)]</c>.</summary>
    public static RecurrentInitialization PyTorchDefault { get; } = new();

    /// <summary>
    /// The common recipe for trainable RNNs: Xavier uniform <c>weight_ih</c>, orthogonal <c>weight_hh</c> per gate block,
    /// zero biases. Add <see cref="ForgetGateBias"/> = 1 for an LSTM.
    /// </summary>
    public static RecurrentInitialization XavierOrthogonal { get; } = new()
    {
        InputWeights = WeightInitialization.XavierUniform,
        RecurrentWeights = WeightInitialization.OrthogonalPerGate,
        Bias = 0,
    };

    /// <summary>The scheme of <c>weight_ih[G*H, I]</c>.</summary>
    public WeightInitialization InputWeights { get; init; }

    /// <summary>The scheme of <c>weight_hh[G*H, H]</c>.</summary>
    public WeightInitialization RecurrentWeights { get; init; }

    /// <summary>The gain of the Xavier, Kaiming and orthogonal schemes, or null for the scheme's PyTorch default
    /// (1 for Xavier and orthogonal, <c>sqrt(2)</c>, ReLU's, for Kaiming). See <see cref="Initializers.Gain"/>.</summary>
    public double? Gain { get; init; }

    /// <summary>A constant for both bias vectors, or null for PyTorch's default uniform in <c>[-1/sqrt(H), 1/sqrt(H)]</c>.</summary>
    public float? Bias { get; init; }

    /// <summary>
    /// LSTM only: the forget gate's total bias. The f block of <c>bias_ih</c> is set to this value and that of
    /// <c>bias_hh</c> to 0, so the gate sees exactly this bias (Jozefowicz et al., 2015, recommend 1). Null: no change.
    /// </summary>
    public float? ForgetGateBias { get; init; }
}
