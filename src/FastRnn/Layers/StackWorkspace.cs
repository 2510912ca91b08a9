// Legend: T time steps, B batch, I input size, H hidden size, D directions, L layers.
namespace FastRnn.Layers;

/// <summary>
/// Everything one <see cref="RecurrentStack"/> forward pass saves for its backward pass: a <see cref="RecurrentWorkspace"/>
/// per layer and direction, the outputs of every layer but the last (each the next layer's input, which that layer's
/// passes read in place instead of copying), two ping-pong buffers for their gradients, the per-direction split
/// buffers of a bidirectional stack and the dropout masks. Sized once for <c>(maxT, maxB)</c>; never resized.
/// </summary>
public sealed class StackWorkspace
{
    private readonly float[][] _layerOutputs;   // (L-1) x [T, B, D*H]
    private readonly float[][] _layerGradients; // 2 x [T, B, D*H]
    private readonly float[][] _directions;     // D x [T, B, H] (bidirectional only)
    private readonly float[] _inputGradientScratch; // [T, B, max(I, D*H)] (bidirectional only)
    private readonly float[][] _dropoutMasks;   // (L-1) x [T, B, D*H] (only with dropout)

    internal StackWorkspace(RecurrentStack owner, RecurrentWorkspace[] layers, int maxSequenceLength, int maxBatchSize)
    {
        Owner = owner;
        Layers = layers;
        MaxSequenceLength = maxSequenceLength;
        MaxBatchSize = maxBatchSize;
        long rows = (long)maxSequenceLength * maxBatchSize;
        int D = owner.DirectionCount, H = owner.HiddenSize, L = owner.LayerCount;
        int between = L > 1 ? checked((int)(rows * D * H)) : 0;
        _layerOutputs = new float[L - 1][];
        for (int i = 0; i < _layerOutputs.Length; i++)
        {
            _layerOutputs[i] = new float[between];
        }

        _layerGradients = [new float[between], new float[L > 2 ? between : 0]];
        _directions = D == 2 ? [new float[checked((int)(rows * H))], new float[checked((int)(rows * H))]] : [];
        _inputGradientScratch = D == 2 ? new float[checked((int)(rows * Math.Max(owner.InputSize, D * H)))] : [];
        _dropoutMasks = new float[owner.Dropout > 0f ? L - 1 : 0][];
        for (int i = 0; i < _dropoutMasks.Length; i++)
        {
            _dropoutMasks[i] = new float[between];
        }
    }

    /// <summary>
    /// Whether the stack's forward passes keep their own copies of its input x and of the states they write to its
    /// output (the default); as <see cref="RecurrentWorkspace.CopiesInputAndOutput"/>. Set it to <see langword="false"/>
    /// when x and the output stay unchanged until the backward pass and you give both to the <c>Backward</c> overload
    /// that takes them. Between layers the stack decides alone: each layer reads its input (an output this workspace
    /// keeps) in place, and a unidirectional layer keeps its states in its output unless dropout scales it; the layers'
    /// own <see cref="RecurrentWorkspace.CopiesInputAndOutput"/> is not read. An output or a final state over x still
    /// copies x.
    /// </summary>
    public bool CopiesInputAndOutput { get; set; } = true;

    /// <summary>The largest T.</summary>
    public int MaxSequenceLength { get; }

    /// <summary>The largest B.</summary>
    public int MaxBatchSize { get; }

    /// <summary>Bytes held by this workspace, its layers' workspaces included.</summary>
    public long SizeInBytes
    {
        get
        {
            long floats = _inputGradientScratch.Length;
            foreach (float[][] group in (ReadOnlySpan<float[][]>)[_layerOutputs, _layerGradients, _directions, _dropoutMasks])
            {
                foreach (float[] buffer in group)
                {
                    floats += buffer.Length;
                }
            }

            long bytes = floats * sizeof(float);
            foreach (RecurrentWorkspace layer in Layers)
            {
                bytes += layer.SizeInBytes;
            }

            return bytes;
        }
    }

    /// <summary>The workspace of one layer and direction, e.g. to read what its pass recorded.</summary>
    /// <param name="layer">0..L-1.</param>
    /// <param name="direction">0..D-1.</param>
    public RecurrentWorkspace LayerWorkspace(int layer, int direction = 0)
    {
        Owner.Layer(layer, direction); // validates both indices
        return Layers[(layer * Owner.DirectionCount) + direction];
    }

    internal RecurrentStack Owner { get; }

    internal RecurrentWorkspace[] Layers { get; }

    internal int SequenceLength { get; set; }

    internal int BatchSize { get; set; }

    internal bool Training { get; set; }

    internal bool HasForward { get; set; }

    /// <summary>Whether the recorded pass ran with <see cref="CopiesInputAndOutput"/> off: its backward must be given x and the output.</summary>
    internal bool BorrowsCallerBuffers { get; set; }

    /// <summary>Layer <paramref name="layer"/>'s output, [T, B, D*H] (0 &lt;= layer &lt; L - 1): the next layer's input until the backward pass.</summary>
    internal Span<float> LayerOutput(int layer, int length) => _layerOutputs[layer].AsSpan(0, length);

    internal Span<float> LayerGradient(int index, int length) => _layerGradients[index].AsSpan(0, length);

    internal Span<float> DirectionBuffer(int direction, int length) => _directions[direction].AsSpan(0, length);

    internal Span<float> InputGradientScratch(int length) => _inputGradientScratch.AsSpan(0, length);

    internal Span<float> DropoutMask(int boundary, int length) => _dropoutMasks[boundary].AsSpan(0, length);
}
