// Legend: T time steps, B batch, I input size, H hidden size; gate blocks (G = 4) in PyTorch's order i, f, g, o.
// LSTM cell: a = W_ih x_t + b_ih + W_hh h_prev + b_hh,  [4H]
//            i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
//            c_t = f*c_prev + i*g,  h_t = o*tanh(c_t)
namespace FastRnn.Testing;

/// <summary>
/// The double-precision reference LSTM (one layer, one direction, PyTorch's <c>nn.LSTM</c> layout), written from the equations as plain loops.
/// It shares no code with the fast path. Lengths, direction and truncation follow the same rules as <see cref="ReferenceElman"/>,
/// with the cell state <c>c</c> carried beside <c>h</c>.
/// </summary>
public static class ReferenceLstm
{
    /// <summary>G, the number of gate blocks.</summary>
    public const int GateCount = 4;

    /// <summary>The block of the input gate <c>i</c> (sigmoid) in the gate order.</summary>
    public const int InputGate = 0;

    /// <summary>The block of the forget gate <c>f</c> (sigmoid).</summary>
    public const int ForgetGate = 1;

    /// <summary>The block of the cell candidate <c>g</c> (tanh).</summary>
    public const int CellGate = 2;

    /// <summary>The block of the output gate <c>o</c> (sigmoid).</summary>
    public const int OutputGate = 3;

    /// <summary>Runs the layer over a padded batch of sequences.</summary>
    /// <param name="parameters">The weights and biases; copied into the result.</param>
    /// <param name="steps">T, the number of time steps of the padded tensors.</param>
    /// <param name="batch">B, the batch size.</param>
    /// <param name="x">The input, <c>[T, B, I]</c>. Values at <c>t &gt;= lengths[b]</c> are never read (NaN there changes nothing).</param>
    /// <param name="h0">The initial hidden state, <c>[B, H]</c>; <see langword="null"/> means zeros.</param>
    /// <param name="c0">The initial cell state, <c>[B, H]</c>; <see langword="null"/> means zeros.</param>
    /// <param name="lengths">The sequence lengths, <c>[B]</c>, each in <c>0..T</c>; <see langword="null"/> means all T.</param>
    /// <param name="reverse">
    /// <see langword="false"/>: each sequence is processed at t = 0, 1, ..., lengths[b]-1;
    /// <see langword="true"/>: at t = lengths[b]-1 down to 0, and <c>h_n</c>, <c>c_n</c> are the states at t = 0.
    /// </param>
    /// <returns>The outputs, <c>h_n</c>, <c>c_n</c> and every intermediate.</returns>
    public static ReferenceLstmForward Forward(
        ReferenceLstmParameters parameters, int steps, int batch, double[] x, double[]? h0, double[]? c0, int[]? lengths, bool reverse)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        (double[] xCopy, int[] len) = ReferenceRecurrence.CheckInput(parameters, steps, batch, x, lengths);
        double[] h = ReferenceRecurrence.InitialState(h0, batch, parameters.HiddenSize, nameof(h0));
        double[] c = ReferenceRecurrence.InitialState(c0, batch, parameters.HiddenSize, nameof(c0));
        var result = new ReferenceLstmForward(parameters.Clone(), steps, batch, xCopy, h, c, len, reverse);
        ReferenceRecurrence.Forward(new Cell(result, null), result);
        return result;
    }

    /// <summary>Back-propagates through a forward pass. All returned gradients are fresh arrays (nothing accumulates).</summary>
    /// <param name="forward">The result of <see cref="Forward"/>.</param>
    /// <param name="dOutputs">dL/d outputs, <c>[T, B, H]</c>; values at padding are ignored.</param>
    /// <param name="dhN">dL/dh_n, <c>[B, H]</c>, entering at each sequence's last processed step; <see langword="null"/> means zeros.</param>
    /// <param name="dcN">dL/dc_n, <c>[B, H]</c>, entering at each sequence's last processed step; <see langword="null"/> means zeros.</param>
    /// <param name="truncationWindow">
    /// 0 for full BPTT. With k &gt; 0 (forward direction only) the gradients carried from step t into <c>h_{t-1}</c> and <c>c_{t-1}</c>
    /// are cut to zero whenever t is a positive multiple of k, which equals detaching the state every k steps;
    /// only the first chunk's gradient reaches <c>dh0</c> and <c>dc0</c>.
    /// </param>
    /// <returns>The gradients of every parameter and input, and the intermediates.</returns>
    /// <exception cref="ArgumentException">A truncation window was asked for a reverse pass, or a shape does not match.</exception>
    public static ReferenceLstmGradients Backward(
        ReferenceLstmForward forward, double[] dOutputs, double[]? dhN, double[]? dcN, int truncationWindow = 0)
    {
        ReferenceRecurrence.CheckBackward(forward, dOutputs, truncationWindow);
        ReferenceRecurrence.CheckFinalGradient(forward, dhN, nameof(dhN));
        ReferenceRecurrence.CheckFinalGradient(forward, dcN, nameof(dcN));
        var p = forward.Parameters;
        var gradients = new ReferenceLstmGradients(forward.Steps, forward.Batch, p.InputSize, p.HiddenSize);
        ReferenceRecurrence.Backward(new Cell(forward, gradients), forward, gradients, dOutputs, [dhN, dcN], truncationWindow);
        return gradients;
    }

    private static double Sigmoid(double a) => ReferenceActivation.Apply(Nonlinearity.Sigmoid, 0, a);

    // The pointwise step; state = [h, c] (P = 2), gates = [i, f, g, o] (G = 4).
    private sealed class Cell(ReferenceLstmForward forward, ReferenceLstmGradients? gradients) : ReferenceCell(forward.Parameters)
    {
        public override void ForwardStep(int row, double[] gi, double[] gh, double[] statePrev, double[] stateNext)
        {
            int H = forward.HiddenSize;
            // gates: [4H] of this step, post-activation
            int gates = row * GateCount * H;
            for (int j = 0; j < H; j++)
            {
                int ji = (InputGate * H) + j, jf = (ForgetGate * H) + j, jg = (CellGate * H) + j, jo = (OutputGate * H) + j;
                double i = Sigmoid(gi[ji] + gh[ji]);
                double f = Sigmoid(gi[jf] + gh[jf]);
                double g = Math.Tanh(gi[jg] + gh[jg]);
                double o = Sigmoid(gi[jo] + gh[jo]);
                forward.Gates[gates + ji] = i;
                forward.Gates[gates + jf] = f;
                forward.Gates[gates + jg] = g;
                forward.Gates[gates + jo] = o;
                // c_t = f*c_prev + i*g,  h_t = o*tanh(c_t)
                double c = (f * statePrev[H + j]) + (i * g);
                stateNext[H + j] = c;
                stateNext[j] = o * Math.Tanh(c);
            }
        }

        public override void BackwardStep(int row, double[] dState, double[] dgi, double[] dgh, double[] dStatePrev)
        {
            int H = forward.HiddenSize;
            int gates = row * GateCount * H;
            for (int j = 0; j < H; j++)
            {
                int ji = (InputGate * H) + j, jf = (ForgetGate * H) + j, jg = (CellGate * H) + j, jo = (OutputGate * H) + j;
                double i = forward.Gates[gates + ji], f = forward.Gates[gates + jf], g = forward.Gates[gates + jg], o = forward.Gates[gates + jo];
                double cPrev = forward.PreviousCellStates[(row * H) + j];
                double tanhC = Math.Tanh(forward.CellStates[(row * H) + j]);
                double dh = dState[j];
                // h_t = o*tanh(c_t)  =>  do = dh*tanh(c_t),  dc_t = dcNext + dh*o*(1 - tanh^2(c_t))
                double dO = dh * tanhC;
                double dc = dState[H + j] + (dh * o * (1.0 - (tanhC * tanhC)));
                // c_t = f*c_prev + i*g  =>  di = dc*g, df = dc*c_prev, dg = dc*i, dc_prev = dc*f
                double dI = dc * g, dF = dc * cPrev, dG = dc * i;
                // Through the activations, from their outputs: sigmoid' = y(1 - y), tanh' = 1 - y^2.
                double daI = dI * i * (1.0 - i), daF = dF * f * (1.0 - f), daG = dG * (1.0 - (g * g)), daO = dO * o * (1.0 - o);
                // a = gi + gh, so both parts get da.
                dgi[ji] = dgh[ji] = daI;
                dgi[jf] = dgh[jf] = daF;
                dgi[jg] = dgh[jg] = daG;
                dgi[jo] = dgh[jo] = daO;
                gradients!.DCellStates[(row * H) + j] = dc;
                gradients.DGates[gates + ji] = daI;
                gradients.DGates[gates + jf] = daF;
                gradients.DGates[gates + jg] = daG;
                gradients.DGates[gates + jo] = daO;
                // h_prev enters only through W_hh (added by the driver); c_prev directly.
                dStatePrev[j] = 0;
                dStatePrev[H + j] = dc * f;
            }
        }
    }
}
