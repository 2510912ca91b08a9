// Legend: T time steps, B batch, I input size, H hidden size.
namespace FastRnn.Testing;

/// <summary>
/// Everything one <see cref="ReferenceElman.Forward"/> call computed, every intermediate included,
/// and the inputs <see cref="ReferenceElman.Backward"/> needs (copied, so later changes to the caller's arrays do not matter).
/// </summary>
public sealed class ReferenceElmanForward : ReferenceRnnForward
{
    internal ReferenceElmanForward(
        ReferenceElmanParameters parameters, int steps, int batch, double[] x, double[] h0, int[] lengths, bool reverse)
        : base(steps, batch, parameters.HiddenSize, x, [h0], lengths, reverse)
    {
        Parameters = parameters;
        PreActivations = new double[steps * batch * parameters.HiddenSize];
    }

    /// <summary>A copy of the parameters the forward pass used.</summary>
    public ReferenceElmanParameters Parameters { get; }

    /// <summary><c>z_t = W_ih x_t + b_ih + W_hh h_prev + b_hh</c>, <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] PreActivations { get; }
}
