// Legend: T time steps (= N + 2), B batch, N filler words.
// The seeds' long-range sentiment example ("I am not happy"; a long review whose key words come first) as a synthetic
// task: a negation slot ("not" or "really"), a sentiment word ("happy" or "sad"), then N neutral filler words. The label
// is the sentence's sentiment: positive for "really happy" and "not sad", negative for "not happy" and "really sad",
// i.e. happy XOR not. Neither key word alone says anything about the label, so a model must carry both (or their
// combination) across all N fillers to the last step, where a many-to-one classifier reads its state.
using System.Globalization;

namespace FastRnn.Cli.Demo;

/// <summary>Generates batches of the synthetic long-range sentiment task for one number of filler words N.</summary>
public sealed class SentimentTask
{
    /// <summary>Token id of "not" (negation).</summary>
    public const int Not = 0;

    /// <summary>Token id of "really" (no negation).</summary>
    public const int Really = 1;

    /// <summary>Token id of "happy".</summary>
    public const int Happy = 2;

    /// <summary>Token id of "sad".</summary>
    public const int Sad = 3;

    /// <summary>The first filler word's id; fillers are <c>FirstFiller .. VocabularySize - 1</c>.</summary>
    public const int FirstFiller = 4;

    /// <summary>Class of a negative sentence.</summary>
    public const int Negative = 0;

    /// <summary>Class of a positive sentence.</summary>
    public const int Positive = 1;

    /// <summary>Classes.</summary>
    public const int ClassCount = 2;

    // 17 neutral words, drawn uniformly and independently for every filler position.
    private static readonly string[] s_words =
    [
        "not", "really", "happy", "sad",
        "the", "movie", "was", "long", "and", "i", "watched", "it", "with", "my", "friends", "on", "a", "rainy", "sunday", "at", "home",
    ];

    /// <summary>Creates the task with <paramref name="fillerCount"/> filler words after the two key words.</summary>
    /// <param name="fillerCount">N, at least 0.</param>
    public SentimentTask(int fillerCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fillerCount);
        FillerCount = fillerCount;
    }

    /// <summary>The words, indexed by token id.</summary>
    public static IReadOnlyList<string> Words => s_words;

    /// <summary>V: token ids are 0..V-1.</summary>
    public static int VocabularySize => s_words.Length;

    /// <summary>The number of distinct filler words.</summary>
    public static int FillerVocabularySize => s_words.Length - FirstFiller;

    /// <summary>N: filler words between the key words and the end.</summary>
    public int FillerCount { get; }

    /// <summary>T = N + 2: the sequence length.</summary>
    public int SequenceLength => FillerCount + 2;

    /// <summary>The label of a sentence: positive iff exactly one of "not" and "sad" occurs (happy XOR not).</summary>
    /// <param name="negated">Whether the first word is "not".</param>
    /// <param name="happy">Whether the second word is "happy".</param>
    public static int Label(bool negated, bool happy) => negated != happy ? Positive : Negative;

    /// <summary>
    /// Writes <paramref name="batchSize"/> sentences, time-major, and their labels. The (negation, sentiment)
    /// combinations cycle through "really sad", "not sad", "not happy", "really happy" (labels negative, positive,
    /// negative, positive) from a random starting point, so any batch holds every combination and both labels equally
    /// often, within one, and even a batch of one sees all four over successive calls; the fillers are random.
    /// Allocation-free.
    /// </summary>
    /// <param name="random">The generator; advanced by one draw for the starting combination and one per filler.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="tokens">[T, B], written.</param>
    /// <param name="labels">[B], written.</param>
    public void Fill(ref TaskRandom random, int batchSize, Span<int> tokens, Span<int> labels)
    {
        int T = SequenceLength, B = batchSize;
        if (B < 0 || tokens.Length != T * B || labels.Length != B)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"expected tokens [T={T}, B={B}] ({T * B} ids) and labels [B={B}], got {tokens.Length} and {labels.Length}"));
        }

        int fillers = FillerVocabularySize;
        int start = random.Next(4);
        for (int b = 0; b < B; b++)
        {
            int k = (start + b) & 3; // 0 really sad, 1 not sad, 2 not happy, 3 really happy
            bool negated = k is 1 or 2, happy = k >= 2;
            tokens[b] = negated ? Not : Really;
            tokens[B + b] = happy ? Happy : Sad;
            labels[b] = Label(negated, happy);
        }

        for (int t = 2; t < T; t++)
        {
            Span<int> row = tokens.Slice(t * B, B);
            for (int b = 0; b < B; b++)
            {
                row[b] = FirstFiller + random.Next(fillers);
            }
        }
    }

    /// <summary>Sentence b of a time-major batch as words, e.g. <c>not happy the movie was ...</c>.</summary>
    public string Describe(ReadOnlySpan<int> tokens, int batchSize, int b)
    {
        var words = new List<string>(SequenceLength);
        for (int t = 0; t < SequenceLength; t++)
        {
            words.Add(s_words[tokens[(t * batchSize) + b]]);
        }

        return string.Join(' ', words);
    }
}

/// <summary>
/// The demo's generator: the library's <see cref="SplitMix64"/> with stream identifiers mixed into its seed, so the
/// demo's data depend only on the seed, never on the runtime's <see cref="Random"/>.
/// </summary>
public struct TaskRandom
{
    private SplitMix64 _generator;

    /// <summary>Creates a generator from a seed and up to three stream identifiers, each mixed in turn.</summary>
    public TaskRandom(long seed, long stream1 = 0, long stream2 = 0, long stream3 = 0)
    {
        _generator = new SplitMix64((ulong)seed);
        foreach (long stream in (ReadOnlySpan<long>)[stream1, stream2, stream3])
        {
            _generator.State = _generator.Next() ^ (ulong)stream;
        }
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64() => _generator.Next();

    /// <summary>Uniform in 0..<paramref name="count"/>-1 (multiply-shift of 32 random bits; the bias is below count / 2^32).</summary>
    public int Next(int count) => _generator.NextInt(count);

    /// <summary>A non-negative 31-bit seed for the library's initializers.</summary>
    public int NextSeed() => (int)(_generator.Next() >> 33);
}
