// The shape of every fastrnn command. To add one: derive from CliCommand, declare its options as fields (built with
// CliOptions so validation and messages are uniform), list them in Symbols, read them in Execute, and add an instance to
// FastRnnCli.CreateCommands. The common options, --help, error handling and exit codes come with the base class.
using System.CommandLine;
using Spectre.Console;

namespace FastRnn.Cli;

/// <summary>A <c>fastrnn</c> subcommand: a name, a description, its own options and arguments, and what it does.</summary>
public abstract class CliCommand
{
    /// <summary>Creates a command.</summary>
    /// <param name="name">The word after <c>fastrnn</c>; also names the default output directory <c>out/NAME</c>.</param>
    /// <param name="description">One line for <c>--help</c>.</param>
    protected CliCommand(string name, string description)
    {
        Name = name;
        Description = description;
    }

    /// <summary>The word after <c>fastrnn</c>.</summary>
    public string Name { get; }

    /// <summary>One line for <c>--help</c>.</summary>
    public string Description { get; }

    /// <summary>The command's own options and arguments, in help order (<c>--seed</c>, <c>--threads</c> and <c>--out</c> follow).</summary>
    protected abstract IReadOnlyList<Symbol> Symbols { get; }

    /// <summary>
    /// Runs the command and returns its exit code (0 on success). Read options with <c>parseResult.GetValue(_option)</c>;
    /// they are already validated. Throw <see cref="UsageException"/> for a bad combination of options (exit 2);
    /// <see cref="ArgumentException"/>, <see cref="InvalidDataException"/> and <see cref="IOException"/> from the library
    /// or the file system become a one-line error with exit 1.
    /// </summary>
    protected internal abstract int Execute(ParseResult parseResult, CommandContext context);

    /// <summary>The System.CommandLine command: own symbols, then the common options, and an action that runs <see cref="Execute"/>.</summary>
    internal Command Build(IAnsiConsole console, TextWriter error)
    {
        var command = new Command(Name, Description);
        foreach (Symbol symbol in Symbols)
        {
            switch (symbol)
            {
                case Option option:
                    command.Options.Add(option);
                    break;
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                default:
                    throw new InvalidOperationException($"command '{Name}': {symbol.GetType().Name} '{symbol.Name}' is neither an option nor an argument");
            }
        }

        var common = new CommonOptions(Name);
        common.AddTo(command);
        command.SetAction(parseResult => Execute(parseResult, new CommandContext(console, error, common.Read(parseResult))));
        return command;
    }
}

/// <summary>The options every command has: <c>--seed</c>, <c>--threads</c>, <c>--out</c>.</summary>
internal sealed class CommonOptions
{
    private readonly Option<int> _seed = CliOptions.Int("--seed", 1, "Seed for parameters and data", minimum: int.MinValue);
    private readonly Option<int> _threads = CliOptions.Int("--threads", Environment.ProcessorCount, "Worker threads (at least 1)", minimum: 1);
    private readonly Option<string> _out;

    public CommonOptions(string commandName)
    {
        string defaultDirectory = Path.Combine("out", commandName);
        _out = new Option<string>("--out")
        {
            Description = "Directory for the files this command writes (created on demand)",
            HelpName = "DIR",
            DefaultValueFactory = _ => defaultDirectory,
        };
        _out.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
            {
                result.AddError("--out needs a directory name");
            }
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_seed);
        command.Options.Add(_threads);
        command.Options.Add(_out);
    }

    public CommonSettings Read(ParseResult parseResult) =>
        new(parseResult.GetValue(_seed), parseResult.GetValue(_threads), parseResult.GetValue(_out)!);
}
