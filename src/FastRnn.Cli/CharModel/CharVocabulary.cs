// The characters of a character-level model: the distinct Unicode scalar values (System.Text.Rune, so a character
// outside the BMP is one token, never two surrogate halves) of the training text, sorted by code point. Token id =
// index in that order. A checkpoint stores them as one string (metadata "vocabulary").
using System.Globalization;
using System.Text;

namespace FastRnn.Cli.CharModel;

/// <summary>The characters a character-level model reads and writes, with their token ids.</summary>
public sealed class CharVocabulary
{
    private readonly Rune[] _runes;
    private readonly Dictionary<Rune, int> _ids;

    private CharVocabulary(Rune[] runes)
    {
        _runes = runes;
        _ids = new Dictionary<Rune, int>(runes.Length);
        for (int i = 0; i < runes.Length; i++)
        {
            _ids.Add(runes[i], i);
        }

        Text = string.Concat(runes.Select(rune => rune.ToString()));
    }

    /// <summary>V: the number of characters.</summary>
    public int Count => _runes.Length;

    /// <summary>Every character in id order, as one string (what the checkpoint stores).</summary>
    public string Text { get; }

    /// <summary>The distinct characters of <paramref name="text"/>, sorted by code point.</summary>
    /// <exception cref="InvalidDataException">The text is empty or holds an unpaired surrogate.</exception>
    public static CharVocabulary FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var distinct = new SortedSet<Rune>();
        foreach (Rune rune in Runes(text, "the text"))
        {
            distinct.Add(rune);
        }

        if (distinct.Count == 0)
        {
            throw new InvalidDataException("the text is empty; a character model needs at least one character");
        }

        return new CharVocabulary([.. distinct]);
    }

    /// <summary>A vocabulary stored as <see cref="Text"/>: distinct characters in ascending order.</summary>
    /// <exception cref="InvalidDataException">Empty, repeated or unsorted characters, or an unpaired surrogate.</exception>
    public static CharVocabulary Parse(string stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        Rune[] runes = [.. Runes(stored, "the vocabulary")];
        if (runes.Length == 0)
        {
            throw new InvalidDataException("the vocabulary is empty");
        }

        for (int i = 1; i < runes.Length; i++)
        {
            if (runes[i].Value <= runes[i - 1].Value)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"the vocabulary must list distinct characters in ascending order; character {i} ({Show(runes[i])}) breaks it"));
            }
        }

        return new CharVocabulary(runes);
    }

    /// <summary>Whether <paramref name="rune"/> has an id.</summary>
    public bool Contains(Rune rune) => _ids.ContainsKey(rune);

    /// <summary>The id of <paramref name="rune"/>, or -1 when it is not in the vocabulary.</summary>
    public int IdOf(Rune rune) => _ids.TryGetValue(rune, out int id) ? id : -1;

    /// <summary>The character of token <paramref name="id"/>.</summary>
    public Rune this[int id] => _runes[id];

    /// <summary>
    /// The ids of <paramref name="text"/>'s characters. Characters not in the vocabulary fail with a message naming the
    /// first of them (shown escaped) and <paramref name="what"/>; with <paramref name="dropUnknown"/> they are skipped instead.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="what">What the text is, for the message (e.g. "--prompt").</param>
    /// <param name="dropUnknown">Skip unknown characters instead of failing.</param>
    /// <param name="dropped">How many characters were skipped.</param>
    /// <exception cref="ArgumentException">A character is not in the vocabulary (and <paramref name="dropUnknown"/> is false).</exception>
    public int[] Encode(string text, string what, bool dropUnknown, out int dropped)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        dropped = 0;
        foreach (Rune rune in Runes(text, what))
        {
            int id = IdOf(rune);
            if (id >= 0)
            {
                ids.Add(id);
            }
            else if (dropUnknown)
            {
                dropped++;
            }
            else
            {
                throw new ArgumentException($"{what} contains {Show(rune)}, which is not in the model's vocabulary of {Count} characters ({Describe()})");
            }
        }

        return [.. ids];
    }

    /// <summary>A short readable listing of the vocabulary for messages: escaped, cut after 40 characters.</summary>
    public string Describe()
    {
        const int Shown = 40;
        var text = new StringBuilder("\"");
        for (int i = 0; i < Math.Min(Count, Shown); i++)
        {
            text.Append(Escape(_runes[i]));
        }

        text.Append('"');
        if (Count > Shown)
        {
            text.Append(CultureInfo.InvariantCulture, $" and {Count - Shown} more");
        }

        return text.ToString();
    }

    /// <summary>A character as messages show it: quoted, with control characters escaped (<c>'\n'</c>, <c>'\u0007'</c>).</summary>
    public static string Show(Rune rune) => "'" + Escape(rune) + "'";

    private static string Escape(Rune rune) => rune.Value switch
    {
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\\' => "\\\\",
        _ when Rune.IsControl(rune) => string.Create(CultureInfo.InvariantCulture, $"\\u{rune.Value:x4}"),
        _ => rune.ToString(),
    };

    private static IEnumerable<Rune> Runes(string text, string what)
    {
        int index = 0;
        while (index < text.Length)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(index), out Rune rune, out int used) != System.Buffers.OperationStatus.Done)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{what} holds an unpaired surrogate at UTF-16 index {index}"));
            }

            yield return rune;
            index += used;
        }
    }
}
