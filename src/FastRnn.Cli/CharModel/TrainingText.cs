// Where a character model's text comes from: --text FILE, else the repository's README.md (found by walking up from the
// current directory to the folder holding FastRnn.sln), else a few of Shakespeare's sonnets embedded in the program.
// Line endings are normalized to "\n", so a text checked out on Windows gives the same vocabulary.
using System.Reflection;

namespace FastRnn.Cli.CharModel;

/// <summary>A training text and where it came from.</summary>
/// <param name="Text">The text, with "\n" line endings.</param>
/// <param name="Source">Its path, or a description of the embedded text.</param>
public sealed record TrainingText(string Text, string Source)
{
    /// <summary>The name of the embedded fallback text.</summary>
    public const string EmbeddedName = "FastRnn.Cli.Resources.sonnets.txt";

    /// <summary>Reads <paramref name="file"/>, or the default text when it is null.</summary>
    /// <param name="file">--text, or null.</param>
    /// <param name="startDirectory">Where the search for README.md starts (the current directory when null).</param>
    public static TrainingText Load(FileInfo? file, string? startDirectory = null)
    {
        if (file is not null)
        {
            return new TrainingText(Normalize(File.ReadAllText(file.FullName)), file.FullName);
        }

        string? readme = FindRepositoryReadme(startDirectory ?? Directory.GetCurrentDirectory());
        return readme is not null
            ? new TrainingText(Normalize(File.ReadAllText(readme)), readme)
            : new TrainingText(Normalize(ReadEmbedded()), "embedded text (Shakespeare's sonnets)");
    }

    /// <summary>README.md of the first directory at or above <paramref name="start"/> that holds FastRnn.sln, or null.</summary>
    public static string? FindRepositoryReadme(string start)
    {
        for (DirectoryInfo? directory = new(start); directory is not null; directory = directory.Parent)
        {
            string readme = Path.Combine(directory.FullName, "README.md");
            if (File.Exists(Path.Combine(directory.FullName, "FastRnn.sln")) && File.Exists(readme))
            {
                return readme;
            }
        }

        return null;
    }

    /// <summary>The embedded fallback text.</summary>
    public static string ReadEmbedded()
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(EmbeddedName)
            ?? throw new InvalidOperationException($"the embedded resource {EmbeddedName} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static string Normalize(string text) => text.ReplaceLineEndings("\n");
}
