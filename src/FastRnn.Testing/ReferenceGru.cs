// Legend: T time steps, B batch, I input size, H hidden size; gate blocks (G = 3) in PyTorch's order r, z, n.
// GRU cell, linear-before-reset (PyTorch / cuDNN): gi = W_ih x_t + b_ih,  gh = W_hh h_prev + b_hh,  [3H]
//            r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r*gh_n)
//            h_t = (1 - z)*n + z*h_prev
namespace FastRnn.Testing;

/// <summary>
/// The double-precision reference GRU (one layer, one direction, PyTorch's <c>nn.GRU</c> layout, linear-before-reset),
/// written from the equations as plain loops. It shares no code with the fast path.
/// Lengths, direction and truncation follow the same rules as <see cref="ReferenceElman"/>.
/// </summary>
public static class ReferenceGru
{
    /// <summary>G, the number of gate blocks.</summary>
    public const int GateCount = 3;

    /// <summary>The block of the reset gate <c>r</c> (sigmoid) in the gate order.</summary>
    public const int ResetGate = 0;

    /// <summary>The block of the update gate <c>z</c> (sigmoid).</summary>
    public const int UpdateGate = 1;

    /// <summary>The block of the new gate <c>n</c> (tanh), whose recurrent part is scaled by <c>r</c> after the bias (linear-before-reset).</summary>
    public const int NewGate = 2;

    /// <summary>Runs the layer over a padded batch of sequences.</summary>
    /// <param name="parameters">The weights and biases; copied into the result.</param>
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
    public static ReferenceGruForward Forward(
        ReferenceGruParameters parameters, int steps, int batch, double[] x, double[]? h0, int[]? lengths, bool reverse)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        (double[] xCopy, int[] len) = ReferenceRecurrence.CheckInput(parameters, steps, batch, x, lengths);
        double[] h = ReferenceRecurrence.InitialState(h0, batch, parameters.HiddenSize, nameof(h0));
        var result = new ReferenceGruForward(parameters.Clone(), steps, batch, xCopy, h, len, reverse);
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
    /// <returns>The gradients of every parameter and input, and the intermediates.</returns>
    /// <exception cref="ArgumentException">A truncation window was asked for a reverse pass, or a shape does not match.</exception>
    public static ReferenceGruGradients Backward(
        ReferenceGruForward forward, double[] dOutputs, double[]? dhN, int truncationWindow = 0)
    {
        ReferenceRecurrence.CheckBackward(forward, dOutputs, truncationWindow);
        ReferenceRecurrence.CheckFinalGradient(forward, dhN, nameof(dhN));
        var p = forward.Parameters;
        var gradients = new ReferenceGruGradients(forward.Steps, forward.Batch, p.InputSize, p.HiddenSize);
        ReferenceRecurrence.Backward(new Cell(forward, gradients), forward, gradients, dOutputs, [dhN], truncationWindow);
        return gradients;
    }

    private static double Sigmoid(double a) => ReferenceActivation.Apply(Nonlinearity.Sigmoid, 0, a);

    // The pointwise step; state = [h] (P = 1), gates = [r, z, n] (G = 3).
    private sealed class Cell(ReferenceGruForward forward, ReferenceGruGradients? gradients) : ReferenceCell(forward.Parameters)
    {
        public override void ForwardStep(int row, double[] gi, double[] gh, double[] statePrev, double[] stateNext)
        {
            int H = forward.HiddenSize;
            // gates: [3H] of this step, post-activation
            int gates = row * GateCount * H;
            for (int j = 0; j < H; j++)
            {
                int jr = (ResetGate * H) + j, jz = (UpdateGate * H) + j, jn = (NewGate * H) + j;
                double r = Sigmoid(gi[jr] + gh[jr]);
                double z = Sigmoid(gi[jz] + gh[jz]);
                // Linear-before-reset: r scales W_hn h_prev + b_hn, bias included.
                double n = Math.Tanh(gi[jn] + (r * gh[jn]));
                forward.Gates[gates + jr] = r;
                forward.Gates[gates + jz] = z;
                forward.Gates[gates + jn] = n;
                forward.NewGateRecurrent[(row * H) + j] = gh[jn];
                // h_t = (1 - z)*n + z*h_prev
                stateNext[j] = ((1.0 - z) * n) + (z * statePrev[j]);
            }
        }

        public override void BackwardStep(int row, double[] dState, double[] dgi, double[] dgh, double[] dStatePrev)
        {
            int H = forward.HiddenSize;
            int gates = row * GateCount * H;
            for (int j = 0; j < H; j++)
            {
                int jr = (ResetGate * H) + j, jz = (UpdateGate * H) + j, jn = (NewGate * H) + j;
                double r = forward.Gates[gates + jr], z = forward.Gates[gates + jz], n = forward.Gates[gates + jn];
                double hn = forward.NewGateRecurrent[(row * H) + j];
                double hPrev = forward.PreviousStates[(row * H) + j];
                double dh = dState[j];
                // h_t = (1 - z)*n + z*h_prev  =>  dn = dh*(1 - z),  dz = dh*(h_prev - n),  dh_prev (direct) = dh*z
                double dn = dh * (1.0 - z), dz = dh * (hPrev - n);
                // n = tanh(a_n), a_n = gi_n + r*gh_n  =>  da_n = dn*(1 - n^2),  dgi_n = da_n,  dgh_n = da_n*r,  dr = da_n*gh_n
                double daN = dn * (1.0 - (n * n));
                double dr = daN * hn;
                // r, z = sigmoid(gi + gh)  =>  da = d * y(1 - y), the same for both parts.
                double daR = dr * r * (1.0 - r), daZ = dz * z * (1.0 - z);
                dgi[jr] = dgh[jr] = daR;
                dgi[jz] = dgh[jz] = daZ;
                dgi[jn] = daN;
                dgh[jn] = daN * r;
                gradients!.DGates[gates + jr] = daR;
                gradients.DGates[gates + jz] = daZ;
                gradients.DGates[gates + jn] = daN;
                dStatePrev[j] = dh * z;
            }
        }
    }
}
