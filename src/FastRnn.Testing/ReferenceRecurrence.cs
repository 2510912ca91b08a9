// Legend: T time steps, B batch, I input size, H hidden size, G gates per cell, P state parts (h; h and c for an LSTM).
// Per valid step: gi = W_ih x_t + b_ih,  gh = W_hh h_prev + b_hh,  state_t = cell(gi, gh, state_prev).
namespace FastRnn.Testing;

/// <summary>
/// The sequence driver shared by the reference cells: validation, per-sequence lengths, direction, the affine maps,
/// truncated BPTT and padding. Plain loops in <c>double</c>, one sequence at a time.
/// </summary>
internal static class ReferenceRecurrence
{
    /// <summary>Validates the sizes, the input and the lengths common to every forward pass.</summary>
    /// <returns>A copy of <paramref name="x"/> and the lengths (all T for <see langword="null"/>).</returns>
    public static (double[] X, int[] Lengths) CheckInput(ReferenceRnnParameters parameters, int steps, int batch, double[] x, int[]? lengths)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        CheckLength(x, steps * batch * parameters.InputSize, nameof(x));
        return ((double[])x.Clone(), NormalizeLengths(lengths, steps, batch));
    }

    /// <summary>Validates an optional initial state.</summary>
    /// <returns>A copy of <paramref name="state"/>, or zeros, <c>[B, H]</c>.</returns>
    public static double[] InitialState(double[]? state, int batch, int hiddenSize, string name)
    {
        if (state is null)
            return new double[batch * hiddenSize];
        CheckLength(state, batch * hiddenSize, name);
        return (double[])state.Clone();
    }

    /// <summary>Validates the arguments common to every backward pass.</summary>
    public static void CheckBackward(ReferenceRnnForward forward, double[] dOutputs, int truncationWindow)
    {
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(dOutputs);
        ArgumentOutOfRangeException.ThrowIfNegative(truncationWindow);
        if (forward.Reverse && truncationWindow > 0)
            throw new ArgumentException("Truncated BPTT applies to the forward direction only.", nameof(truncationWindow));
        CheckLength(dOutputs, forward.Steps * forward.Batch * forward.HiddenSize, nameof(dOutputs));
    }

    /// <summary>Validates an optional final-state gradient, <c>[B, H]</c>.</summary>
    public static void CheckFinalGradient(ReferenceRnnForward forward, double[]? gradient, string name)
    {
        if (gradient is not null)
            CheckLength(gradient, forward.Batch * forward.HiddenSize, name);
    }

    /// <summary>Runs <paramref name="cell"/> over every sequence of <paramref name="forward"/>, filling its state arrays.</summary>
    public static void Forward(ReferenceCell cell, ReferenceRnnForward forward)
    {
        var p = cell.Parameters;
        int B = forward.Batch, I = p.InputSize, H = p.HiddenSize, G = p.GateCount;
        int parts = forward.InitialStates.Length;
        // gi, gh: [G*H]  statePrev, stateNext: [P*H]
        var gi = new double[G * H];
        var gh = new double[G * H];
        var statePrev = new double[parts * H];
        var stateNext = new double[parts * H];

        for (int b = 0; b < B; b++)
        {
            for (int part = 0; part < parts; part++)
                Array.Copy(forward.InitialStates[part], b * H, statePrev, part * H, H);
            int length = forward.Lengths[b];
            for (int s = 0; s < length; s++)
            {
                int t = forward.Reverse ? length - 1 - s : s;
                int row = (t * B) + b;
                for (int part = 0; part < parts; part++)
                    Array.Copy(statePrev, part * H, forward.PreviousStepStates[part], row * H, H);
                Affine(p.WeightIh, p.BiasIh, G * H, I, forward.X, row * I, gi);
                Affine(p.WeightHh, p.BiasHh, G * H, H, statePrev, 0, gh);
                cell.ForwardStep(row, gi, gh, statePrev, stateNext);
                for (int part = 0; part < parts; part++)
                    Array.Copy(stateNext, part * H, forward.StepStates[part], row * H, H);
                (statePrev, stateNext) = (stateNext, statePrev);
            }
            // After the last processed step (or the initial state for a zero-length sequence).
            for (int part = 0; part < parts; part++)
                Array.Copy(statePrev, part * H, forward.FinalStates[part], b * H, H);
        }
    }

    /// <summary>
    /// Back-propagates through <paramref name="forward"/> into <paramref name="gradients"/>; the arguments were validated by
    /// <see cref="CheckBackward"/> and <see cref="CheckFinalGradient"/>.
    /// </summary>
    /// <param name="cell">The cell, bound to the forward result and the gradients.</param>
    /// <param name="forward">The forward result.</param>
    /// <param name="gradients">The zero-filled gradients; written.</param>
    /// <param name="dOutputs">dL/d outputs, <c>[T, B, H]</c>; padding ignored.</param>
    /// <param name="dFinalStates">Per state part, dL/d final state <c>[B, H]</c> or <see langword="null"/> for zeros.</param>
    /// <param name="truncationWindow">0 for full BPTT; else the carried gradient into step t-1 is cut when t is a positive multiple of it.</param>
    public static void Backward(
        ReferenceCell cell, ReferenceRnnForward forward, ReferenceRnnGradients gradients, double[] dOutputs, double[]?[] dFinalStates, int truncationWindow)
    {
        var p = cell.Parameters;
        int B = forward.Batch, I = p.InputSize, H = p.HiddenSize, G = p.GateCount;
        int parts = forward.InitialStates.Length;
        // dgi, dgh: [G*H]  dState, dStatePrev: [P*H]
        var dgi = new double[G * H];
        var dgh = new double[G * H];
        var dState = new double[parts * H];
        var dStatePrev = new double[parts * H];

        for (int b = 0; b < B; b++)
        {
            // The final-state gradients enter at the last processed step: they are the carried gradient before that step.
            for (int part = 0; part < parts; part++)
            {
                double[]? dFinal = dFinalStates[part];
                if (dFinal is null)
                    Array.Clear(dState, part * H, H);
                else
                    Array.Copy(dFinal, b * H, dState, part * H, H);
            }
            // Walk the processing order backwards.
            int length = forward.Lengths[b];
            for (int s = length - 1; s >= 0; s--)
            {
                int t = forward.Reverse ? length - 1 - s : s;
                int row = (t * B) + b;
                // h_t is both an output and the carried state  =>  dh_t = dY_t + dhNext
                for (int j = 0; j < H; j++)
                {
                    dState[j] += dOutputs[(row * H) + j];
                    gradients.DHidden[(row * H) + j] = dState[j];
                }
                cell.BackwardStep(row, dState, dgi, dgh, dStatePrev);
                // gi = W_ih x + b_ih, gh = W_hh h_prev + b_hh  =>  dW_ih += dgi x^T, db_ih += dgi, dW_hh += dgh h_prev^T, db_hh += dgh
                AccumulateOuter(gradients.DWeightIh, gradients.DBiasIh, G * H, I, dgi, forward.X, row * I);
                AccumulateOuter(gradients.DWeightHh, gradients.DBiasHh, G * H, H, dgh, forward.PreviousStates, row * H);
                // dx_t = W_ih^T dgi (DX is zero here: each valid step is visited once).
                AddTransposed(p.WeightIh, G * H, I, dgi, gradients.DX, row * I);
                // dh_prev = direct part + W_hh^T dgh
                AddTransposed(p.WeightHh, G * H, H, dgh, dStatePrev, 0);
                // Cut at a chunk boundary: the state was detached there.
                if (truncationWindow > 0 && t > 0 && t % truncationWindow == 0)
                    Array.Clear(dStatePrev);
                (dState, dStatePrev) = (dStatePrev, dState);
            }
            // The carried gradient out of the first processed step is dL/d initial state (the final one for a zero-length sequence).
            for (int part = 0; part < parts; part++)
                Array.Copy(dState, part * H, gradients.DInitialStates[part], b * H, H);
        }
    }

    /// <summary>Throws unless <paramref name="array"/> has <paramref name="expected"/> elements.</summary>
    public static void CheckLength(double[] array, int expected, string name)
    {
        if (array.Length != expected)
            throw new ArgumentException($"{name} has {array.Length} elements, expected {expected}.", name);
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

    // y[j] = bias[j] + sum_k w[j, k] v[vOffset + k]
    // w: [rows, cols]  bias, y: [rows]  v: [cols] at vOffset
    private static void Affine(double[] w, double[] bias, int rows, int cols, double[] v, int vOffset, double[] y)
    {
        for (int j = 0; j < rows; j++)
        {
            double acc = bias[j];
            for (int k = 0; k < cols; k++)
                acc += w[(j * cols) + k] * v[vOffset + k];
            y[j] = acc;
        }
    }

    // dw += d v^T,  db += d
    // dw: [rows, cols]  db, d: [rows]  v: [cols] at vOffset
    private static void AccumulateOuter(double[] dw, double[] db, int rows, int cols, double[] d, double[] v, int vOffset)
    {
        for (int j = 0; j < rows; j++)
        {
            db[j] += d[j];
            for (int k = 0; k < cols; k++)
                dw[(j * cols) + k] += d[j] * v[vOffset + k];
        }
    }

    // y[yOffset + k] += sum_j w[j, k] d[j]
    // w: [rows, cols]  d: [rows]  y: [cols] at yOffset
    private static void AddTransposed(double[] w, int rows, int cols, double[] d, double[] y, int yOffset)
    {
        for (int k = 0; k < cols; k++)
        {
            double acc = 0;
            for (int j = 0; j < rows; j++)
                acc += w[(j * cols) + k] * d[j];
            y[yOffset + k] += acc;
        }
    }
}
