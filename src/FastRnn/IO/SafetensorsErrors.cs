using System.Text;

namespace FastRnn.IO;

/// <summary>Builds the <see cref="InvalidDataException"/>s of the safetensors reader, and quotes untrusted text for them.</summary>
internal static class SafetensorsErrors
{
    // Names and literals come from the file; a message shows at most this many characters of each.
    private const int MaxQuoted = 80;

    public static InvalidDataException Invalid(string message) => new("Invalid safetensors file: " + message);

    public static InvalidDataException Invalid(string message, Exception inner) => new("Invalid safetensors file: " + message, inner);

    /// <summary>'name', shortened, with control characters escaped so a hostile name cannot garble the message.</summary>
    public static string Quote(string text) => "'" + Shorten(text) + "'";

    /// <summary>A dtype as in the reference's messages (BF16), quoted when it is not a plain identifier.</summary>
    public static string DTypeText(string text)
    {
        if (text.Length is > 0 and <= 16)
        {
            bool plain = true;
            foreach (char c in text)
            {
                plain &= char.IsAsciiLetterOrDigit(c) || c == '_';
            }

            if (plain)
            {
                return text;
            }
        }

        return Quote(text);
    }

    public static string Shorten(string text)
    {
        int shown = Math.Min(text.Length, MaxQuoted);
        var builder = new StringBuilder(shown + 24);
        for (int i = 0; i < shown; i++)
        {
            char c = text[i];
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append($"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        if (text.Length > shown)
        {
            builder.Append($"... ({text.Length} characters)");
        }

        return builder.ToString();
    }
}
