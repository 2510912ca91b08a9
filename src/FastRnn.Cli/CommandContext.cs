// What a running command gets besides its parsed options: where to write, and the common settings.
using FastRnn.Cli.Output;
using Spectre.Console;

namespace FastRnn.Cli;

/// <summary>The options every command has (<c>--seed</c>, <c>--threads</c>, <c>--out</c>), validated.</summary>
/// <param name="Seed">Seed for everything random the command does.</param>
/// <param name="Threads">Worker threads, at least 1: the size of the <see cref="Threading.WorkerPool"/> a command runs layers on (<c>bench</c>).</param>
/// <param name="OutputDirectory">Where the command writes files; created by <see cref="CommandContext.OutputPath"/> on first use.</param>
public sealed record CommonSettings(int Seed, int Threads, string OutputDirectory);

/// <summary>Everything a command's <see cref="CliCommand.Execute"/> needs besides its own options.</summary>
public sealed class CommandContext
{
    private bool _warnedAboutFont;

    internal CommandContext(IAnsiConsole console, TextWriter error, CommonSettings settings)
    {
        Console = console;
        Error = error;
        Settings = settings;
    }

    /// <summary>Standard output, as a Spectre console (knows whether it is a terminal).</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Standard error, for warnings. Errors are exceptions: throw, and the entry point prints one line.</summary>
    public TextWriter Error { get; }

    /// <summary>The common options.</summary>
    public CommonSettings Settings { get; }

    /// <summary><c>--seed</c>.</summary>
    public int Seed => Settings.Seed;

    /// <summary><c>--threads</c>.</summary>
    public int Threads => Settings.Threads;

    /// <summary>
    /// Saves <paramref name="plot"/> as <paramref name="fileName"/> (a .png) in <c>--out</c> and returns the path.
    /// Warns on stderr, once per run, when the machine has no font and the plot's text is missing.
    /// </summary>
    public string SavePlot(LinePlot plot, string fileName)
    {
        ArgumentNullException.ThrowIfNull(plot);
        string path = OutputPath(fileName);
        plot.SavePng(path);
        if (LinePlot.FontFamily is null && !_warnedAboutFont)
        {
            _warnedAboutFont = true;
            Error.WriteLine($"{FastRnnCli.Name}: warning: {LinePlot.NoFontWarning}");
        }

        return path;
    }

    /// <summary>
    /// The path of <paramref name="fileName"/> inside <c>--out</c>, creating the directory if needed (so a command that
    /// writes nothing leaves no empty directory behind).
    /// </summary>
    public string OutputPath(string fileName)
    {
        Directory.CreateDirectory(Settings.OutputDirectory);
        return Path.Combine(Settings.OutputDirectory, fileName);
    }
}
