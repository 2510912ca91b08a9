// Legend: B_t active rows at this step, H hidden size, G gates per cell.
namespace FastRnn.Cells;

/// <summary>
/// The pointwise ("post-GEMM") part of one time step of a recurrent cell. The sequence driver owns the time loop and
/// the GEMMs; a cell only turns gate pre-activations into states, and state gradients into gate gradients.
/// </summary>
internal interface IRecurrentCell
{
    /// <summary>G: gate blocks per hidden unit in the PyTorch weight layout (Elman 1, GRU 3, LSTM 4).</summary>
    static abstract int GateCount { get; }

    /// <summary>Whether the cell carries a cell state c next to h (LSTM).</summary>
    static abstract bool HasCellState { get; }

    /// <summary>
    /// Whether the recurrent projection <c>W_hh h + b_hh</c> must be kept apart from the input projection (GRU's
    /// linear-before-reset n gate); then the driver gives it to the cell separately and b_hh is not folded into the
    /// gates, and the cell returns separate input-side and hidden-side gate gradients.
    /// </summary>
    static abstract bool HasSeparateRecurrentProjection { get; }

    /// <summary>
    /// The first gate block whose hidden-side gate gradients (<see cref="BackwardStep.DGatesHidden"/>) differ from the
    /// input-side ones (<see cref="BackwardStep.DGates"/>); <see cref="GateCount"/> when none does. The weight gradients
    /// pack each block of input-side gradients once for dW_ih and, below this gate, for dW_hh too.
    /// </summary>
    static abstract int FirstSeparateHiddenGradientGate { get; }

    /// <summary>
    /// Whether the backward step reads what the forward step left in <see cref="ForwardStep.Gates"/>. When it does not
    /// (Elman: f' comes from h), and the input projection runs step by step, the driver lets the step's GEMMs write
    /// the pre-activations straight into the h rows and the cell applies f in place, so no [N, G*H] gate rows are
    /// written and read back through memory.
    /// </summary>
    static abstract bool BackwardReadsGates { get; }

    void ForwardStep(in ForwardStep step);

    void BackwardStep(in BackwardStep step);
}

/// <summary>How a parallel pass may split the hidden units among workers.</summary>
internal static class UnitSlice
{
    /// <summary>
    /// Slice starts are multiples of the widest vector (16 floats): a cell's loop over [start, end) then puts each unit
    /// in the same vector or scalar tail position as the loop over [0, H) does, so results do not depend on the split.
    /// </summary>
    public const int Alignment = 16;
}

/// <summary>The spans of one forward step; all [B_t, ...] blocks are contiguous rows.</summary>
internal ref struct ForwardStep
{
    public int Rows;
    public int Hidden;

    /// <summary>
    /// The hidden units [UnitStart, UnitEnd) this call computes, at the same offsets within every gate block; all of
    /// [0, H) on one thread. A worker of a parallel pass takes a slice whose start is a multiple of
    /// <see cref="UnitSlice.Alignment"/>, so each unit runs in the same vector lane or scalar tail as on one thread.
    /// </summary>
    public int UnitStart;

    /// <summary>End (exclusive) of the units this call computes; see <see cref="UnitStart"/>.</summary>
    public int UnitEnd;

    /// <summary>[B_t, G*H] in: the input projection plus (unless separate) W_hh h, without biases; out: what backward needs.</summary>
    public Span<float> Gates;

    /// <summary>
    /// [B_t, G*H] where the cell reads the pre-activations instead of <see cref="Gates"/>, which it then only writes: the
    /// driver's cached step block (see SequenceDriver.UsesStepGates), so the saved rows are written once, not copied
    /// into and then rewritten in place. Empty: read from <see cref="Gates"/>. Only for cells whose backward reads the gates.
    /// </summary>
    public ReadOnlySpan<float> PreActivations;

    /// <summary>[G*H] the bias the cell adds to <see cref="Gates"/>: b_ih + b_hh (GRU: b_ih + b_hh for r and z, b_in for n).</summary>
    public ReadOnlySpan<float> Bias;

    /// <summary>[B_t, G*H] W_hh h_{t-1} (only with a separate recurrent projection).</summary>
    public ReadOnlySpan<float> RecurrentProjection;

    /// <summary>
    /// Whether the driver computed the step's x and h products as one (SequenceDriver.FusesStepProducts): then
    /// <see cref="Gates"/> (or <see cref="PreActivations"/>) hold W_hh h for every gate that adds it whole, and GRU's
    /// <see cref="RecurrentProjection"/> holds only the n block (r multiplies W_hn h + b_hn), its r and z blocks unwritten.
    /// </summary>
    public bool FusedRecurrentProduct;

    /// <summary>[G*H] b_hh (only with a separate recurrent projection).</summary>
    public ReadOnlySpan<float> RecurrentBias;

    /// <summary>[B_t, H] extra per-step values the cell saves (GRU: W_hn h + b_hn).</summary>
    public Span<float> Saved;

    public ReadOnlySpan<float> HPrev;
    public ReadOnlySpan<float> CPrev;
    public Span<float> H;
    public Span<float> C;
}

/// <summary>The spans of one backward step.</summary>
internal ref struct BackwardStep
{
    public int Rows;
    public int Hidden;

    /// <summary>
    /// The hidden units [UnitStart, UnitEnd) this call computes, at the same offsets within every gate block; all of
    /// [0, H) on one thread. A worker of a parallel pass takes a slice whose start is a multiple of
    /// <see cref="UnitSlice.Alignment"/>, so each unit runs in the same vector lane or scalar tail as on one thread.
    /// </summary>
    public int UnitStart;

    /// <summary>End (exclusive) of the units this call computes; see <see cref="UnitStart"/>.</summary>
    public int UnitEnd;

    /// <summary>[B_t, H] total dL/dh_t (output gradient plus carried).</summary>
    public ReadOnlySpan<float> Dh;

    /// <summary>[B_t, H] in: dL/dc_t carried from t + 1 (cells with state); out: dL/dc_{t-1}.</summary>
    public Span<float> DcNext;

    public ReadOnlySpan<float> Gates;
    public ReadOnlySpan<float> Saved;
    public ReadOnlySpan<float> HPrev;
    public ReadOnlySpan<float> CPrev;
    public ReadOnlySpan<float> H;
    public ReadOnlySpan<float> C;

    /// <summary>[B_t, G*H] out: gradient at the input-side pre-activations (and at the hidden side unless separate).</summary>
    public Span<float> DGates;

    /// <summary>[B_t, G*H] out: gradient at the hidden-side pre-activations (only with a separate recurrent projection).</summary>
    public Span<float> DGatesHidden;

    /// <summary>[B_t, H] out: the part of dL/dh_{t-1} that does not pass through W_hh (only with a separate recurrent projection).</summary>
    public Span<float> DhPrevDirect;

    /// <summary>
    /// Whether the step's weights stream through L2 (<see cref="Kernels.Gemm.StepWeightsStream"/>): then the saved rows
    /// this step reads were pushed out of the caches long ago, and a cell that reads them row by row asks for the next
    /// row's lines while it computes one. A hint only: it never changes a result.
    /// </summary>
    public bool FetchesNextRow;
}
