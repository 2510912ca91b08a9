// Legend: T time steps, B batch, I input size, H hidden size, P state parts (h; h and c for an LSTM).
namespace FastRnn.Testing;

/// <summary>
/// What one reference forward pass computed and saved, the part common to <see cref="ReferenceElmanForward"/>,
/// <see cref="ReferenceGruForward"/> and <see cref="ReferenceLstmForward"/>: the inputs (copied, so later changes to the caller's arrays
/// do not matter), the outputs, <c>h_n</c> and the state each valid step started from.
/// </summary>
public abstract class ReferenceRnnForward
{
    private protected ReferenceRnnForward(int steps, int batch, int hiddenSize, double[] x, double[][] initialStates, int[] lengths, bool reverse)
    {
        Steps = steps;
        Batch = batch;
        HiddenSize = hiddenSize;
        X = x;
        Lengths = lengths;
        Reverse = reverse;
        // Per state part: initial and final [B, H]; after and before each step [T, B, H] (0 at padding).
        InitialStates = initialStates;
        FinalStates = Allocate(initialStates.Length, batch * hiddenSize);
        StepStates = Allocate(initialStates.Length, steps * batch * hiddenSize);
        PreviousStepStates = Allocate(initialStates.Length, steps * batch * hiddenSize);
    }

    /// <summary>T, the number of time steps of the padded tensors.</summary>
    public int Steps { get; }

    /// <summary>B, the batch size.</summary>
    public int Batch { get; }

    /// <summary>H, the number of hidden units.</summary>
    public int HiddenSize { get; }

    /// <summary>A copy of the input, <c>[T, B, I]</c>; padding is copied as given and never read.</summary>
    public double[] X { get; }

    /// <summary>The initial state used, <c>[B, H]</c> (zeros when none was given).</summary>
    public double[] H0 => InitialStates[0];

    /// <summary>The sequence lengths used, <c>[B]</c> (all T when none were given).</summary>
    public int[] Lengths { get; }

    /// <summary>Whether the sequences were processed from their last valid step down to t = 0.</summary>
    public bool Reverse { get; }

    /// <summary><c>h_t</c>, <c>[T, B, H]</c>; exactly 0 at <c>t &gt;= lengths[b]</c>.</summary>
    public double[] Outputs => StepStates[0];

    /// <summary>The state after each sequence's last processed step, <c>[B, H]</c>; <c>h0</c> for a zero-length sequence.</summary>
    public double[] HN => FinalStates[0];

    /// <summary>The <c>h_prev</c> used at each valid step, <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] PreviousStates => PreviousStepStates[0];

    /// <summary>Per state part (h, then c for an LSTM): the initial state, <c>[B, H]</c>.</summary>
    internal double[][] InitialStates { get; }

    /// <summary>Per state part: the state after the last processed step, <c>[B, H]</c>.</summary>
    internal double[][] FinalStates { get; }

    /// <summary>Per state part: the state after each valid step, <c>[T, B, H]</c>.</summary>
    internal double[][] StepStates { get; }

    /// <summary>Per state part: the state before each valid step, <c>[T, B, H]</c>.</summary>
    internal double[][] PreviousStepStates { get; }

    private static double[][] Allocate(int parts, int length)
    {
        var arrays = new double[parts][];
        for (int p = 0; p < parts; p++)
            arrays[p] = new double[length];
        return arrays;
    }
}
