// Legend: T time steps, B batch, I input size, H hidden size; gate blocks in the order i, f, g, o.
namespace FastRnn.Testing;

/// <summary>
/// Everything one <see cref="ReferenceLstm.Forward"/> call computed, every intermediate included,
/// and the inputs <see cref="ReferenceLstm.Backward"/> needs (copied, so later changes to the caller's arrays do not matter).
/// </summary>
public sealed class ReferenceLstmForward : ReferenceRnnForward
{
    internal ReferenceLstmForward(
        ReferenceLstmParameters parameters, int steps, int batch, double[] x, double[] h0, double[] c0, int[] lengths, bool reverse)
        : base(steps, batch, parameters.HiddenSize, x, [h0, c0], lengths, reverse)
    {
        Parameters = parameters;
        Gates = new double[steps * batch * ReferenceLstm.GateCount * parameters.HiddenSize];
    }

    /// <summary>A copy of the parameters the forward pass used.</summary>
    public ReferenceLstmParameters Parameters { get; }

    /// <summary>The initial cell state used, <c>[B, H]</c> (zeros when none was given).</summary>
    public double[] C0 => InitialStates[1];

    /// <summary>The cell state after each sequence's last processed step, <c>[B, H]</c>; <c>c0</c> for a zero-length sequence.</summary>
    public double[] CN => FinalStates[1];

    /// <summary>
    /// The gates after their activations, <c>[T, B, 4H]</c>, each step's row in blocks of H in the order
    /// i, f, g, o (<see cref="ReferenceLstm.InputGate"/> ...); 0 at padding.
    /// </summary>
    public double[] Gates { get; }

    /// <summary><c>c_t</c>, <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] CellStates => StepStates[1];

    /// <summary>The <c>c_prev</c> used at each valid step, <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] PreviousCellStates => PreviousStepStates[1];
}
