// Legend: H hidden size, G gates per cell, P state parts (h; h and c for an LSTM); row = t*B + b.
namespace FastRnn.Testing;

/// <summary>
/// The pointwise part of one reference cell. <see cref="ReferenceRecurrence"/> owns the time loop, lengths, direction,
/// truncation and the two affine maps; a cell only turns them into the next state and back.
/// </summary>
internal abstract class ReferenceCell
{
    protected ReferenceCell(ReferenceRnnParameters parameters)
    {
        Parameters = parameters;
    }

    /// <summary>The weights the affine maps use.</summary>
    public ReferenceRnnParameters Parameters { get; }

    /// <summary>
    /// One step at <paramref name="row"/>: from <c>gi = W_ih x_t + b_ih</c> and <c>gh = W_hh h_prev + b_hh</c> and the previous state,
    /// writes the next state and saves what the backward step needs.
    /// </summary>
    /// <param name="row">The flat index <c>t*B + b</c> of the step, for saving intermediates.</param>
    /// <param name="gi">The input part of the gate pre-activations, <c>[G*H]</c>.</param>
    /// <param name="gh">The recurrent part of the gate pre-activations, <c>[G*H]</c>.</param>
    /// <param name="statePrev">The state before the step, <c>[P*H]</c> (h first).</param>
    /// <param name="stateNext">The state after the step, <c>[P*H]</c> (h first); written.</param>
    public abstract void ForwardStep(int row, double[] gi, double[] gh, double[] statePrev, double[] stateNext);

    /// <summary>
    /// Inverts <see cref="ForwardStep"/> at <paramref name="row"/>: from the total gradient of the state after the step, writes the
    /// gradients of <c>gi</c> and <c>gh</c> and the direct (non-<c>W_hh</c>) part of the gradient of the previous state.
    /// </summary>
    /// <param name="row">The flat index <c>t*B + b</c> of the step.</param>
    /// <param name="dState">dL/d state after the step, <c>[P*H]</c>.</param>
    /// <param name="dgi">dL/dgi, <c>[G*H]</c>; written.</param>
    /// <param name="dgh">dL/dgh, <c>[G*H]</c>; written.</param>
    /// <param name="dStatePrev">The direct part of dL/d state before the step, <c>[P*H]</c>; written (the driver adds <c>W_hh^T dgh</c> to h).</param>
    public abstract void BackwardStep(int row, double[] dState, double[] dgi, double[] dgh, double[] dStatePrev);
}
