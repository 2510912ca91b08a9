namespace FastRnn.Training;

/// <summary>Row masks for losses over padded, variable-length batches.</summary>
public static class SequenceMask
{
    /// <summary>Many-to-many: <c>mask[t * B + b] = t &lt; lengths[b]</c>.</summary>
    /// <param name="lengths">[B], each in 0..T, or empty when every sequence has T steps.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="mask">[T, B], overwritten.</param>
    public static void FromLengths(ReadOnlySpan<int> lengths, int sequenceLength, int batchSize, Span<bool> mask)
    {
        ValidateLengths(lengths, sequenceLength, batchSize);
        ThrowHelper.ThrowIfLengthMismatch(mask, nameof(mask), new Dims("T", sequenceLength, "B", batchSize));
        for (int t = 0; t < sequenceLength; t++)
        {
            for (int b = 0; b < batchSize; b++)
            {
                mask[(t * batchSize) + b] = lengths.IsEmpty || t < lengths[b];
            }
        }
    }

    /// <summary>Many-to-one: <c>mask[b] = lengths[b] &gt; 0</c>; a zero-length sequence has no last step and no target.</summary>
    /// <param name="lengths">[B].</param>
    /// <param name="mask">[B], overwritten.</param>
    public static void NonEmpty(ReadOnlySpan<int> lengths, Span<bool> mask)
    {
        ThrowHelper.ThrowIfLengthMismatch(mask, nameof(mask), new Dims("B", lengths.Length));
        for (int b = 0; b < lengths.Length; b++)
        {
            if (lengths[b] < 0)
            {
                ThrowHelper.ThrowOutOfRange(nameof(lengths), $"lengths[{b}] must be >= 0, was {lengths[b]}");
            }

            mask[b] = lengths[b] > 0;
        }
    }

    private static void ValidateLengths(ReadOnlySpan<int> lengths, int sequenceLength, int batchSize)
    {
        ThrowHelper.ThrowIfNegative(sequenceLength);
        ThrowHelper.ThrowIfNegative(batchSize);
        if (lengths.IsEmpty)
        {
            return;
        }

        ThrowHelper.ThrowIfLengthMismatch(lengths, nameof(lengths), new Dims("B", batchSize));
        for (int b = 0; b < batchSize; b++)
        {
            if ((uint)lengths[b] > (uint)sequenceLength)
            {
                ThrowHelper.ThrowOutOfRange(nameof(lengths), $"lengths[{b}] must be in 0..T={sequenceLength}, was {lengths[b]}");
            }
        }
    }
}
