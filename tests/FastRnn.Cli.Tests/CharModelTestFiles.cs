// Shared pieces of the model command tests: a tiny training text, tiny model options, and repository paths.
namespace FastRnn.Cli.Tests;

internal static class CharModelTestFiles
{
    /// <summary>
    /// A short text with the characters that stress the vocabulary's storage: newline, tab, quotes, backslash, a
    /// non-ASCII letter and a character outside the BMP (one token, two UTF-16 units).
    /// </summary>
    public const string TinyText =
        "the cat sat on the mat.\n\"the dog\" sat\ton the log; a\\b.\n" +
        "caf\u00e9 \U0001F600 the cat and the dog sat on the mat and the log.\n" +
        "the rat sat on the hat, the bat sat on the cat.\n";

    /// <summary>Options of a model small enough for a 20-step run to take milliseconds.</summary>
    public static readonly string[] TinyModel = ["--hidden", "8", "--embedding", "4", "--seq-len", "8", "--batch", "4", "--checkpoint-every", "5"];

    /// <summary>A file of the repository, found by walking up from the test binaries to the folder holding FastRnn.sln.</summary>
    public static string RepositoryFile(string relativePath)
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "FastRnn.sln")))
            {
                return Path.Combine(directory.FullName, relativePath);
            }
        }

        throw new FileNotFoundException($"FastRnn.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs `fastrnn train` on <paramref name="text"/> with the tiny model (and no sample unless asked) and returns the run.</summary>
    public static CliRun Train(string text, string outDirectory, params string[] extra) =>
        CliHarness.Run(["train", "--text", text, "--out", outDirectory, .. extra.Contains("--sample-length") ? [] : (string[])["--sample-length", "0"], .. TinyModel, .. extra]);
}
