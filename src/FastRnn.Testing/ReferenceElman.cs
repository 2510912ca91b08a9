// Legend: T time steps, B batch, I input size, H hidden size.
// Elman cell: z_t = W_ih x_t + b_ih + W_hh h_prev + b_hh,  h_t = f(z_t).
namespace FastRnn.Testing;

/// <summary>
/// The double-precision reference Elman RNN (one layer, one direction), written from the equations as plain loops.
/// It shares no code with the fast path. Variable lengths follow PyTorch's packed-sequence semantics on a padded tensor.
/// </summary>
public static class ReferenceElman
{
    /// <summary>Runs the layer over a padded batch of sequences.</summary>
    /// <param name="parameters">The weights, biases and nonlinearity; copied into the result.</param>
    /// <param name="steps">T, the number of time steps of the padded tensors.</param>
    /// <param name="batch">B, the batch size.</param>
    /// <param name="x">The input, <c>[T, B, I]</c>. Values at <c>t &gt;= lengths[b]</c> are never read (NaN there changes nothing).</param>
    /// <param name="h0">The initial state, <c>[B, H]</c>; <see langword="null"/> means zeros.</param>
    /// <param name="lengths">The sequence lengths, <c>[B]</c>, each in <c>0..T</c>; <see langword="null"/> means all T.</param>
    /// <param name="reverse">
    /// <see langword="false"/>: each sequence is processed at t = 0, 1, ..., lengths[b]-1;
    /// <see langword="true"/>: at t = lengths[b]-1 down to 0, and <c>h_n</c> is the state at t = 0.
    /// </param>
    /// <returns>The outputs, <c>h_n</c> and every intermediate.</returns>
    public static ReferenceElmanForward Forward(
        ReferenceElmanParameters parameters, int steps, int batch, double[] x, double[]? h0, int[]? lengths, bool reverse)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        (double[] xCopy, int[] len) = ReferenceRecurrence.CheckInput(parameters, steps, batch, x, lengths);
        double[] h = ReferenceRecurrence.InitialState(h0, batch, parameters.HiddenSize, nameof(h0));
        var result = new ReferenceElmanForward(parameters.Clone(), steps, batch, xCopy, h, len, reverse);
        ReferenceRecurrence.Forward(new Cell(result, null), result);
        return result;
    }

    /// <summary>Back-propagates through a forward pass. All returned gradients are fresh arrays (nothing accumulates).</summary>
    /// <param name="forward">The result of <see cref="Forward"/>.</param>
    /// <param name="dOutputs">dL/d outputs, <c>[T, B, H]</c>; values at padding are ignored.</param>
    /// <param name="dhN">dL/dh_n, <c>[B, H]</c>, entering at each sequence's last processed step; <see langword="null"/> means zeros.</param>
    /// <param name="truncationWindow">
    /// 0 for full BPTT. With k &gt; 0 (forward direction only) the gradient carried from step t into <c>h_{t-1}</c>
    /// is cut to zero whenever t is a positive multiple of k, which equals detaching the state every k steps;
    /// only the first chunk's gradient reaches <c>dh0</c>.
    /// </param>
    /// <returns>The gradients of every parameter and input, and the intermediates <c>dh_t</c>, <c>dz_t</c>.</returns>
    /// <exception cref="ArgumentException">A truncation window was asked for a reverse pass, or a shape does not match.</exception>
    public static ReferenceElmanGradients Backward(
        ReferenceElmanForward forward, double[] dOutputs, double[]? dhN, int truncationWindow = 0)
    {
        ReferenceRecurrence.CheckBackward(forward, dOutputs, truncationWindow);
        ReferenceRecurrence.CheckFinalGradient(forward, dhN, nameof(dhN));
        var p = forward.Parameters;
        var gradients = new ReferenceElmanGradients(forward.Steps, forward.Batch, p.InputSize, p.HiddenSize);
        ReferenceRecurrence.Backward(new Cell(forward, gradients), forward, gradients, dOutputs, [dhN], truncationWindow);
        return gradients;
    }

    // The pointwise step; state = [h] (P = 1), gates = [z] (G = 1).
    private sealed class Cell(ReferenceElmanForward forward, ReferenceElmanGradients? gradients) : ReferenceCell(forward.Parameters)
    {
        public override void ForwardStep(int row, double[] gi, double[] gh, double[] statePrev, double[] stateNext)
        {
            var p = forward.Parameters;
            int H = p.HiddenSize;
            for (int j = 0; j < H; j++)
            {
                // z = (W_ih x + b_ih) + (W_hh h_prev + b_hh),  h = f(z)
                double z = gi[j] + gh[j];
                forward.PreActivations[(row * H) + j] = z;
                stateNext[j] = ReferenceActivation.Apply(p.Nonlinearity, p.LeakySlope, z);
            }
        }

        public override void BackwardStep(int row, double[] dState, double[] dgi, double[] dgh, double[] dStatePrev)
        {
            var p = forward.Parameters;
            int H = p.HiddenSize;
            for (int j = 0; j < H; j++)
            {
                // h = f(z)  =>  dz = dh * f'(z); z is the plain sum gi + gh, so both get dz; h_prev enters only through W_hh.
                double dz = dState[j] * ReferenceActivation.Derivative(p.Nonlinearity, p.LeakySlope, forward.PreActivations[(row * H) + j]);
                gradients!.DPreActivations[(row * H) + j] = dz;
                dgi[j] = dz;
                dgh[j] = dz;
                dStatePrev[j] = 0;
            }
        }
    }
}
