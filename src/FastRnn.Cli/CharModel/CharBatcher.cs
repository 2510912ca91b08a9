// Legend: T time steps (characters per window), B batch (windows per step).
// Training batches of a character model: B windows of T + 1 consecutive characters at seeded random offsets; the first
// T are the inputs, the last T (shifted by one) the targets, both time-major [T, B].
namespace FastRnn.Cli.CharModel;

/// <summary>Draws random windows of a text as (tokens, next-token targets) batches. Allocation-free per batch.</summary>
public sealed class CharBatcher
{
    private readonly int[] _ids;
    private SplitMix64 _random;

    /// <summary>Creates the batcher over <paramref name="ids"/>.</summary>
    /// <param name="ids">The text's token ids.</param>
    /// <param name="sequenceLength">T; the text must hold at least T + 1 characters.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="generatorState">The window generator's state: from <see cref="InitialState"/>, or saved by a checkpoint.</param>
    public CharBatcher(int[] ids, int sequenceLength, int batchSize, ulong generatorState)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (ids.Length < sequenceLength + 1)
        {
            throw new ArgumentException($"a window of T={sequenceLength} needs a text of at least {sequenceLength + 1} characters, got {ids.Length}", nameof(ids));
        }

        _ids = ids;
        SequenceLength = sequenceLength;
        BatchSize = batchSize;
        _random = new SplitMix64(generatorState);
    }

    /// <summary>T.</summary>
    public int SequenceLength { get; }

    /// <summary>B.</summary>
    public int BatchSize { get; }

    /// <summary>The window generator's state now (what a checkpoint saves).</summary>
    public ulong GeneratorState => _random.State;

    /// <summary>The generator state a run seeded with <paramref name="seed"/> starts from (independent of the model's seeds).</summary>
    public static ulong InitialState(int seed)
    {
        // One SplitMix step away from the seed, so seed 1 here and seed 1 in the library's initializers differ.
        var seeds = new SplitMix64(0xDA7A_5EED_0000_0000UL ^ (uint)seed);
        return seeds.Next();
    }

    /// <summary>Fills the next batch.</summary>
    /// <param name="tokens">[T, B] inputs, overwritten.</param>
    /// <param name="targets">[T, B] the character after each input, overwritten.</param>
    public void Next(Span<int> tokens, Span<int> targets)
    {
        int T = SequenceLength, B = BatchSize;
        if (tokens.Length != T * B || targets.Length != T * B)
        {
            throw new ArgumentException($"expected [T={T}, B={B}] = {T * B} tokens and targets, got {tokens.Length} and {targets.Length}");
        }

        int starts = _ids.Length - T; // window b covers ids[start .. start + T]
        for (int b = 0; b < B; b++)
        {
            int start = _random.NextInt(starts);
            for (int t = 0; t < T; t++)
            {
                tokens[(t * B) + b] = _ids[start + t];
                targets[(t * B) + b] = _ids[start + t + 1];
            }
        }
    }
}
