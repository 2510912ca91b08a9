// Legend: T time steps, B batch, I input size, H hidden size; gate blocks in the order i, f, g, o.
namespace FastRnn.Testing;

/// <summary>
/// The gradients computed by <see cref="ReferenceLstm.Backward"/> (G = 4: <c>DWeightIh</c> is <c>[4H, I]</c>, the bias gradients <c>[4H]</c>,
/// and <c>DBiasHh</c> equals <c>DBiasIh</c>). Every array is fresh (nothing accumulates).
/// </summary>
public sealed class ReferenceLstmGradients : ReferenceRnnGradients
{
    internal ReferenceLstmGradients(int steps, int batch, int inputSize, int hiddenSize)
        : base(ReferenceLstm.GateCount, 2, steps, batch, inputSize, hiddenSize)
    {
        DCellStates = new double[steps * batch * hiddenSize];
        DGates = new double[steps * batch * ReferenceLstm.GateCount * hiddenSize];
    }

    /// <summary>dL/dc0, <c>[B, H]</c>; equal to <c>dc_n</c> for a zero-length sequence.</summary>
    public double[] DC0 => DInitialStates[1];

    /// <summary>
    /// The total dL/dc_t at each valid step (the carried gradient, <c>dc_n</c> at the last processed step, plus the path through
    /// <c>h_t = o*tanh(c_t)</c>), <c>[T, B, H]</c>; 0 at padding.
    /// </summary>
    public double[] DCellStates { get; }

    /// <summary>dL/d gate pre-activations, <c>[T, B, 4H]</c> in the order i, f, g, o; 0 at padding.</summary>
    public double[] DGates { get; }
}
