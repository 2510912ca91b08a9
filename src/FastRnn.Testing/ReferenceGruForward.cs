// Legend: T time steps, B batch, I input size, H hidden size; gate blocks in the order r, z, n.
namespace FastRnn.Testing;

/// <summary>
/// Everything one <see cref="ReferenceGru.Forward"/> call computed, every intermediate included,
/// and the inputs <see cref="ReferenceGru.Backward"/> needs (copied, so later changes to the caller's arrays do not matter).
/// </summary>
public sealed class ReferenceGruForward : ReferenceRnnForward
{
    internal ReferenceGruForward(
        ReferenceGruParameters parameters, int steps, int batch, double[] x, double[] h0, int[] lengths, bool reverse)
        : base(steps, batch, parameters.HiddenSize, x, [h0], lengths, reverse)
    {
        Parameters = parameters;
        Gates = new double[steps * batch * ReferenceGru.GateCount * parameters.HiddenSize];
        NewGateRecurrent = new double[steps * batch * parameters.HiddenSize];
    }

    /// <summary>A copy of the parameters the forward pass used.</summary>
    public ReferenceGruParameters Parameters { get; }

    /// <summary>
    /// The gates after their activations, <c>[T, B, 3H]</c>, each step's row in blocks of H in the order
    /// r, z, n (<see cref="ReferenceGru.ResetGate"/> ...); 0 at padding.
    /// </summary>
    public double[] Gates { get; }

    /// <summary><c>W_hn h_prev + b_hn</c>, the recurrent part of n's pre-activation that r scales, <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] NewGateRecurrent { get; }
}
