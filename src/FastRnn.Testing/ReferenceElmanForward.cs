// Legend: T time steps, B batch, I input size, H hidden size.
namespace FastRnn.Testing;

/// <summary>
/// Everything one <see cref="ReferenceElman.Forward"/> call computed, every intermediate included,
/// and the inputs <see cref="ReferenceElman.Backward"/> needs (copied, so later changes to the caller's arrays do not matter).
/// </summary>
public sealed class ReferenceElmanForward
{
    internal ReferenceElmanForward(
        ReferenceElmanParameters parameters, int steps, int batch, double[] x, double[] h0, int[] lengths, bool reverse)
    {
        Parameters = parameters;
        Steps = steps;
        Batch = batch;
        X = x;
        H0 = h0;
        Lengths = lengths;
        Reverse = reverse;
        int h = parameters.HiddenSize;
        Outputs = new double[steps * batch * h];
        HN = new double[batch * h];
        PreActivations = new double[steps * batch * h];
        PreviousStates = new double[steps * batch * h];
    }

    /// <summary>A copy of the parameters the forward pass used.</summary>
    public ReferenceElmanParameters Parameters { get; }

    /// <summary>T, the number of time steps of the padded tensors.</summary>
    public int Steps { get; }

    /// <summary>B, the batch size.</summary>
    public int Batch { get; }

    /// <summary>A copy of the input, <c>[T, B, I]</c>; padding is copied as given and never read.</summary>
    public double[] X { get; }

    /// <summary>The initial state used, <c>[B, H]</c> (zeros when none was given).</summary>
    public double[] H0 { get; }

    /// <summary>The sequence lengths used, <c>[B]</c> (all T when none were given).</summary>
    public int[] Lengths { get; }

    /// <summary>Whether the sequences were processed from their last valid step down to t = 0.</summary>
    public bool Reverse { get; }

    /// <summary><c>h_t</c>, <c>[T, B, H]</c>; exactly 0 at <c>t &gt;= lengths[b]</c>.</summary>
    public double[] Outputs { get; }

    /// <summary>The state after each sequence's last processed step, <c>[B, H]</c>; <c>h0</c> for a zero-length sequence.</summary>
    public double[] HN { get; }

    /// <summary><c>z_t = W_ih x_t + b_ih + W_hh h_prev + b_hh</c>, <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] PreActivations { get; }

    /// <summary>The <c>h_prev</c> used at each valid step, <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] PreviousStates { get; }
}
