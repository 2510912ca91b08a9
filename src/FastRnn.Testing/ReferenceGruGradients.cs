// Legend: T time steps, B batch, I input size, H hidden size; gate blocks in the order r, z, n.
namespace FastRnn.Testing;

/// <summary>
/// The gradients computed by <see cref="ReferenceGru.Backward"/> (G = 3: <c>DWeightIh</c> is <c>[3H, I]</c>, the bias gradients <c>[3H]</c>;
/// <c>DBiasHh</c> equals <c>DBiasIh</c> in the r and z blocks only: in the n block it sums <c>r*da_n</c> where <c>DBiasIh</c> sums <c>da_n</c>).
/// Every array is fresh (nothing accumulates).
/// </summary>
public sealed class ReferenceGruGradients : ReferenceRnnGradients
{
    internal ReferenceGruGradients(int steps, int batch, int inputSize, int hiddenSize)
        : base(ReferenceGru.GateCount, 1, steps, batch, inputSize, hiddenSize)
    {
        DGates = new double[steps * batch * ReferenceGru.GateCount * hiddenSize];
    }

    /// <summary>
    /// dL/d gate pre-activations, <c>[T, B, 3H]</c> in the order r, z, n, where n's pre-activation is <c>gi_n + r*gh_n</c>
    /// (so dL/d(W_hn h_prev + b_hn) is r times the n block); 0 at padding.
    /// </summary>
    public double[] DGates { get; }
}
