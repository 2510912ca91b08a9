// Legend: T time steps, B batch, H hidden size, D directions.
// outputs: [T, B, D*H]  last: [B, D*H]
namespace FastRnn.Training;

/// <summary>
/// Many-to-one readout: each sequence's final features, as PyTorch's top-layer <c>h_n</c> gives them. The forward
/// direction's half comes from the sequence's last valid step, the reverse direction's half from t = 0 (where the
/// reverse pass ends).
/// </summary>
public static class SequencePooling
{
    /// <summary>Gathers <c>last[b] = [outputs[len_b - 1, b, 0:H], outputs[0, b, H:2H]]</c> (the second half only when D = 2).</summary>
    /// <param name="outputs">[T, B, D*H], a stack's output.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="directionCount">D, 1 or 2.</param>
    /// <param name="lengths">[B], each in 0..T, or empty for all T.</param>
    /// <param name="last">[B, D*H], overwritten; 0 for a zero-length sequence (mask it with <see cref="SequenceMask.NonEmpty"/>).</param>
    public static void LastValidStep(
        ReadOnlySpan<float> outputs, int sequenceLength, int batchSize, int directionCount, ReadOnlySpan<int> lengths, Span<float> last)
    {
        int width = Validate(outputs, sequenceLength, batchSize, directionCount, lengths, last, nameof(outputs), nameof(last));
        int B = batchSize, H = width / directionCount;
        for (int b = 0; b < B; b++)
        {
            int length = lengths.IsEmpty ? sequenceLength : lengths[b];
            Span<float> row = last.Slice(b * width, width);
            if (length == 0)
            {
                row.Clear();
                continue;
            }

            outputs.Slice((((length - 1) * B) + b) * width, H).CopyTo(row[..H]);
            if (directionCount == 2)
            {
                outputs.Slice((b * width) + H, H).CopyTo(row[H..]);
            }
        }
    }

    /// <summary>The backward of <see cref="LastValidStep"/>: writes <paramref name="outputsGradient"/> as zeros except the gathered positions.</summary>
    /// <param name="lastGradient">[B, D*H].</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="directionCount">D, 1 or 2.</param>
    /// <param name="lengths">[B], as given to <see cref="LastValidStep"/>.</param>
    /// <param name="outputsGradient">[T, B, D*H], overwritten.</param>
    public static void LastValidStepBackward(
        ReadOnlySpan<float> lastGradient, int sequenceLength, int batchSize, int directionCount, ReadOnlySpan<int> lengths, Span<float> outputsGradient)
    {
        int width = Validate(outputsGradient, sequenceLength, batchSize, directionCount, lengths, lastGradient, nameof(outputsGradient), nameof(lastGradient));
        int B = batchSize, H = width / directionCount;
        outputsGradient.Clear();
        for (int b = 0; b < B; b++)
        {
            int length = lengths.IsEmpty ? sequenceLength : lengths[b];
            if (length == 0)
            {
                continue;
            }

            ReadOnlySpan<float> row = lastGradient.Slice(b * width, width);
            row[..H].CopyTo(outputsGradient.Slice((((length - 1) * B) + b) * width, H));
            if (directionCount == 2)
            {
                // With T = 1 both halves sit in the same row but in different columns, so copies never collide.
                row[H..].CopyTo(outputsGradient.Slice((b * width) + H, H));
            }
        }
    }

    private static int Validate(
        ReadOnlySpan<float> sequence, int T, int B, int D, ReadOnlySpan<int> lengths, ReadOnlySpan<float> last, string sequenceName, string lastName)
    {
        ThrowHelper.ThrowIfNegative(T);
        ThrowHelper.ThrowIfNegative(B);
        if (D is not (1 or 2))
        {
            ThrowHelper.ThrowOutOfRange("directionCount", $"must be 1 or 2, was {D}");
        }

        if (B == 0)
        {
            ThrowHelper.ThrowIfLengthMismatch(sequence, sequenceName, new Dims("T", T, "B", B));
            ThrowHelper.ThrowIfLengthMismatch(last, lastName, new Dims("B", B));
            return D;
        }

        int width = last.Length / B;
        if (width == 0 || width % D != 0 || width * B != last.Length)
        {
            ThrowHelper.ThrowArgument(lastName, $"expected [B={B}, D*H] with D={D}, got {last.Length} elements");
        }

        ThrowHelper.ThrowIfLengthMismatch(sequence, sequenceName, new Dims("T", T, "B", B, "D*H", width));
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

        return width;
    }
}
