// Legend: T time steps, B batch, I input size, H hidden size, G gates, D directions (1 or 2), L layers.
// x: [T, B, I]  layer l output: [T, B, D*H] (direction d in columns d*H..d*H+H)  h0, h_n, c0, c_n: [L*D, B, H]
using System.Numerics.Tensors;

namespace FastRnn.Layers;

/// <summary>
/// PyTorch's multi-layer <c>nn.RNN</c> / <c>nn.LSTM</c> / <c>nn.GRU</c>: <c>L</c> recurrent layers, each unidirectional or
/// bidirectional (outputs concatenated, <c>[T, B, 2H]</c>), with dropout between layers during training.
/// </summary>
/// <remarks>
/// <para>Parameters carry PyTorch's names (<c>weight_ih_l{k}</c>, <c>weight_hh_l{k}</c>, <c>bias_ih_l{k}</c>,
/// <c>bias_hh_l{k}</c>, suffix <c>_reverse</c>), added in PyTorch's <c>state_dict</c> order, so weights move between the
/// two unchanged. Layer k &gt; 0 takes <c>D*H</c> inputs.</para>
/// <para>Lengths follow the layer rules (<see cref="RecurrentLayer"/>): each reverse direction starts at its sequence's
/// last valid step. States use PyTorch's layout <c>[L*D, B, H]</c>, row <c>l*D + d</c>.</para>
/// <para>Dropout (inverted, as PyTorch: kept values are scaled by <c>1/(1-p)</c>) applies to every layer's output except the
/// last, only in training forward passes; each training pass draws a new mask from the stack's seeded generator and saves
/// it in the workspace for the backward pass.</para>
/// <para>Parameter gradients accumulate; input and initial-state gradients are overwritten.</para>
/// </remarks>
public sealed class RecurrentStack
{
    private readonly RecurrentLayer[] _layers; // [L*D], index l*D + d
    private ulong _dropoutState;

    /// <summary>Creates the stack and adds its parameters to <paramref name="store"/>, initialized as PyTorch does.</summary>
    /// <param name="store">Where the parameters live.</param>
    /// <param name="cell">The cell of every layer.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="layerCount">L, at least 1.</param>
    /// <param name="bidirectional">Whether every layer runs both directions (D = 2).</param>
    /// <param name="nonlinearity">The Elman nonlinearity (ignored by LSTM and GRU).</param>
    /// <param name="dropout">Dropout probability between layers, in [0, 1).</param>
    /// <param name="seed">Seed of the initialization and of the dropout masks.</param>
    /// <param name="namePrefix">Prepended to every parameter name, e.g. <c>rnn.</c>.</param>
    public RecurrentStack(
        ParameterStore store, CellKind cell, int inputSize, int hiddenSize, int layerCount = 1, bool bidirectional = false,
        Nonlinearity nonlinearity = Nonlinearity.Tanh, float dropout = 0f, int seed = 0, string namePrefix = "")
    {
        ArgumentNullException.ThrowIfNull(store);
        ThrowHelper.ThrowIfNotPositive(inputSize);
        ThrowHelper.ThrowIfNotPositive(hiddenSize);
        ThrowHelper.ThrowIfNotPositive(layerCount);
        if (!Enum.IsDefined(cell))
        {
            ThrowHelper.ThrowOutOfRange(nameof(cell), $"unknown cell {(int)cell}");
        }

        if (!(dropout >= 0f && dropout < 1f))
        {
            ThrowHelper.ThrowOutOfRange(nameof(dropout), $"must be in [0, 1), was {dropout}");
        }

        Store = store;
        Cell = cell;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        LayerCount = layerCount;
        DirectionCount = bidirectional ? 2 : 1;
        Nonlinearity = nonlinearity;
        Dropout = dropout;
        var seeds = new SplitMix64((ulong)(uint)seed);
        _layers = new RecurrentLayer[layerCount * DirectionCount];
        for (int l = 0; l < layerCount; l++)
        {
            int layerInput = l == 0 ? inputSize : DirectionCount * hiddenSize;
            for (int d = 0; d < DirectionCount; d++)
            {
                int layerSeed = (int)(uint)seeds.Next();
                bool reverse = d == 1;
                _layers[(l * DirectionCount) + d] = cell switch
                {
                    CellKind.Lstm => new LstmLayer(store, layerInput, hiddenSize, l, reverse, layerSeed, namePrefix),
                    CellKind.Gru => new GruLayer(store, layerInput, hiddenSize, l, reverse, layerSeed, namePrefix),
                    _ => new ElmanLayer(store, layerInput, hiddenSize, nonlinearity, layerIndex: l, reverse: reverse, seed: layerSeed, namePrefix: namePrefix),
                };
            }
        }

        _dropoutState = seeds.Next();
    }

    /// <summary>The store holding the parameters and gradients.</summary>
    public ParameterStore Store { get; }

    /// <summary>The cell of every layer.</summary>
    public CellKind Cell { get; }

    /// <summary>The Elman nonlinearity (meaningless for LSTM and GRU).</summary>
    public Nonlinearity Nonlinearity { get; }

    /// <summary>I: features per input step.</summary>
    public int InputSize { get; }

    /// <summary>H: hidden units per direction.</summary>
    public int HiddenSize { get; }

    /// <summary>L.</summary>
    public int LayerCount { get; }

    /// <summary>D: 2 when bidirectional, else 1.</summary>
    public int DirectionCount { get; }

    /// <summary>D*H: features per output step.</summary>
    public int OutputSize => DirectionCount * HiddenSize;

    /// <summary>Dropout probability between layers (training passes only).</summary>
    public float Dropout { get; }

    /// <summary>Whether the cell carries a cell state (LSTM), so <c>c0</c>/<c>c_n</c> apply.</summary>
    public bool HasCellState => Cell == CellKind.Lstm;

    /// <summary>
    /// The state of the generator that draws the dropout masks (it advances with every training pass that applies
    /// dropout). Save it with a checkpoint and set it on the rebuilt stack, so a resumed run draws the same masks as an
    /// uninterrupted one.
    /// </summary>
    public ulong DropoutGeneratorState
    {
        get => _dropoutState;
        set => _dropoutState = value;
    }

    /// <summary>The layer of <paramref name="layer"/> and <paramref name="direction"/> (0 forward, 1 reverse).</summary>
    /// <param name="layer">0..L-1.</param>
    /// <param name="direction">0..D-1.</param>
    public RecurrentLayer Layer(int layer, int direction = 0)
    {
        if ((uint)layer >= (uint)LayerCount)
        {
            ThrowHelper.ThrowOutOfRange(nameof(layer), $"must be in 0..{LayerCount - 1}, was {layer}");
        }

        if ((uint)direction >= (uint)DirectionCount)
        {
            ThrowHelper.ThrowOutOfRange(nameof(direction), $"must be in 0..{DirectionCount - 1}, was {direction}");
        }

        return _layers[(layer * DirectionCount) + direction];
    }

    /// <summary>Creates a workspace for calls with up to <paramref name="maxSequenceLength"/> steps and <paramref name="maxBatchSize"/> sequences.</summary>
    /// <param name="maxSequenceLength">The largest T.</param>
    /// <param name="maxBatchSize">The largest B.</param>
    /// <param name="pool">Worker threads every layer's passes run on, or <see langword="null"/> for the calling thread
    /// alone (see <see cref="RecurrentWorkspace.Pool"/>); the layers take turns on it.</param>
    public StackWorkspace CreateWorkspace(int maxSequenceLength, int maxBatchSize, Threading.WorkerPool? pool = null)
    {
        var layers = new RecurrentWorkspace[_layers.Length];
        for (int i = 0; i < layers.Length; i++)
        {
            layers[i] = _layers[i].CreateWorkspace(maxSequenceLength, maxBatchSize, pool);
        }

        return new StackWorkspace(this, layers, maxSequenceLength, maxBatchSize);
    }

    /// <summary>Sets every parameter to PyTorch's default, uniform in <c>[-1/sqrt(H), 1/sqrt(H)]</c>, from a seeded generator.</summary>
    /// <param name="seed">Seed; the same seed gives the same parameters.</param>
    public void ResetParameters(int seed)
    {
        var seeds = new SplitMix64((ulong)(uint)seed);
        foreach (RecurrentLayer layer in _layers)
        {
            layer.ResetParameters((int)(uint)seeds.Next());
        }
    }

    /// <summary>Runs every layer and direction and saves what <see cref="Backward(ReadOnlySpan{float}, StackWorkspace, Span{float}, Span{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int)"/> needs into <paramref name="workspace"/>.</summary>
    /// <param name="input">x: [T, B, I], time-major.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="output">[T, B, D*H]: the last layer's outputs, both directions concatenated; 0 at padding.</param>
    /// <param name="workspace">A workspace from <see cref="CreateWorkspace"/>.</param>
    /// <param name="lengths">[B], each in 0..T, or empty when every sequence has T steps.</param>
    /// <param name="initialHidden">h0: [L*D, B, H], or empty for zeros.</param>
    /// <param name="initialCell">c0: [L*D, B, H] (LSTM only), or empty for zeros.</param>
    /// <param name="finalHidden">h_n: [L*D, B, H], or empty when not wanted.</param>
    /// <param name="finalCell">c_n: [L*D, B, H] (LSTM only), or empty.</param>
    /// <param name="training">Whether to apply dropout between layers (a new mask per call).</param>
    /// <exception cref="ArgumentException">A span has the wrong length, a length is out of range, a cell state is given to a
    /// cell without one, or the workspace does not fit. Nothing is written.</exception>
    public void Forward(
        ReadOnlySpan<float> input, int sequenceLength, int batchSize, Span<float> output, StackWorkspace workspace,
        ReadOnlySpan<int> lengths = default, ReadOnlySpan<float> initialHidden = default, ReadOnlySpan<float> initialCell = default,
        Span<float> finalHidden = default, Span<float> finalCell = default, bool training = false)
    {
        ValidateWorkspace(workspace);
        int T = sequenceLength, B = batchSize, H = HiddenSize, D = DirectionCount, DH = OutputSize;
        ThrowHelper.ThrowIfNegative(sequenceLength);
        ThrowHelper.ThrowIfNegative(batchSize);
        if (T > workspace.MaxSequenceLength)
        {
            ThrowHelper.ThrowOutOfRange(nameof(sequenceLength), $"T={T} exceeds the workspace's maximum {workspace.MaxSequenceLength}");
        }

        if (B > workspace.MaxBatchSize)
        {
            ThrowHelper.ThrowOutOfRange(nameof(batchSize), $"B={B} exceeds the workspace's maximum {workspace.MaxBatchSize}");
        }

        ThrowHelper.ThrowIfLengthMismatch(input, nameof(input), new Dims("T", T, "B", B, "I", InputSize));
        ThrowHelper.ThrowIfLengthMismatch(output, nameof(output), new Dims("T", T, "B", B, "D*H", DH));
        ValidateStates(initialHidden, nameof(initialHidden), B, cellState: false);
        ValidateStates(initialCell, nameof(initialCell), B, cellState: true);
        ValidateStates(finalHidden, nameof(finalHidden), B, cellState: false);
        ValidateStates(finalCell, nameof(finalCell), B, cellState: true);
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

        workspace.HasForward = false;
        workspace.BorrowsCallerBuffers = !workspace.CopiesInputAndOutput;

        // The first layer reads x in place only if nothing the stack writes to the caller's buffers lies over it: the
        // last layer's output (or the bidirectional interleave) and every layer's final states come after its pass.
        bool firstReadsInput = workspace.BorrowsCallerBuffers && !output.Overlaps(input) && !finalHidden.Overlaps(input) && !finalCell.Overlaps(input);
        bool dropout = training && Dropout > 0f && LayerCount > 1;
        int rows = T * B, stateSize = B * H;
        ReadOnlySpan<float> layerInput = input;
        for (int l = 0; l < LayerCount; l++)
        {
            bool last = l == LayerCount - 1;
            Span<float> layerOutput = last ? output : workspace.LayerOutput(l, rows * DH);
            for (int d = 0; d < D; d++)
            {
                int k = (l * D) + d;
                var states = new SequenceStates
                {
                    H0 = Slice(initialHidden, k, stateSize),
                    C0 = Slice(initialCell, k, stateSize),
                    HN = Slice(finalHidden, k, stateSize),
                    CN = Slice(finalCell, k, stateSize),
                };
                Span<float> directionOutput = D == 1 ? layerOutput : workspace.DirectionBuffer(d, rows * H);

                // Layers above the first read their inputs (outputs this workspace keeps until the backward) in place;
                // a unidirectional layer keeps its states in its output unless dropout is about to scale it (a
                // bidirectional one writes to a direction buffer the next layer reuses).
                bool keepsStatesInOutput = D == 1 && (last ? workspace.BorrowsCallerBuffers : !dropout);
                _layers[k].ForwardCore(layerInput, T, B, directionOutput, workspace.Layers[k], lengths, states, l > 0 || firstReadsInput, keepsStatesInOutput);
            }

            if (D == 2)
            {
                // [T, B, H] x 2 -> [T, B, 2H]
                Interleave(workspace.DirectionBuffer(0, rows * H), workspace.DirectionBuffer(1, rows * H), rows, H, layerOutput);
            }

            if (!last && dropout)
            {
                Span<float> mask = workspace.DropoutMask(l, rows * DH);
                FillDropoutMask(mask);
                TensorPrimitives.Multiply(layerOutput, mask, layerOutput);
            }

            layerInput = layerOutput;
        }

        workspace.SequenceLength = T;
        workspace.BatchSize = B;
        workspace.Training = dropout;
        workspace.HasForward = true;
    }

    /// <summary>Backpropagates through the pass recorded in <paramref name="workspace"/>.</summary>
    /// <param name="outputGradient">dL/d output: [T, B, D*H], or empty for zero (e.g. when only h_n feeds the loss).</param>
    /// <param name="workspace">The workspace the matching <see cref="Forward"/> call used.</param>
    /// <param name="inputGradient">dX: [T, B, I], overwritten (0 at padding), or empty to skip computing it.</param>
    /// <param name="initialHiddenGradient">dh0: [L*D, B, H], overwritten, or empty.</param>
    /// <param name="initialCellGradient">dc0: [L*D, B, H] (LSTM only), overwritten, or empty.</param>
    /// <param name="finalHiddenGradient">dh_n: [L*D, B, H], or empty for zero.</param>
    /// <param name="finalCellGradient">dc_n: [L*D, B, H] (LSTM only), or empty for zero.</param>
    /// <param name="truncationWindow">0 for full BPTT; k &gt; 0 cuts every layer's carried gradient at t = k, 2k, ...
    /// (unidirectional stacks only).</param>
    /// <exception cref="ArgumentException">A span has the wrong length, the workspace holds no forward pass of this stack, or
    /// truncation was asked of a bidirectional stack. Nothing is written.</exception>
    public void Backward(
        ReadOnlySpan<float> outputGradient, StackWorkspace workspace, Span<float> inputGradient = default,
        Span<float> initialHiddenGradient = default, Span<float> initialCellGradient = default,
        ReadOnlySpan<float> finalHiddenGradient = default, ReadOnlySpan<float> finalCellGradient = default, int truncationWindow = 0)
        => Backward(default, default, outputGradient, workspace, inputGradient, initialHiddenGradient, initialCellGradient, finalHiddenGradient, finalCellGradient, truncationWindow);

    /// <summary>
    /// Backpropagates through a pass that ran with <see cref="StackWorkspace.CopiesInputAndOutput"/> off, reading the
    /// stack's input x and output where the caller keeps them; otherwise as the overload without them.
    /// </summary>
    /// <param name="input">x: [T, B, I], as the matching <see cref="Forward"/> read it, or empty when the pass copied it. Read only.</param>
    /// <param name="output">[T, B, D*H], as the matching <see cref="Forward"/> wrote it, or empty when the pass copied it. Read only.</param>
    /// <param name="outputGradient">dL/d output: [T, B, D*H], or empty for zero.</param>
    /// <param name="workspace">The workspace the matching <see cref="Forward"/> call used.</param>
    /// <param name="inputGradient">dX: [T, B, I], overwritten (0 at padding), or empty; it must not overlap x or the output.</param>
    /// <param name="initialHiddenGradient">dh0: [L*D, B, H], overwritten, or empty.</param>
    /// <param name="initialCellGradient">dc0: [L*D, B, H] (LSTM only), overwritten, or empty.</param>
    /// <param name="finalHiddenGradient">dh_n: [L*D, B, H], or empty for zero.</param>
    /// <param name="finalCellGradient">dc_n: [L*D, B, H] (LSTM only), or empty for zero.</param>
    /// <param name="truncationWindow">0 for full BPTT; k &gt; 0 cuts every layer's carried gradient at t = k, 2k, ...
    /// (unidirectional stacks only).</param>
    /// <exception cref="ArgumentException">A span has the wrong length, x or the output is missing for a pass that did
    /// not copy them, dX overlaps either, the workspace holds no forward pass of this stack, or truncation was asked of a
    /// bidirectional stack. Nothing is written.</exception>
    public void Backward(
        ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, StackWorkspace workspace,
        Span<float> inputGradient = default, Span<float> initialHiddenGradient = default, Span<float> initialCellGradient = default,
        ReadOnlySpan<float> finalHiddenGradient = default, ReadOnlySpan<float> finalCellGradient = default, int truncationWindow = 0)
    {
        ValidateWorkspace(workspace);
        if (!workspace.HasForward)
        {
            ThrowHelper.ThrowArgument(nameof(workspace), "the workspace holds no forward pass of this stack; call Forward with it first");
        }

        int T = workspace.SequenceLength, B = workspace.BatchSize, H = HiddenSize, D = DirectionCount, DH = OutputSize;
        if (!outputGradient.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(outputGradient, nameof(outputGradient), new Dims("T", T, "B", B, "D*H", DH));
        }

        if (!inputGradient.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(inputGradient, nameof(inputGradient), new Dims("T", T, "B", B, "I", InputSize));
        }

        ValidateStates(initialHiddenGradient, nameof(initialHiddenGradient), B, cellState: false);
        ValidateStates(initialCellGradient, nameof(initialCellGradient), B, cellState: true);
        ValidateStates(finalHiddenGradient, nameof(finalHiddenGradient), B, cellState: false);
        ValidateStates(finalCellGradient, nameof(finalCellGradient), B, cellState: true);
        if (truncationWindow < 0)
        {
            ThrowHelper.ThrowOutOfRange(nameof(truncationWindow), $"must be non-negative, was {truncationWindow}");
        }

        if (truncationWindow > 0 && D == 2)
        {
            ThrowHelper.ThrowArgument(nameof(truncationWindow), "truncated BPTT applies to unidirectional stacks only");
        }

        bool borrows = workspace.BorrowsCallerBuffers;
        RecurrentLayer.ValidateBorrowedBuffers(borrows, borrows, input, output, inputGradient, new Dims("T", T, "B", B, "I", InputSize), new Dims("T", T, "B", B, "D*H", DH));

        int rows = T * B, stateSize = B * H;
        ReadOnlySpan<float> upperGradient = outputGradient; // dL/d layer l's output: [T, B, D*H] or empty
        for (int l = LayerCount - 1; l >= 0; l--)
        {
            int layerInputSize = l == 0 ? InputSize : DH;
            ReadOnlySpan<float> layerInput = l == 0 ? input : workspace.LayerOutput(l - 1, rows * DH);
            ReadOnlySpan<float> layerOutput = l == LayerCount - 1 ? output : workspace.LayerOutput(l, rows * DH);
            Span<float> layerInputGradient = l == 0 ? inputGradient : workspace.LayerGradient((l - 1) % 2, rows * DH);
            for (int d = 0; d < D; d++)
            {
                int k = (l * D) + d;
                ReadOnlySpan<float> directionGradient = upperGradient;
                if (D == 2 && !upperGradient.IsEmpty)
                {
                    // [T, B, 2H] -> this direction's [T, B, H]
                    Span<float> split = workspace.DirectionBuffer(d, rows * H);
                    ExtractColumns(upperGradient, rows, H, d, split);
                    directionGradient = split;
                }

                // The second direction's dX goes to a scratch buffer and is added: both directions read the same input.
                Span<float> dx = d == 0 || layerInputGradient.IsEmpty ? layerInputGradient : workspace.InputGradientScratch(rows * layerInputSize);
                _layers[k].BackwardCore(workspace.Layers[k], new SequenceGradients
                {
                    Input = layerInput,
                    Output = D == 1 ? layerOutput : default,
                    DOutput = directionGradient,
                    DX = dx,
                    Dh0 = Slice(initialHiddenGradient, k, stateSize),
                    Dc0 = Slice(initialCellGradient, k, stateSize),
                    DhN = Slice(finalHiddenGradient, k, stateSize),
                    DcN = Slice(finalCellGradient, k, stateSize),
                    TruncationWindow = truncationWindow,
                });
                if (d == 1 && !layerInputGradient.IsEmpty)
                {
                    TensorPrimitives.Add(layerInputGradient, dx, layerInputGradient);
                }
            }

            if (l > 0 && workspace.Training)
            {
                // y = x * mask  =>  dx = dy * mask
                TensorPrimitives.Multiply(layerInputGradient, workspace.DropoutMask(l - 1, rows * DH), layerInputGradient);
            }

            upperGradient = layerInputGradient;
        }
    }

    private static ReadOnlySpan<float> Slice(ReadOnlySpan<float> states, int k, int stateSize) =>
        states.IsEmpty ? default : states.Slice(k * stateSize, stateSize);

    private static Span<float> Slice(Span<float> states, int k, int stateSize) =>
        states.IsEmpty ? default : states.Slice(k * stateSize, stateSize);

    // out[r, 0:H] = first[r], out[r, H:2H] = second[r];  first, second: [N, H]  out: [N, 2H]
    private static void Interleave(ReadOnlySpan<float> first, ReadOnlySpan<float> second, int rows, int H, Span<float> output)
    {
        for (int r = 0; r < rows; r++)
        {
            first.Slice(r * H, H).CopyTo(output.Slice(2 * r * H, H));
            second.Slice(r * H, H).CopyTo(output.Slice(((2 * r) + 1) * H, H));
        }
    }

    // out[r] = source[r, d*H : d*H+H];  source: [N, 2H]  out: [N, H]
    private static void ExtractColumns(ReadOnlySpan<float> source, int rows, int H, int d, Span<float> output)
    {
        for (int r = 0; r < rows; r++)
        {
            source.Slice(((2 * r) + d) * H, H).CopyTo(output.Slice(r * H, H));
        }
    }

    private void FillDropoutMask(Span<float> mask)
    {
        // Inverted dropout: keep with probability 1-p and scale by 1/(1-p), so the expectation is unchanged.
        float keep = 1f / (1f - Dropout);
        var random = new SplitMix64(_dropoutState);
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = random.NextSingle() < Dropout ? 0f : keep;
        }

        _dropoutState = random.Next();
    }

    private void ValidateStates(ReadOnlySpan<float> states, string name, int B, bool cellState)
    {
        if (states.IsEmpty)
        {
            return;
        }

        if (cellState && !HasCellState)
        {
            ThrowHelper.ThrowArgument(name, $"a {Cell} stack has no cell state; pass an empty span");
        }

        ThrowHelper.ThrowIfLengthMismatch(states, name, new Dims("L*D", LayerCount * DirectionCount, "B", B, "H", HiddenSize));
    }

    private void ValidateWorkspace(StackWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (!ReferenceEquals(workspace.Owner, this))
        {
            ThrowHelper.ThrowArgument(nameof(workspace), "the workspace was created by another stack; use this stack's CreateWorkspace");
        }
    }
}
