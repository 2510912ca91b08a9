// Legend: T time steps, B batch, I input size, H hidden size, G gates, N = sum of lengths (packed rows).
//
// Everything one forward pass saves for its backward, carved from one pinned allocation at 64-byte aligned
// offsets. Rows are stored "packed" (cuDNN's layout): the batch is ordered by length, longest first, so the
// sequences active at step s are the prefix [0, B_s), and step s's rows sit at rowStart[s]. Padding is never
// copied in and short sequences cost nothing.
//
// Segment starts are 64-byte aligned; row strides are dense rather than padded to 64 bytes (the design's proposal)
// because each step's rows must form one contiguous block for the GEMMs and the fused pointwise loops.
//
//   xPacked : [N, I]            the inputs, gathered in processing order
//   gates   : [N, G*H]          the projections (biases are added by the cell), then whatever the cell saves
//   states  : [B + N, H]        slot 0 = h0 (B rows), slot s+1 = h after step s (B_s rows)
//   dGates  : [P + B, G*H]      gate gradients: a ring of period P (a multiple of the 256-row weight-gradient blocks)
//                               plus a tail for the step that wraps; [N, G*H] below B = 16 (see GateGradientRow)
//   rows    : [T * min(B, 15), I]  packed dX, below B = 16 only
//   dhNext, dh : [B, H]         carried and total state gradients
//   bias, biasGradient : [G*H], [2, G*H]   folded biases; bias-gradient sums (input side, hidden side)
//   cells   : [B + N, H]        LSTM only: c in the same slots as states
//   saved   : [N, H]            GRU only: W_hn h + b_hn per step
//   dGatesHidden : like dGates  GRU only: hidden-side gate gradients (differ from dGates in the n block)
//   projection : [B, G*H]       GRU only: W_hh h_{t-1} of the current step
//   dcNext  : [B, H]            LSTM only: carried cell-state gradient
//   packedW : the recurrent weight packed for the GEMM (once per call)
//   gemm    : the GEMM's packing scratch
//
// Outside the buffer, for the opt-in gradient-norm recording (FastRnn.Diagnostics.GradientNormRecorder):
//   hiddenSquares, cellSquares : [maxT] double   sum over the batch of |dL/dh_t|^2 (|dL/dc_t|^2, LSTM only)
//   hiddenNorms, cellNorms     : [maxT] float    their square roots
// Sums of squares are kept in double: a float sum of squares overflows at norms near 1.8e19, which an exploding
// gradient reaches long before its float elements do.
using FastRnn.Kernels;

namespace FastRnn.Layers;

/// <summary>
/// Holds everything one forward pass of a <see cref="RecurrentLayer"/> saves for its backward pass, sized once for
/// <c>(maxSequenceLength, maxBatchSize)</c>. Pass the same workspace to <c>Forward</c> and then <c>Backward</c>;
/// use several workspaces to keep several passes in flight (one per thread, or one per step when stepping).
/// </summary>
/// <remarks>A call with more steps or a larger batch than the workspace was created for throws; nothing resizes.</remarks>
public sealed class RecurrentWorkspace
{
    private const int AlignFloats = AlignedMemory.Alignment / sizeof(float);

    private readonly float[] _buffer;
    private readonly int _bufferStart;
    private readonly double[] _hiddenSquares;
    private readonly double[] _cellSquares;
    private readonly float[] _hiddenNorms;
    private readonly float[] _cellNorms;
    private int _recordedSteps;

    // holdAllGateGradients, a test hook: keep every packed row's gate gradients (no ring, see GateGradientRow).
    internal RecurrentWorkspace(int maxSequenceLength, int maxBatchSize, int inputSize, int hiddenSize, int gateCount, bool holdAllGateGradients = false)
    {
        ThrowHelper.ThrowIfNotPositive(maxSequenceLength);
        ThrowHelper.ThrowIfNotPositive(maxBatchSize);
        MaxSequenceLength = maxSequenceLength;
        MaxBatchSize = maxBatchSize;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        GateCount = gateCount;

        long maxRows = (long)maxSequenceLength * maxBatchSize;
        long gateWidth = (long)gateCount * hiddenSize;
        long offset = 0;
        XPackedOffset = Carve(ref offset, maxRows * inputSize);
        GatesOffset = Carve(ref offset, maxRows * gateWidth);
        StatesOffset = Carve(ref offset, (maxRows + maxBatchSize) * hiddenSize);
        // dGates (and GRU's dGatesHidden) as a ring of GateGradientPeriod rows plus a tail (see GateGradientRow); the
        // whole [N, G*H] only below B = 16, where dX is one product over all rows after the time loop.
        // The test hook asks for the period of a batch below 16, which keeps every row.
        GateGradientPeriod = GateGradientRingPeriod(maxRows, holdAllGateGradients ? 1 : maxBatchSize);
        long gateGradientRows = GateGradientPeriod >= maxRows ? maxRows : GateGradientPeriod + maxBatchSize;
        DGatesOffset = Carve(ref offset, gateGradientRows * gateWidth);
        // dX over all packed rows [N, I], only below B = 16 (from there on dX is computed step by step).
        RowsOffset = Carve(ref offset, (long)maxSequenceLength * Math.Min(maxBatchSize, SequenceDriver.PerStepProjectionMinBatch - 1) * inputSize);
        DhNextOffset = Carve(ref offset, (long)maxBatchSize * hiddenSize);
        DhOffset = Carve(ref offset, (long)maxBatchSize * hiddenSize);
        BiasOffset = Carve(ref offset, gateWidth);
        BiasGradientOffset = Carve(ref offset, 2 * gateWidth);
        // GRU's fused forward packs [r z] and n from panel boundaries (SequenceDriver.PackStepColumns): up to a panel more.
        int groupPadding = gateCount == 3 ? Gemm.MaxPanelWidth : 0;
        PackedWeightOffset = Carve(ref offset, Math.Max(Gemm.PackedLength(hiddenSize, (int)gateWidth) + (hiddenSize * groupPadding), Gemm.PackedLength((int)gateWidth, hiddenSize)));
        PackedInputWeightOffset = Carve(ref offset, Math.Max(Gemm.PackedLength(inputSize, (int)gateWidth) + (inputSize * groupPadding), Gemm.PackedLength((int)gateWidth, inputSize)));
        DxStepOffset = Carve(ref offset, (long)maxBatchSize * inputSize);
        StepGatesOffset = Carve(ref offset, (long)maxBatchSize * gateWidth);
        GemmScratchLength = Math.Max(Gemm.ScratchLength, WeightGradientBlocks.ScratchLength(maxRows));
        GemmScratchOffset = Carve(ref offset, GemmScratchLength);

        // G decides the cell: 4 is the LSTM (cell state), 3 the GRU (separate recurrent projection).
        HasCellState = gateCount == 4;
        HasSeparateProjection = gateCount == 3;
        CellsOffset = Carve(ref offset, HasCellState ? (maxRows + maxBatchSize) * hiddenSize : 0);
        DcNextOffset = Carve(ref offset, HasCellState ? (long)maxBatchSize * hiddenSize : 0);
        SavedOffset = Carve(ref offset, HasSeparateProjection ? maxRows * hiddenSize : 0);
        DGatesHiddenOffset = Carve(ref offset, HasSeparateProjection ? gateGradientRows * gateWidth : 0);
        ProjectionOffset = Carve(ref offset, HasSeparateProjection ? maxBatchSize * gateWidth : 0);
        if (offset + AlignFloats > Array.MaxLength)
        {
            ThrowHelper.ThrowArgument(nameof(maxSequenceLength), $"a workspace for T={maxSequenceLength}, B={maxBatchSize}, I={inputSize}, H={hiddenSize}, G={gateCount} needs {offset} floats, more than one array can hold");
        }

        _buffer = AlignedMemory.AllocateArray((int)offset, out _bufferStart);

        Order = new int[maxBatchSize];
        SortedLengths = new int[maxBatchSize];
        BatchAt = new int[maxSequenceLength + 1];
        RowStart = new int[maxSequenceLength + 1];
        Counts = new int[maxSequenceLength + 1];

        _hiddenSquares = new double[maxSequenceLength];
        _hiddenNorms = new float[maxSequenceLength];
        _cellSquares = HasCellState ? new double[maxSequenceLength] : [];
        _cellNorms = HasCellState ? new float[maxSequenceLength] : [];
    }

    /// <summary>The largest T a call may use.</summary>
    public int MaxSequenceLength { get; }

    /// <summary>The largest B a call may use.</summary>
    public int MaxBatchSize { get; }

    /// <summary>I of the layer this workspace serves.</summary>
    public int InputSize { get; }

    /// <summary>H of the layer this workspace serves.</summary>
    public int HiddenSize { get; }

    /// <summary>G of the layer this workspace serves.</summary>
    public int GateCount { get; }

    /// <summary>Bytes of W_ih and W_hh for <paramref name="gateCount"/> gates: what the time loops' size rules compare with the caches.</summary>
    internal long WeightBytes(int gateCount) => (long)(InputSize + HiddenSize) * gateCount * HiddenSize * sizeof(float);

    /// <summary>
    /// The worker pool the passes through this workspace run on, or <see langword="null"/> (the default) for the calling
    /// thread alone. Outputs and every gradient are bitwise identical with or without a pool, for any number of workers.
    /// </summary>
    /// <remarks>
    /// A pass uses at most one worker per 32 hidden units, and fewer when a time step is too small to pay for a barrier
    /// (see docs/threading.md); a pass that would get one worker runs on the calling thread without touching the pool, and
    /// so does a backward pass that records gradient norms (<see cref="RecordGradientNorms"/>).
    /// Each thread that runs a share keeps its own packing buffers (a GEMM scratch of 640 KiB and its slice of W_hh);
    /// the first backward pass on a pool also gives this workspace the weight-gradient slots its workers pack together
    /// (two buffers of up to 4 MiB each, fewer for at most 768 packed rows).
    /// </remarks>
    public Threading.WorkerPool? Pool { get; set; }

    /// <summary>Bytes held by this workspace.</summary>
    public long SizeInBytes => ((long)_buffer.Length * sizeof(float)) + (sizeof(int) * ((2L * MaxBatchSize) + (3L * (MaxSequenceLength + 1))))
        + ((long)(_hiddenSquares.Length + _cellSquares.Length) * sizeof(double)) + ((long)(_hiddenNorms.Length + _cellNorms.Length) * sizeof(float));

    /// <summary>
    /// Whether <c>Backward</c> records the per-step gradient norms (<see cref="HiddenGradientNorms"/> and, for an LSTM,
    /// <see cref="CellGradientNorms"/>). Off by default; when off, the backward pass pays one branch per step. Recording
    /// reads the gradients the pass computes anyway (no extra pass), allocates nothing and changes no result.
    /// </summary>
    public bool RecordGradientNorms { get; set; }

    /// <summary>
    /// <c>||dL/dh_t||</c> for t = 0..T-1 of the last <c>Backward</c> that recorded (see <see cref="RecordGradientNorms"/>):
    /// the total gradient reaching <c>h_t</c> (the output gradient at t plus the gradient carried back from t + 1, plus
    /// <c>dh_n</c> where it enters), Euclidean norm over all sequences active at t (<c>[B_t, H]</c>). Time order whatever
    /// the direction; a step no sequence reaches reads 0. With truncated BPTT these are the truncated pass's gradients.
    /// Empty until a backward pass records, and again after the next <c>Forward</c> or a backward pass that does not record.
    /// </summary>
    public ReadOnlySpan<float> HiddenGradientNorms => _hiddenNorms.AsSpan(0, _recordedSteps);

    /// <summary>
    /// The squares of <see cref="HiddenGradientNorms"/> as sums in double, [T]: add them over layers or directions and take
    /// the square root to get the norm of the combined state gradient at each step.
    /// </summary>
    public ReadOnlySpan<double> HiddenGradientSquaredNorms => _hiddenSquares.AsSpan(0, _recordedSteps);

    /// <summary>
    /// LSTM only (empty otherwise): <c>||dL/dc_t||</c> for t = 0..T-1, the total gradient reaching <c>c_t</c>: the part
    /// carried back through <c>c_{t+1} = f*c_t + i*g</c> (plus <c>dc_n</c> where it enters) and the part through
    /// <c>h_t = o*tanh(c_t)</c>. Same batch, order and lifetime rules as <see cref="HiddenGradientNorms"/>.
    /// </summary>
    public ReadOnlySpan<float> CellGradientNorms => _cellNorms.AsSpan(0, HasCellState ? _recordedSteps : 0);

    /// <summary>LSTM only (empty otherwise): the squares of <see cref="CellGradientNorms"/> as sums in double, [T].</summary>
    public ReadOnlySpan<double> CellGradientSquaredNorms => _cellSquares.AsSpan(0, HasCellState ? _recordedSteps : 0);

    /// <summary>
    /// Whether <c>Forward</c> keeps its own copies of what <c>Backward</c> reads again (the default): of the input x, and
    /// of the states h_t it also writes to the output. Set it to <see langword="false"/> when you keep x and the output
    /// unchanged until the backward pass and give both to the <c>Backward</c> overload that takes them (as oneDNN's
    /// backward takes src_layer and dst_layer, and cuDNN's x and y): the passes then read x where you keep it and keep
    /// the states in your output, which saves two passes through memory ([T, B, I] and [T, B, H] floats; about 5% each
    /// of a (512, 64, 256, 512) Elman forward). Sequences of different lengths still copy both, so does an output over
    /// x or a final state (h_n, c_n) over either, and a reverse pass below B = 16 copies x; their <c>Backward</c> still
    /// asks for x and the output.
    /// </summary>
    /// <remarks>Read once per <c>Forward</c>: changing it between a forward pass and its backward changes nothing.</remarks>
    public bool CopiesInputAndOutput { get; set; } = true;

    internal int XPackedOffset { get; }
    internal int GatesOffset { get; }
    internal int StatesOffset { get; }
    internal int DGatesOffset { get; }
    internal int RowsOffset { get; }
    internal int DhNextOffset { get; }
    internal int DhOffset { get; }
    internal int BiasOffset { get; }
    internal int BiasGradientOffset { get; }
    internal int PackedWeightOffset { get; }
    internal int PackedInputWeightOffset { get; }
    internal int DxStepOffset { get; }

    /// <summary>[B, G*H] one step's gate pre-activations, computed here in cache and then copied to the saved gate rows.</summary>
    internal int StepGatesOffset { get; }
    internal int GemmScratchOffset { get; }

    /// <summary>Floats at <see cref="GemmScratchOffset"/>: GEMM packing, and the weight-gradient blocks' packed groups.</summary>
    internal int GemmScratchLength { get; }
    internal int CellsOffset { get; }
    internal int DcNextOffset { get; }
    internal int SavedOffset { get; }
    internal int DGatesHiddenOffset { get; }
    internal int ProjectionOffset { get; }
    internal bool HasCellState { get; }
    internal bool HasSeparateProjection { get; }

    // order[j]: the original batch index of the j-th longest sequence (stable).
    internal int[] Order { get; }
    internal int[] SortedLengths { get; }

    // BatchAt[s] = B_s, the sequences active at processing step s; RowStart[s] = sum of B_u for u < s.
    internal int[] BatchAt { get; }
    internal int[] RowStart { get; }
    internal int[] Counts { get; }

    /// <summary>Test hook: use every worker the hidden size allows (one per 16 units), ignoring the step-size rule.</summary>
    internal bool UseAllWorkers { get; set; }

    /// <summary>
    /// Test hook: force the time loops split by sequences (ParallelSequenceDriver.PlanRowWorkers, forward and backward)
    /// on, with one worker per sequence up to the pool's size, or off (null: the shape rule).
    /// </summary>
    internal bool? SplitBySequences { get; set; }

    /// <summary>
    /// Row stride of the W_hh the current batch-1 backward multiplies by (SequenceDriver.RowInPlaceStride): H for the
    /// caller's W_hh, or the padded stride of its aligned copy. Decided once per backward pass, before the time loop.
    /// </summary>
    internal int RowInPlaceStride { get; set; }

    /// <summary>Test hook: force the cached step block of the forward pass on or off (null: the size rule of SequenceDriver.UsesStepGates).</summary>
    internal bool? UseStepGates { get; set; }

    /// <summary>Test hook: completed weight-gradient blocks added together (null: WeightGradientBlocks.GroupBlocks, as the scratch allows).</summary>
    internal int? WeightGradientGroupBlocks { get; set; }

    // The parallel passes' work objects, made on first use and reused (one per cell type).
    internal object? ParallelForward { get; set; }

    internal object? ParallelBackward { get; set; }

    internal object? ParallelForwardRows { get; set; }

    // What the last forward pass recorded, for its backward.
    internal RecurrentLayer? Owner { get; private set; }
    internal int SequenceLength { get; private set; }
    internal int BatchSize { get; private set; }
    internal int Steps { get; private set; }

    internal int TotalRows => RowStart[Steps];

    /// <summary>Whether the recorded pass kept no copy of x: its backward must be given x (see <see cref="CopiesInputAndOutput"/>).</summary>
    internal bool BorrowsInput { get; private set; }

    /// <summary>Whether the recorded pass kept no copy of the states written to the output: its backward must be given the output.</summary>
    internal bool BorrowsOutput { get; private set; }

    /// <summary>
    /// Whether every sequence of the recorded pass has the same length: the sorted order is then the caller's (the sort
    /// is stable), and each step's rows are one block of the caller's [T, B, *] tensors (<see cref="StepRow"/>).
    /// </summary>
    internal bool StepsAreBlocks { get; private set; }

    /// <summary>
    /// Whether the recorded pass reads x in the caller's [T, B, I] instead of a packed copy: it borrows x, its steps
    /// are blocks (<see cref="StepsAreBlocks"/>), the output does not overlap x, and a reverse pass projects x step by step (the product
    /// over all rows at once needs them in processing order).
    /// </summary>
    internal bool ReadsInputInPlace { get; private set; }

    /// <summary>
    /// Whether the recorded pass keeps the states h_t (state slots 1..steps) in the caller's output [T, B, H] instead of
    /// the workspace: it borrows the output, its steps are blocks, and the output does not overlap x.
    /// Slot 0 (h0) stays in the workspace. See PassBuffers.StateRows.
    /// </summary>
    internal bool StatesInOutput { get; private set; }

    /// <summary>Whether the recorded pass ran in reverse time: its layer's direction.</summary>
    internal bool Reverse => Owner?.Reverse ?? false;

    /// <summary>
    /// When <see cref="StepsAreBlocks"/>, the row of [T * B] (x's rows, the output's rows) holding sorted position 0 of processing
    /// step <paramref name="s"/>: step s's rows are the B rows from there.
    /// </summary>
    internal int StepRow(int s) => (Reverse ? Steps - 1 - s : s) * BatchSize;

    // [T] accumulators the recorder adds each active row's squared norm to, at that row's time index.
    internal Span<double> HiddenSquaresAccumulator => _hiddenSquares.AsSpan(0, SequenceLength);

    internal Span<double> CellSquaresAccumulator => _cellSquares.AsSpan(0, HasCellState ? SequenceLength : 0);

    internal Span<float> Segment(int offset, int length) => _buffer.AsSpan(_bufferStart + offset, length);

    /// <summary>First row of state slot <paramref name="slot"/>: slot 0 is h0, slot s + 1 holds h after step s.</summary>
    internal int StateSlotRow(int slot) => slot == 0 ? 0 : BatchSize + RowStart[slot - 1];

    /// <summary>
    /// Rows after which the gate-gradient rows wrap around: a multiple of <see cref="WeightGradientBlocks.Rows"/>, or
    /// at least every packed row the workspace can hold (no wrap).
    /// </summary>
    internal int GateGradientPeriod { get; }

    /// <summary>Whether the gate-gradient rows of the recorded pass all stay in place until its end (no wrap).</summary>
    internal bool HoldsAllGateGradients => GateGradientPeriod >= TotalRows;

    /// <summary>
    /// Where packed row <paramref name="row"/>'s gate gradients live: row mod <see cref="GateGradientPeriod"/>. The
    /// backward loop writes them from the last row down, and a row is dead once its weight-gradient block has been added
    /// (<see cref="WeightGradientBlocks.AddCompleted"/>) and its step's dx and dh_{t-1} are computed, so a ring of
    /// period rows holds every live row (see <see cref="GateGradientRingPeriod"/>). A block never wraps (the period is a
    /// multiple of its rows); a step whose rows do is written contiguously into the tail after the period, and its
    /// rows past the period are then copied to the ring's start (<see cref="SequenceDriver.WrapGateGradients"/>).
    /// </summary>
    internal int GateGradientRow(int row) => row < GateGradientPeriod ? row : row % GateGradientPeriod;

    /// <summary>
    /// The ring period for up to <paramref name="maxRows"/> packed rows and <paramref name="maxBatchSize"/> rows per
    /// step: rows the backward still needs span less than GroupBlocks blocks (completed blocks wait for a full group)
    /// plus the rows of three steps (the parallel driver's fastest worker writes step s - 1 while another computes dx of
    /// step s + 1), rounded up to whole blocks. Below B = 16 (whole-sequence dX) or when that is not smaller, every row.
    /// (512, 64, 256, 512) LSTM: 1280 + 64 rows of [2048] instead of 32768, 10.5 MiB instead of 256.
    /// </summary>
    internal static int GateGradientRingPeriod(long maxRows, int maxBatchSize)
    {
        long rows = WeightGradientBlocks.Rows;
        long period = ((WeightGradientBlocks.GroupBlocks * rows) + (3L * maxBatchSize) + rows - 1) / rows * rows;
        return maxBatchSize < SequenceDriver.PerStepProjectionMinBatch || period + maxBatchSize >= maxRows
            ? (int)Math.Min(maxRows, int.MaxValue)
            : (int)period;
    }

    /// <summary>The processing step whose packed rows hold row <paramref name="row"/> (0 &lt;= row &lt; N).</summary>
    internal int StepOfRow(int row)
    {
        // RowStart rises strictly over [0, Steps): every step has at least one active sequence.
        int at = Array.BinarySearch(RowStart, 0, Steps, row);
        return at >= 0 ? at : ~at - 1;
    }

    /// <summary>
    /// Records the pass about to run (after <see cref="SequenceDriver.Prepare"/>): whether it borrows x and the output
    /// (<see cref="CopiesInputAndOutput"/> off, or a stack's layer whose buffers the stack keeps), and from that and the
    /// layout whether it reads x and keeps the states in place: not when the caller's buffers overlap
    /// (<paramref name="buffersOverlap"/>: the output over x, or a final state over either).
    /// </summary>
    internal void BeginForward(RecurrentLayer owner, int sequenceLength, int batchSize, int steps, bool borrowsInput, bool borrowsOutput, bool buffersOverlap)
    {
        Owner = owner;
        SequenceLength = sequenceLength;
        BatchSize = batchSize;
        Steps = steps;
        BorrowsInput = borrowsInput;
        BorrowsOutput = borrowsOutput;

        StepsAreBlocks = batchSize == 0 || SortedLengths[0] == SortedLengths[batchSize - 1];
        ReadsInputInPlace = borrowsInput && StepsAreBlocks && !buffersOverlap && (!owner.Reverse || SequenceDriver.ProjectsInputsPerStep(batchSize));
        StatesInOutput = borrowsOutput && StepsAreBlocks && !buffersOverlap;
    }

    internal void Invalidate()
    {
        Owner = null;
        _recordedSteps = 0;
    }

    /// <summary>Before a backward pass: zero the [T] accumulators when recording, else forget the previous record.</summary>
    internal void BeginGradientNorms()
    {
        _recordedSteps = 0;
        if (RecordGradientNorms)
        {
            HiddenSquaresAccumulator.Clear();
            CellSquaresAccumulator.Clear();
        }
    }

    /// <summary>After a backward pass that recorded: the norms are the square roots of the accumulated squares.</summary>
    internal void EndGradientNorms()
    {
        if (!RecordGradientNorms)
        {
            return;
        }

        _recordedSteps = SequenceLength;
        for (int t = 0; t < SequenceLength; t++)
        {
            _hiddenNorms[t] = (float)Math.Sqrt(_hiddenSquares[t]);
            if (HasCellState)
            {
                _cellNorms[t] = (float)Math.Sqrt(_cellSquares[t]);
            }
        }
    }

    private static int Carve(ref long offset, long length)
    {
        long start = offset;
        offset += (length + AlignFloats - 1) / AlignFloats * AlignFloats;
        return start > int.MaxValue ? int.MaxValue : (int)start;
    }
}
