// Failures while a command runs: exceptions from the library or the file system become one line and exit code 1;
// UsageException is exit code 2; anything unexpected is still one line, marked as an internal error.
using System.CommandLine;

namespace FastRnn.Cli.Tests;

public class RuntimeErrorTests
{
    public static TheoryData<string, int, string> Failures => new()
    {
        { "argument", FastRnnCli.Failure, "expected 24 elements ([T=3, B=2, I=4]), got 23 (Parameter 'input')" },
        { "range", FastRnnCli.Failure, "hidden size must be positive" },
        { "data", FastRnnCli.Failure, "weights.safetensors: header is not JSON" },
        { "io", FastRnnCli.Failure, "disk full" },
        { "notfound", FastRnnCli.Failure, "Could not find file 'model.bin'" },
        { "usage", FastRnnCli.UsageError, "--input must equal the model's input size 8, got 4" },
        { "bug", FastRnnCli.Failure, "internal error (InvalidOperationException): broken invariant" },
        { "multiline", FastRnnCli.Failure, "first line second line" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Exceptions_become_one_line(string kind, int exitCode, string message)
    {
        CliHarness.RunWith([new ThrowingCommand()], "throw", kind).AssertError(exitCode, message);
    }

    [Fact]
    public void A_malformed_input_file_is_a_runtime_failure_naming_the_line()
    {
        using var temp = new TempDirectory();
        string file = temp.File("bad.tsv", "step\tloss\n1\t0.5\n2\tlots\n");
        CliHarness.Run("plot", file, "--out", temp.Path).AssertError(FastRnnCli.Failure, "line 3, column 'loss': 'lots' is not a number");
    }

    [Fact]
    public void An_empty_input_file_is_a_runtime_failure()
    {
        using var temp = new TempDirectory();
        string file = temp.File("empty.csv", "\n");
        CliHarness.Run("plot", file, "--out", temp.Path).AssertError(FastRnnCli.Failure, "empty file");
    }

    [Fact]
    public void A_command_that_succeeds_returns_zero_and_sees_the_common_settings()
    {
        using var temp = new TempDirectory();
        CliRun run = CliHarness.RunWith([new ThrowingCommand()], "throw", "none", "--seed", "-7", "--threads", "3", "--out", temp.Path);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Stderr);
        Assert.Equal($"seed -7 threads 3 out {temp.Path}", run.Stdout.Trim());
    }

    [Fact]
    public void The_common_options_have_their_defaults()
    {
        CliRun run = CliHarness.RunWith([new ThrowingCommand()], "throw", "none");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal($"seed 1 threads {Environment.ProcessorCount} out {Path.Combine("out", "throw")}", run.Stdout.Trim());
    }

    /// <summary>Throws what its argument names, as a library call inside a real command would.</summary>
    private sealed class ThrowingCommand() : CliCommand("throw", "Throws on purpose")
    {
        private readonly Argument<string> _kind = new("KIND");

        protected override IReadOnlyList<Symbol> Symbols => [_kind];

        protected internal override int Execute(ParseResult parseResult, CommandContext context) => parseResult.GetValue(_kind) switch
        {
            "argument" => throw new ArgumentException("expected 24 elements ([T=3, B=2, I=4]), got 23", "input"),
            "range" => throw new ArgumentOutOfRangeException("hiddenSize", "hidden size must be positive"),
            "data" => throw new InvalidDataException("weights.safetensors: header is not JSON"),
            "io" => throw new IOException("disk full"),
            "notfound" => throw new FileNotFoundException("Could not find file 'model.bin'", "model.bin"),
            "usage" => throw new UsageException("--input must equal the model's input size 8, got 4"),
            "bug" => throw new InvalidOperationException("broken invariant"),
            "multiline" => throw new InvalidDataException("first line\nsecond line"),
            _ => Print(context),
        };

        private static int Print(CommandContext context)
        {
            context.Console.Profile.Out.Writer.WriteLine($"seed {context.Seed} threads {context.Threads} out {context.Settings.OutputDirectory}");
            return 0;
        }
    }
}
