// Runs the command line in-process with captured output, and checks the error contract: one line on stderr,
// "fastrnn: error: ...", no stack trace.
using Spectre.Console;

namespace FastRnn.Cli.Tests;

internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Asserts a failed run: the exit code, and one error line on stderr containing every fragment.</summary>
    public void AssertError(int exitCode, params string[] fragments)
    {
        Assert.True(ExitCode == exitCode, $"exit code {ExitCode}, expected {exitCode}; stderr: {Stderr}");
        string line = Assert.Single(StderrLines);
        Assert.StartsWith("fastrnn: error: ", line, StringComparison.Ordinal);
        foreach (string fragment in fragments)
        {
            Assert.Contains(fragment, line, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception:", Stderr, StringComparison.Ordinal);
        Assert.Equal("", Stdout);
    }
}

internal static class CliHarness
{
    public static CliRun Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exitCode = FastRnnCli.Run(args, stdout, stderr);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs a command line made of <paramref name="commands"/> only.</summary>
    public static CliRun RunWith(IReadOnlyList<CliCommand> commands, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exitCode = FastRnnCli.Run(args, FastRnnCli.CreateConsole(stdout), stderr, commands);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A console over <paramref name="writer"/> that claims to be an interactive ANSI terminal or not.</summary>
    public static IAnsiConsole Console(StringWriter writer, bool interactive) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = interactive ? AnsiSupport.Yes : AnsiSupport.No,
        ColorSystem = ColorSystemSupport.NoColors,
        Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
    });
}

/// <summary>A fresh directory under the temp folder, deleted on dispose; <see cref="Path"/> does not exist yet.</summary>
internal sealed class TempDirectory : IDisposable
{
    private readonly string _root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fastrnn-cli-tests-" + Guid.NewGuid().ToString("N"));

    public TempDirectory() => Directory.CreateDirectory(_root);

    /// <summary>A path inside the temp directory that nothing has created.</summary>
    public string Path => System.IO.Path.Combine(_root, "out");

    public string File(string name, string contents)
    {
        string path = System.IO.Path.Combine(_root, name);
        System.IO.File.WriteAllText(path, contents);
        return path;
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
