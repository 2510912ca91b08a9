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
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        int I = parameters.InputSize, H = parameters.HiddenSize;
        CheckLength(x, steps * batch * I, nameof(x));
        if (h0 is not null)
            CheckLength(h0, batch * H, nameof(h0));
        int[] len = NormalizeLengths(lengths, steps, batch);

        // x: [T, B, I]  h0: [B, H]
        var result = new ReferenceElmanForward(
            parameters.Clone(), steps, batch, (double[])x.Clone(), h0 is null ? new double[batch * H] : (double[])h0.Clone(), len, reverse);
        var p = result.Parameters;
        // outputs, z, hPrev: [T, B, H]  hN: [B, H]
        double[] y = result.Outputs, z = result.PreActivations, prev = result.PreviousStates;
        var hPrev = new double[H];
        var hNew = new double[H];

        for (int b = 0; b < batch; b++)
        {
            Array.Copy(result.H0, b * H, hPrev, 0, H);
            for (int s = 0; s < len[b]; s++)
            {
                int t = reverse ? len[b] - 1 - s : s;
                int xOff = ((t * batch) + b) * I;
                int hOff = ((t * batch) + b) * H;
                for (int j = 0; j < H; j++)
                {
                    // z_j = sum_i W_ih[j, i] x_t[i] + b_ih[j] + sum_k W_hh[j, k] h_prev[k] + b_hh[j]
                    double acc = p.BiasIh[j] + p.BiasHh[j];
                    for (int i = 0; i < I; i++)
                        acc += p.WeightIh[(j * I) + i] * x[xOff + i];
                    for (int k = 0; k < H; k++)
                        acc += p.WeightHh[(j * H) + k] * hPrev[k];
                    z[hOff + j] = acc;
                    prev[hOff + j] = hPrev[j];
                    hNew[j] = ReferenceActivation.Apply(p.Nonlinearity, p.LeakySlope, acc);
                    y[hOff + j] = hNew[j];
                }
                (hPrev, hNew) = (hNew, hPrev);
            }
            // After the last processed step (or h0 for a zero-length sequence).
            Array.Copy(hPrev, 0, result.HN, b * H, H);
        }
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
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(dOutputs);
        ArgumentOutOfRangeException.ThrowIfNegative(truncationWindow);
        if (forward.Reverse && truncationWindow > 0)
            throw new ArgumentException("Truncated BPTT applies to the forward direction only.", nameof(truncationWindow));
        var p = forward.Parameters;
        int T = forward.Steps, B = forward.Batch, I = p.InputSize, H = p.HiddenSize;
        CheckLength(dOutputs, T * B * H, nameof(dOutputs));
        if (dhN is not null)
            CheckLength(dhN, B * H, nameof(dhN));

        var g = new ReferenceElmanGradients(T, B, I, H);
        int[] len = forward.Lengths;
        var dhNext = new double[H];
        var dz = new double[H];

        for (int b = 0; b < B; b++)
        {
            // dh_n enters at the last processed step: it is the carried gradient before that step.
            if (dhN is null)
                Array.Clear(dhNext);
            else
                Array.Copy(dhN, b * H, dhNext, 0, H);
            // Walk the processing order backwards.
            for (int s = len[b] - 1; s >= 0; s--)
            {
                int t = forward.Reverse ? len[b] - 1 - s : s;
                int xOff = ((t * B) + b) * I;
                int hOff = ((t * B) + b) * H;
                for (int j = 0; j < H; j++)
                {
                    // h_t = f(z_t)  =>  dh_t = dY_t + dhNext,  dz_t = dh_t * f'(z_t)
                    double dh = dOutputs[hOff + j] + dhNext[j];
                    g.DHidden[hOff + j] = dh;
                    dz[j] = dh * ReferenceActivation.Derivative(p.Nonlinearity, p.LeakySlope, forward.PreActivations[hOff + j]);
                    g.DPreActivations[hOff + j] = dz[j];
                }
                for (int j = 0; j < H; j++)
                {
                    // z = W_ih x + b_ih + W_hh h_prev + b_hh  =>  dW_ih += dz x^T, dW_hh += dz h_prev^T, db += dz
                    g.DBiasIh[j] += dz[j];
                    g.DBiasHh[j] += dz[j];
                    for (int i = 0; i < I; i++)
                        g.DWeightIh[(j * I) + i] += dz[j] * forward.X[xOff + i];
                    for (int k = 0; k < H; k++)
                        g.DWeightHh[(j * H) + k] += dz[j] * forward.PreviousStates[hOff + k];
                }
                for (int i = 0; i < I; i++)
                {
                    // dx_t = W_ih^T dz
                    double acc = 0;
                    for (int j = 0; j < H; j++)
                        acc += p.WeightIh[(j * I) + i] * dz[j];
                    g.DX[xOff + i] = acc;
                }
                bool cut = truncationWindow > 0 && t > 0 && t % truncationWindow == 0;
                for (int k = 0; k < H; k++)
                {
                    // dh_prev = W_hh^T dz, cut at a chunk boundary (the state was detached there).
                    double acc = 0;
                    if (!cut)
                    {
                        for (int j = 0; j < H; j++)
                            acc += p.WeightHh[(j * H) + k] * dz[j];
                    }
                    dhNext[k] = acc;
                }
            }
            // The carried gradient out of the first processed step is dh0 (dh_n itself for a zero-length sequence).
            Array.Copy(dhNext, 0, g.DH0, b * H, H);
        }
        return g;
    }

    private static int[] NormalizeLengths(int[]? lengths, int steps, int batch)
    {
        var len = new int[batch];
        if (lengths is null)
        {
            Array.Fill(len, steps);
            return len;
        }
        if (lengths.Length != batch)
            throw new ArgumentException($"lengths has {lengths.Length} entries, expected B = {batch}.", nameof(lengths));
        for (int b = 0; b < batch; b++)
        {
            if (lengths[b] < 0 || lengths[b] > steps)
                throw new ArgumentOutOfRangeException(nameof(lengths), $"lengths[{b}] = {lengths[b]} is outside 0..{steps}.");
            len[b] = lengths[b];
        }
        return len;
    }

    private static void CheckLength(double[] array, int expected, string name)
    {
        if (array.Length != expected)
            throw new ArgumentException($"{name} has {array.Length} elements, expected {expected}.", name);
    }
}
