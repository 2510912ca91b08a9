// Legend: T time steps, B batch, I input size, H hidden size; G = 4, gate order i, f, g, o.
using FastRnn.Cells;

namespace FastRnn.Layers;

/// <summary>
/// An LSTM layer with PyTorch's <c>nn.LSTM</c> layout and gate order i, f, g, o:
/// <c>c_t = f*c_{t-1} + i*g</c>, <c>h_t = o*tanh(c_t)</c>; parameters <c>weight_ih[4H, I]</c>, <c>weight_hh[4H, H]</c>,
/// <c>bias_ih[4H]</c>, <c>bias_hh[4H]</c>.
/// </summary>
public sealed class LstmLayer : RecurrentLayer
{
    /// <summary>Creates the layer and adds its four parameters to <paramref name="store"/>, initialized as PyTorch does.</summary>
    /// <param name="store">Where the parameters live.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="layerIndex">k in the parameter names (<c>weight_ih_l{k}</c>).</param>
    /// <param name="reverse">Whether this is the backward direction (parameter names end in <c>_reverse</c>).</param>
    /// <param name="seed">Seed of the default initialization.</param>
    /// <param name="namePrefix">Prepended to every parameter name.</param>
    public LstmLayer(ParameterStore store, int inputSize, int hiddenSize, int layerIndex = 0, bool reverse = false, int seed = 0, string namePrefix = "")
        : base(store, inputSize, hiddenSize, LstmCell.GateCount, layerIndex, reverse, namePrefix)
    {
        ResetParameters(seed);
    }

    /// <summary>Runs the layer and saves what backward needs; as <see cref="RecurrentLayer.Forward"/> plus the cell state.</summary>
    /// <param name="input">x: [T, B, I], time-major.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="output">[T, B, H]: h_t at every valid step, 0 at padding.</param>
    /// <param name="workspace">A workspace from <see cref="RecurrentLayer.CreateWorkspace"/>.</param>
    /// <param name="initialHidden">h0: [B, H], or empty for zeros.</param>
    /// <param name="initialCell">c0: [B, H], or empty for zeros.</param>
    /// <param name="lengths">[B], each in 0..T, or empty for all T.</param>
    /// <param name="finalHidden">h_n: [B, H], or empty.</param>
    /// <param name="finalCell">c_n: [B, H], or empty; c0 for a zero-length sequence.</param>
    public void Forward(
        ReadOnlySpan<float> input, int sequenceLength, int batchSize, Span<float> output, RecurrentWorkspace workspace,
        ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell, ReadOnlySpan<int> lengths = default,
        Span<float> finalHidden = default, Span<float> finalCell = default)
        => ForwardCore(input, sequenceLength, batchSize, output, workspace, lengths, new SequenceStates { H0 = initialHidden, C0 = initialCell, HN = finalHidden, CN = finalCell }, BorrowsCallerBuffers(workspace), BorrowsCallerBuffers(workspace));

    /// <summary>Backpropagates through the recorded pass; as <see cref="RecurrentLayer.Backward(ReadOnlySpan{float}, RecurrentWorkspace, Span{float}, Span{float}, ReadOnlySpan{float}, int)"/> plus the cell state.</summary>
    /// <param name="outputGradient">[T, B, H], or empty for zero.</param>
    /// <param name="workspace">The workspace the matching forward call used.</param>
    /// <param name="inputGradient">dX: [T, B, I], overwritten, or empty.</param>
    /// <param name="initialHiddenGradient">dh0: [B, H], overwritten, or empty.</param>
    /// <param name="initialCellGradient">dc0: [B, H], overwritten, or empty.</param>
    /// <param name="finalHiddenGradient">dh_n: [B, H], or empty for zero.</param>
    /// <param name="finalCellGradient">dc_n: [B, H], or empty for zero; enters at each sequence's last valid step.</param>
    /// <param name="truncationWindow">0 for full BPTT; k &gt; 0 cuts both carried gradients (dh and dc) at t = k, 2k, ...</param>
    public void Backward(
        ReadOnlySpan<float> outputGradient, RecurrentWorkspace workspace, Span<float> inputGradient,
        Span<float> initialHiddenGradient, Span<float> initialCellGradient,
        ReadOnlySpan<float> finalHiddenGradient = default, ReadOnlySpan<float> finalCellGradient = default, int truncationWindow = 0)
        => Backward(default, default, outputGradient, workspace, inputGradient, initialHiddenGradient, initialCellGradient, finalHiddenGradient, finalCellGradient, truncationWindow);

    /// <summary>
    /// Backpropagates through a pass that ran with <see cref="RecurrentWorkspace.CopiesInputAndOutput"/> off, reading x
    /// and the states where the caller keeps them (see <see cref="RecurrentLayer.Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, RecurrentWorkspace, Span{float}, Span{float}, ReadOnlySpan{float}, int)"/>);
    /// otherwise as the overload without them. The cell states stay in the workspace either way.
    /// </summary>
    /// <param name="input">x: [T, B, I], as the matching forward read it. Read only.</param>
    /// <param name="output">[T, B, H], as the matching forward wrote it. Read only.</param>
    /// <param name="outputGradient">[T, B, H], or empty for zero.</param>
    /// <param name="workspace">The workspace the matching forward call used.</param>
    /// <param name="inputGradient">dX: [T, B, I], overwritten, or empty; it must not overlap x or the output.</param>
    /// <param name="initialHiddenGradient">dh0: [B, H], overwritten, or empty.</param>
    /// <param name="initialCellGradient">dc0: [B, H], overwritten, or empty.</param>
    /// <param name="finalHiddenGradient">dh_n: [B, H], or empty for zero.</param>
    /// <param name="finalCellGradient">dc_n: [B, H], or empty for zero.</param>
    /// <param name="truncationWindow">0 for full BPTT; k &gt; 0 cuts both carried gradients at t = k, 2k, ...</param>
    public void Backward(
        ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, RecurrentWorkspace workspace,
        Span<float> inputGradient, Span<float> initialHiddenGradient, Span<float> initialCellGradient,
        ReadOnlySpan<float> finalHiddenGradient = default, ReadOnlySpan<float> finalCellGradient = default, int truncationWindow = 0)
        => BackwardCore(workspace, new SequenceGradients
        {
            Input = input,
            Output = output,
            DOutput = outputGradient,
            DX = inputGradient,
            Dh0 = initialHiddenGradient,
            Dc0 = initialCellGradient,
            DhN = finalHiddenGradient,
            DcN = finalCellGradient,
            TruncationWindow = truncationWindow,
        });

    private protected override void RunWithCell<TAction>(ref TAction action) => action.Run(default(LstmCell));
}
