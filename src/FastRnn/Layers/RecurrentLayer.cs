// Legend: T time steps, B batch, I input size, H hidden size, G gates.
namespace FastRnn.Layers;

/// <summary>
/// One recurrent layer in one direction, with PyTorch's parameters <c>weight_ih_l{k}[G*H, I]</c>,
/// <c>weight_hh_l{k}[G*H, H]</c>, <c>bias_ih_l{k}[G*H]</c>, <c>bias_hh_l{k}[G*H]</c> (suffix <c>_reverse</c> for the
/// backward direction), stored in a <see cref="ParameterStore"/>.
/// </summary>
/// <remarks>
/// <para>Sequences are time-major: inputs <c>[T, B, I]</c>, outputs <c>[T, B, H]</c>. Optional per-sequence lengths follow
/// PyTorch's packed-sequence semantics on a padded tensor: steps at or past a sequence's length are never read, their
/// outputs are written as 0 and they receive no gradient. A zero-length sequence outputs zeros, <c>h_n = h0</c>,
/// <c>dh0 = dh_n</c>.</para>
/// <para>Parameter gradients accumulate (<c>+=</c>) into the store; input and initial-state gradients are overwritten.
/// A layer may run several forward passes at once on different workspaces, but backward passes accumulate into the
/// shared gradients and must not run concurrently.</para>
/// </remarks>
public abstract class RecurrentLayer
{
    private protected RecurrentLayer(ParameterStore store, int inputSize, int hiddenSize, int gateCount, int layerIndex, bool reverse, string namePrefix)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(namePrefix);
        ThrowHelper.ThrowIfNotPositive(inputSize);
        ThrowHelper.ThrowIfNotPositive(hiddenSize);
        ThrowHelper.ThrowIfNegative(layerIndex);
        Store = store;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        GateCount = gateCount;
        Reverse = reverse;
        string suffix = $"_l{layerIndex}" + (reverse ? "_reverse" : string.Empty);
        int gh = checked(gateCount * hiddenSize);
        WeightIh = store.Add(namePrefix + "weight_ih" + suffix, gh, inputSize);
        WeightHh = store.Add(namePrefix + "weight_hh" + suffix, gh, hiddenSize);
        BiasIh = store.Add(namePrefix + "bias_ih" + suffix, gh);
        BiasHh = store.Add(namePrefix + "bias_hh" + suffix, gh);
    }

    /// <summary>The store holding this layer's parameters and gradients.</summary>
    public ParameterStore Store { get; }

    /// <summary>I: features per input step.</summary>
    public int InputSize { get; }

    /// <summary>H: hidden units.</summary>
    public int HiddenSize { get; }

    /// <summary>G: gate blocks in the weight layout (Elman 1, GRU 3, LSTM 4).</summary>
    public int GateCount { get; }

    /// <summary>Whether this layer runs each sequence from its last valid step back to t = 0.</summary>
    public bool Reverse { get; }

    /// <summary><c>weight_ih</c>: [G*H, I].</summary>
    public ParameterTensor WeightIh { get; }

    /// <summary><c>weight_hh</c>: [G*H, H].</summary>
    public ParameterTensor WeightHh { get; }

    /// <summary><c>bias_ih</c>: [G*H].</summary>
    public ParameterTensor BiasIh { get; }

    /// <summary><c>bias_hh</c>: [G*H].</summary>
    public ParameterTensor BiasHh { get; }

    /// <summary>Creates a workspace for calls with up to <paramref name="maxSequenceLength"/> steps and <paramref name="maxBatchSize"/> sequences.</summary>
    /// <param name="maxSequenceLength">The largest T.</param>
    /// <param name="maxBatchSize">The largest B.</param>
    /// <param name="pool">Worker threads for the passes through this workspace, or <see langword="null"/> for the calling
    /// thread alone; see <see cref="RecurrentWorkspace.Pool"/>.</param>
    public RecurrentWorkspace CreateWorkspace(int maxSequenceLength, int maxBatchSize, Threading.WorkerPool? pool = null)
        => new(maxSequenceLength, maxBatchSize, InputSize, HiddenSize, GateCount) { Pool = pool };

    /// <summary>Sets every parameter to PyTorch's default, uniform in <c>[-1/sqrt(H), 1/sqrt(H)]</c>, from a seeded generator.</summary>
    /// <param name="seed">Seed; the same seed gives the same parameters.</param>
    public void ResetParameters(int seed)
    {
        var random = new Random(seed);
        float bound = 1f / MathF.Sqrt(HiddenSize);
        foreach (ParameterTensor tensor in (ReadOnlySpan<ParameterTensor>)[WeightIh, WeightHh, BiasIh, BiasHh])
        {
            Span<float> values = tensor.Values;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (float)(((2 * random.NextDouble()) - 1) * bound);
            }
        }
    }

    /// <summary>Runs the layer over a batch of sequences and saves what <see cref="Backward(ReadOnlySpan{float}, RecurrentWorkspace, Span{float}, Span{float}, ReadOnlySpan{float}, int)"/> needs into <paramref name="workspace"/>.</summary>
    /// <param name="input">x: [T, B, I], time-major.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="output">[T, B, H]: h_t at every valid step, 0 at padding. Fully written.</param>
    /// <param name="workspace">A workspace from <see cref="CreateWorkspace"/> with room for T and B.</param>
    /// <param name="initialHidden">h0: [B, H], or empty for zeros.</param>
    /// <param name="lengths">[B], each in 0..T, or empty when every sequence has T steps.</param>
    /// <param name="finalHidden">h_n: [B, H], or empty when not wanted: the state after each sequence's last valid step
    /// (for a reverse layer, after t = 0); h0 for a zero-length sequence.</param>
    /// <exception cref="ArgumentException">A span has the wrong length, a length is outside 0..T, or T or B exceeds the workspace.
    /// Nothing is written.</exception>
    public void Forward(
        ReadOnlySpan<float> input, int sequenceLength, int batchSize, Span<float> output, RecurrentWorkspace workspace,
        ReadOnlySpan<float> initialHidden = default, ReadOnlySpan<int> lengths = default, Span<float> finalHidden = default)
        => ForwardCore(input, sequenceLength, batchSize, output, workspace, lengths, new SequenceStates { H0 = initialHidden, HN = finalHidden }, BorrowsCallerBuffers(workspace), BorrowsCallerBuffers(workspace));

    /// <summary>Backpropagates through the pass recorded in <paramref name="workspace"/> (full BPTT, or truncated).</summary>
    /// <param name="outputGradient">dL/d output: [T, B, H], or empty for zero (e.g. when only h_n feeds the loss). Padding is not read.</param>
    /// <param name="workspace">The workspace the matching <see cref="Forward"/> call used.</param>
    /// <param name="inputGradient">dX: [T, B, I], overwritten (0 at padding), or empty to skip computing it.</param>
    /// <param name="initialHiddenGradient">dh0: [B, H], overwritten, or empty when not wanted.</param>
    /// <param name="finalHiddenGradient">dh_n: [B, H], entering at each sequence's last valid step, or empty for zero.</param>
    /// <param name="truncationWindow">0 for full BPTT; k &gt; 0 cuts the carried gradient at t = k, 2k, ... (PyTorch's
    /// detaching the state every k steps). Not allowed on a reverse layer.</param>
    /// <exception cref="ArgumentException">A span has the wrong length, or the workspace holds no forward pass of this layer.</exception>
    public void Backward(
        ReadOnlySpan<float> outputGradient, RecurrentWorkspace workspace, Span<float> inputGradient = default,
        Span<float> initialHiddenGradient = default, ReadOnlySpan<float> finalHiddenGradient = default, int truncationWindow = 0)
        => Backward(default, default, outputGradient, workspace, inputGradient, initialHiddenGradient, finalHiddenGradient, truncationWindow);

    /// <summary>
    /// Backpropagates through a pass that ran with <see cref="RecurrentWorkspace.CopiesInputAndOutput"/> off, reading x
    /// and the states where the caller keeps them; otherwise as
    /// <see cref="Backward(ReadOnlySpan{float}, RecurrentWorkspace, Span{float}, Span{float}, ReadOnlySpan{float}, int)"/>.
    /// </summary>
    /// <param name="input">x: [T, B, I], as the matching <see cref="Forward"/> read it. Read only; a pass that copied x
    /// ignores it.</param>
    /// <param name="output">[T, B, H], as the matching <see cref="Forward"/> wrote it. Read only; a pass that kept its
    /// own states ignores it. Neither is checked against the forward's: other values give wrong gradients.</param>
    /// <param name="outputGradient">dL/d output: [T, B, H], or empty for zero. It may be the output itself.</param>
    /// <param name="workspace">The workspace the matching <see cref="Forward"/> call used.</param>
    /// <param name="inputGradient">dX: [T, B, I], overwritten (0 at padding), or empty; it must not overlap
    /// <paramref name="input"/> or <paramref name="output"/>.</param>
    /// <param name="initialHiddenGradient">dh0: [B, H], overwritten, or empty.</param>
    /// <param name="finalHiddenGradient">dh_n: [B, H], or empty for zero.</param>
    /// <param name="truncationWindow">0 for full BPTT; k &gt; 0 cuts the carried gradient at t = k, 2k, ...</param>
    /// <exception cref="ArgumentException">A span has the wrong length, x or the output is missing for a pass that did
    /// not copy them, dX overlaps either, or the workspace holds no forward pass of this layer. Nothing is written.</exception>
    public void Backward(
        ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, RecurrentWorkspace workspace,
        Span<float> inputGradient = default, Span<float> initialHiddenGradient = default, ReadOnlySpan<float> finalHiddenGradient = default,
        int truncationWindow = 0)
        => BackwardCore(workspace, new SequenceGradients
        {
            Input = input,
            Output = output,
            DOutput = outputGradient,
            DX = inputGradient,
            Dh0 = initialHiddenGradient,
            DhN = finalHiddenGradient,
            TruncationWindow = truncationWindow,
        });

    /// <summary>The layer's weights as spans, for the driver.</summary>
    private protected LayerWeights Weights => new(WeightIh.Values, WeightHh.Values, BiasIh.Values, BiasHh.Values);

    /// <summary>The layer's parameter gradients as spans, for the driver.</summary>
    private protected WeightGradients Gradients => new(WeightIh.Gradient, WeightHh.Gradient, BiasIh.Gradient, BiasHh.Gradient);

    /// <summary>Whether a forward call through the public API borrows x and the output: the workspace's <see cref="RecurrentWorkspace.CopiesInputAndOutput"/> off.</summary>
    private protected static bool BorrowsCallerBuffers(RecurrentWorkspace workspace) => workspace is not null && !workspace.CopiesInputAndOutput;

    // borrowsInput, borrowsOutput: whether the caller keeps x and the output unchanged until the backward pass, which
    // gets them again (RecurrentWorkspace.BeginForward).
    internal void ForwardCore(ReadOnlySpan<float> input, int sequenceLength, int batchSize, Span<float> output, RecurrentWorkspace workspace, ReadOnlySpan<int> lengths, in SequenceStates states, bool borrowsInput, bool borrowsOutput)
    {
        ValidateWorkspace(workspace, sequenceLength, batchSize);
        int T = sequenceLength, B = batchSize, I = InputSize, H = HiddenSize;
        ThrowHelper.ThrowIfLengthMismatch(input, nameof(input), new Dims("T", T, "B", B, "I", I));
        ThrowHelper.ThrowIfLengthMismatch(output, nameof(output), new Dims("T", T, "B", B, "H", H));
        ValidateOptionalState(states.H0, "initialHidden", B, H);
        ValidateOptionalState(states.C0, "initialCell", B, H);
        ValidateOptionalState(states.HN, "finalHidden", B, H);
        ValidateOptionalState(states.CN, "finalCell", B, H);
        if (!lengths.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(lengths, nameof(lengths), new Dims("B", B));
            for (int b = 0; b < B; b++)
            {
                if ((uint)lengths[b] > (uint)T)
                {
                    ThrowHelper.ThrowOutOfRange(nameof(lengths), $"lengths[{b}] must be in 0..T={T}, was {lengths[b]}");
                }
            }
        }

        workspace.Invalidate();
        int steps = SequenceDriver.Prepare(workspace, T, B, lengths);
        // The final states are written after the loop: one inside x or the output would overwrite what the backward reads.
        bool overlap = output.Overlaps(input) || states.HN.Overlaps(input) || states.HN.Overlaps(output) || states.CN.Overlaps(input) || states.CN.Overlaps(output);
        workspace.BeginForward(this, T, B, steps, borrowsInput, borrowsOutput, overlap);
        var action = new ForwardAction { Workspace = workspace, Reverse = Reverse, Weights = Weights, Input = input, T = T, B = B, Output = output, States = states };
        RunWithCell(ref action);
    }

    internal void BackwardCore(RecurrentWorkspace workspace, in SequenceGradients gradients)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (!ReferenceEquals(workspace.Owner, this))
        {
            ThrowHelper.ThrowArgument(nameof(workspace), "the workspace holds no forward pass of this layer; call Forward with it first");
        }

        int T = workspace.SequenceLength, B = workspace.BatchSize, I = InputSize, H = HiddenSize;
        if (!gradients.DOutput.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(gradients.DOutput, "outputGradient", new Dims("T", T, "B", B, "H", H));
        }

        if (!gradients.DX.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(gradients.DX, "inputGradient", new Dims("T", T, "B", B, "I", I));
        }

        ValidateBorrowedBuffers(workspace.BorrowsInput, workspace.BorrowsOutput, gradients.Input, gradients.Output, gradients.DX, new Dims("T", T, "B", B, "I", I), new Dims("T", T, "B", B, "H", H));
        ValidateOptionalState(gradients.Dh0, "initialHiddenGradient", B, H);
        ValidateOptionalState(gradients.Dc0, "initialCellGradient", B, H);
        ValidateOptionalState(gradients.DhN, "finalHiddenGradient", B, H);
        ValidateOptionalState(gradients.DcN, "finalCellGradient", B, H);
        if (gradients.TruncationWindow < 0)
        {
            ThrowHelper.ThrowOutOfRange("truncationWindow", $"must be non-negative, was {gradients.TruncationWindow}");
        }

        if (gradients.TruncationWindow > 0 && Reverse)
        {
            ThrowHelper.ThrowArgument("truncationWindow", "truncated BPTT applies to forward-direction layers only");
        }

        var action = new BackwardAction { Workspace = workspace, Reverse = Reverse, Weights = Weights, Gradients = gradients, WeightGradients = Gradients };
        workspace.BeginGradientNorms();
        RunWithCell(ref action);
        workspace.EndGradientNorms();
    }

    /// <summary>
    /// The x and output given to a backward pass: each checked for length when given, and required when the pass
    /// borrowed it (kept no copy); dX must not overlap a borrowed one, which the pass reads after writing dX.
    /// </summary>
    internal static void ValidateBorrowedBuffers(bool borrowsInput, bool borrowsOutput, ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> inputGradient, Dims inputDims, Dims outputDims)
    {
        const string Missing = "the forward pass ran with the workspace's CopiesInputAndOutput off, so Backward reads x and the output again: pass the forward's to the Backward overload that takes them";
        if (!input.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(input, nameof(input), inputDims);
        }

        if (!output.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(output, nameof(output), outputDims);
        }

        if (borrowsInput && input.IsEmpty && inputDims.Product > 0)
        {
            ThrowHelper.ThrowArgument(nameof(input), Missing);
        }

        if (borrowsOutput && output.IsEmpty && outputDims.Product > 0)
        {
            ThrowHelper.ThrowArgument(nameof(output), Missing);
        }

        if ((borrowsInput && inputGradient.Overlaps(input)) || (borrowsOutput && inputGradient.Overlaps(output)))
        {
            ThrowHelper.ThrowArgument(nameof(inputGradient), "overlaps x or the output, which the backward pass reads after writing dX (the forward kept no copy of them)");
        }
    }

    /// <summary>Runs <paramref name="action"/> with this layer's cell type.</summary>
    private protected abstract void RunWithCell<TAction>(ref TAction action)
        where TAction : struct, ICellAction, allows ref struct;

    private static void ValidateOptionalState(ReadOnlySpan<float> state, string name, int B, int H)
    {
        if (!state.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(state, name, new Dims("B", B, "H", H));
        }
    }

    private void ValidateWorkspace(RecurrentWorkspace workspace, int sequenceLength, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (workspace.InputSize != InputSize || workspace.HiddenSize != HiddenSize || workspace.GateCount != GateCount)
        {
            ThrowHelper.ThrowArgument(nameof(workspace), $"workspace was created for I={workspace.InputSize}, H={workspace.HiddenSize}, G={workspace.GateCount}; this layer has I={InputSize}, H={HiddenSize}, G={GateCount}");
        }

        ThrowHelper.ThrowIfNegative(sequenceLength);
        ThrowHelper.ThrowIfNegative(batchSize);
        if (sequenceLength > workspace.MaxSequenceLength)
        {
            ThrowHelper.ThrowOutOfRange(nameof(sequenceLength), $"T={sequenceLength} exceeds the workspace's maximum {workspace.MaxSequenceLength}");
        }

        if (batchSize > workspace.MaxBatchSize)
        {
            ThrowHelper.ThrowOutOfRange(nameof(batchSize), $"B={batchSize} exceeds the workspace's maximum {workspace.MaxBatchSize}");
        }
    }
}
