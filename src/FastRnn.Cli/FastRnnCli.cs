// The `fastrnn` entry point, callable in-process (tests pass string writers). Exit codes: 0 success, 1 runtime failure
// (bad data, I/O, a library's ArgumentException), 2 usage error (unknown command or option, bad or missing value).
// Every failure is one line on stderr, "fastrnn: error: ...", never a stack trace (FASTRNN_DEBUG=1 adds it).
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using FastRnn.Cli.Commands;
using Spectre.Console;

namespace FastRnn.Cli;

/// <summary>The <c>fastrnn</c> command line.</summary>
public static class FastRnnCli
{
    /// <summary>The command's name, as typed and as it prefixes error messages.</summary>
    public const string Name = "fastrnn";

    /// <summary>Exit code of a successful run.</summary>
    public const int Success = 0;

    /// <summary>Exit code of a run that failed while working (bad data, I/O, an error from the library).</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a command line that could not be accepted (unknown command or option, bad value, missing file).</summary>
    public const int UsageError = 2;

    // Line width when stdout is not a terminal.
    private const int RedirectedWidth = 160;

    /// <summary>The commands, in help order. Adding a command: write a <see cref="CliCommand"/> and list it here.</summary>
    internal static IReadOnlyList<CliCommand> CreateCommands() =>
        [new BenchCommand(), new PlotCommand(), new DemoCommand(), new TrainCommand(), new SampleCommand(), new GradFlowCommand(), new RunCommand()];

    /// <summary>Runs <c>fastrnn</c> with <paramref name="args"/> (without the program name) and returns the exit code.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="stdout">Output; progress bars and colors are used only when this is the console's own terminal.</param>
    /// <param name="stderr">Where errors and warnings go.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        return Run(args, CreateConsole(stdout), stderr);
    }

    /// <summary>Runs <c>fastrnn</c> writing to a Spectre console (e.g. a test console with a chosen width and capabilities).</summary>
    public static int Run(IReadOnlyList<string> args, IAnsiConsole console, TextWriter stderr) => Run(args, console, stderr, CreateCommands());

    /// <summary>Runs a command line made of <paramref name="commands"/> (tests add commands that fail on purpose).</summary>
    internal static int Run(IReadOnlyList<string> args, IAnsiConsole console, TextWriter stderr, IReadOnlyList<CliCommand> commands)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(commands);
        var invocation = new InvocationConfiguration
        {
            Output = console.Profile.Out.Writer,
            Error = stderr,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            ParseResult parseResult = BuildRoot(console, stderr, commands).Parse(args);
            if (parseResult.Errors.Count > 0 && parseResult.Action is not HelpAction)
            {
                return Fail(stderr, $"{ParseErrorMessage(parseResult)} (see '{CommandPath(parseResult)} --help')", UsageError);
            }

            return parseResult.Invoke(invocation);
        }
        catch (UsageException exception)
        {
            return Fail(stderr, exception.Message, UsageError, exception);
        }
        catch (Exception exception) when (IsExpected(exception))
        {
            return Fail(stderr, exception.Message, Failure, exception);
        }
#pragma warning disable CA1031 // The promise is one line and no stack trace for any failure, including our own bugs.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            return Fail(stderr, $"internal error ({exception.GetType().Name}): {exception.Message} (set FASTRNN_DEBUG=1 for the stack trace)", Failure, exception);
        }
    }

    /// <summary>The root command with the subcommands, <c>--help</c> and <c>--version</c>.</summary>
    internal static Command BuildRoot(IAnsiConsole console, TextWriter stderr, IReadOnlyList<CliCommand> commands)
    {
        // A plain Command rather than RootCommand: RootCommand takes its name from the host process ("testhost" under
        // tests, "dotnet" under `dotnet fastrnn.dll`), and help must say "fastrnn".
        var root = new Command(Name, "FastRnn: allocation-free SIMD recurrent networks (Elman, LSTM, GRU) on the CPU")
        {
            new HelpOption(),
            new VersionOption(),
        };
        foreach (CliCommand command in commands)
        {
            root.Subcommands.Add(command.Build(console, stderr));
        }

        return root;
    }

    /// <summary>A Spectre console over <paramref name="stdout"/>: ANSI and live displays only on a real terminal.</summary>
    internal static IAnsiConsole CreateConsole(TextWriter stdout)
    {
        var output = new AnsiConsoleOutput(stdout);
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = output,
            Ansi = output.IsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = output.IsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = output.IsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!output.IsTerminal)
        {
            // Spectre assumes 80 columns off a terminal and wraps longer lines; logs and files read better unwrapped.
            console.Profile.Width = RedirectedWidth;
        }

        return console;
    }

    // An unknown word explains every other error (a misspelled command also leaves "Required command was not
    // provided"), so it is reported alone; otherwise every distinct error, joined.
    private static string ParseErrorMessage(ParseResult parseResult)
    {
        if (parseResult.UnmatchedTokens.Count > 0)
        {
            string token = parseResult.UnmatchedTokens[0];
            bool atRoot = parseResult.CommandResult.Parent is null;
            string kind = token.StartsWith('-') ? "unknown option" : atRoot ? "unknown command" : "unexpected argument";
            return $"{kind} '{token}'";
        }

        return string.Join("; ", parseResult.Errors.Select(error => error.Message.TrimEnd('.')).Distinct());
    }

    // "fastrnn" or "fastrnn bench": the command whose help answers the error.
    private static string CommandPath(ParseResult parseResult)
    {
        var names = new List<string>();
        for (SymbolResult? result = parseResult.CommandResult; result is not null; result = result.Parent)
        {
            if (result is CommandResult command)
            {
                names.Insert(0, command.Command.Name);
            }
        }

        return string.Join(' ', names);
    }

    private static bool IsExpected(Exception exception) =>
        exception is ArgumentException or InvalidDataException or IOException or UnauthorizedAccessException or FormatException or NotSupportedException;

    private static int Fail(TextWriter stderr, string message, int exitCode, Exception? exception = null)
    {
        // One line whatever the message holds: library messages may carry newlines (e.g. a shape listing).
        string line = message.ReplaceLineEndings(" ").Trim();
        stderr.WriteLine($"{Name}: error: {line}");
        if (exception is not null && Environment.GetEnvironmentVariable("FASTRNN_DEBUG") == "1")
        {
            stderr.WriteLine(exception);
        }

        stderr.Flush();
        return exitCode;
    }
}
