// Legend: T time steps, H hidden size, D directions, L layers.
using FastRnn.Layers;

namespace FastRnn.Diagnostics;

/// <summary>
/// Per-step gradient norms of a <see cref="RecurrentStack"/>, combined from what each layer and direction recorded (see
/// <see cref="RecurrentWorkspace.RecordGradientNorms"/>): the squared norms add over directions and layers. Allocation-free.
/// </summary>
public static class StackGradientNorms
{
    /// <summary>Turns the per-step recording on or off for every layer and direction of the stack.</summary>
    /// <param name="workspace">The stack's workspace.</param>
    /// <param name="record">Whether backward passes record.</param>
    public static void SetRecording(StackWorkspace workspace, bool record)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        foreach (RecurrentWorkspace layer in workspace.Layers)
        {
            layer.RecordGradientNorms = record;
        }
    }

    /// <summary>
    /// Per step, the norm of the gradient reaching layer <paramref name="layer"/>'s state at t, both directions together
    /// (<c>[B_t, D*H]</c>): <c>sqrt(sum_d ||dL/dh_t^(d)||^2)</c>.
    /// </summary>
    /// <param name="workspace">The stack's workspace, after a backward pass that recorded.</param>
    /// <param name="layer">l in 0..L-1.</param>
    /// <param name="norms">[T], written.</param>
    /// <exception cref="ArgumentException">A direction recorded nothing, or <paramref name="norms"/> is not T long.</exception>
    public static void LayerHiddenNorms(StackWorkspace workspace, int layer, Span<float> norms)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        int D = workspace.Owner.DirectionCount;
        workspace.LayerWorkspace(layer); // validates the index
        Combine(workspace, layer * D, D, norms);
    }

    /// <summary>Per step, the norm of the gradient reaching every layer's state at t (all layers and directions), [T].</summary>
    /// <param name="workspace">The stack's workspace, after a backward pass that recorded.</param>
    /// <param name="norms">[T], written.</param>
    /// <exception cref="ArgumentException">A layer recorded nothing, or <paramref name="norms"/> is not T long.</exception>
    public static void StackHiddenNorms(StackWorkspace workspace, Span<float> norms)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        Combine(workspace, 0, workspace.Layers.Length, norms);
    }

    private static void Combine(StackWorkspace workspace, int first, int count, Span<float> norms)
    {
        // Validate all before writing anything.
        for (int k = first; k < first + count; k++)
        {
            int recorded = workspace.Layers[k].HiddenGradientSquaredNorms.Length;
            if (recorded == 0 && workspace.SequenceLength > 0)
            {
                ThrowHelper.ThrowArgument(nameof(workspace), $"layer {k / workspace.Owner.DirectionCount}, direction {k % workspace.Owner.DirectionCount} recorded no gradient norms; call SetRecording(workspace, true) before Backward");
            }

            ThrowHelper.ThrowIfLengthMismatch((ReadOnlySpan<float>)norms, nameof(norms), new Dims("T", recorded));
        }

        for (int t = 0; t < norms.Length; t++)
        {
            double sum = 0;
            for (int k = first; k < first + count; k++)
            {
                sum += workspace.Layers[k].HiddenGradientSquaredNorms[t];
            }

            norms[t] = (float)Math.Sqrt(sum);
        }
    }
}
