// Bad command lines: exit code 2, one line on stderr naming the problem, nothing on stdout, no stack trace.
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace FastRnn.Cli.Tests;

public class ArgumentErrorTests
{
    [Theory]
    [InlineData(new string[0], "Required command was not provided", "'fastrnn --help'")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'", "'fastrnn --help'")]
    [InlineData(new[] { "--frobnicate" }, "unknown option '--frobnicate'", "'fastrnn --help'")]
    [InlineData(new[] { "bench", "--bogus" }, "unknown option '--bogus'", "'fastrnn bench --help'")]
    [InlineData(new[] { "bench", "extra" }, "unexpected argument 'extra'", "'fastrnn bench --help'")]
    [InlineData(new[] { "bench", "--threads", "-1" }, "--threads: must be at least 1, got -1")]
    [InlineData(new[] { "bench", "--threads", "0" }, "--threads: must be at least 1, got 0")]
    [InlineData(new[] { "bench", "--seed", "x" }, "--seed: 'x' is not an integer")]
    [InlineData(new[] { "bench", "--seed", "1.5" }, "--seed: '1.5' is not an integer")]
    [InlineData(new[] { "bench", "--seed" }, "--seed")]
    [InlineData(new[] { "bench", "--batch", "-3" }, "--batch: must be at least 1, got -3")]
    [InlineData(new[] { "bench", "--hidden", "abc" }, "--hidden: 'abc' is not an integer")]
    [InlineData(new[] { "bench", "--lengths", "16,-4" }, "--lengths: each value must be at least 1, got -4")]
    [InlineData(new[] { "bench", "--lengths", "16,x" }, "--lengths: 'x' is not an integer")]
    [InlineData(new[] { "bench", "--seconds", "0" }, "--seconds: must be greater than 0, got 0")]
    [InlineData(new[] { "bench", "--seconds", "NaN" }, "--seconds: 'NaN' is not a finite number")]
    [InlineData(new[] { "bench", "--cells", "elman,transformer" }, "--cells: unknown cell 'transformer' (expected elman, lstm or gru)")]
    [InlineData(new[] { "bench", "--out", " " }, "--out needs a directory name")]
    [InlineData(new[] { "plot" }, "Required argument missing", "'fastrnn plot --help'")]
    [InlineData(new[] { "plot", "no/such/file.tsv" }, "file not found: 'no/such/file.tsv'")]
    public void Bad_arguments_are_one_line_usage_errors(string[] args, params string[] fragments)
    {
        CliHarness.Run(args).AssertError(FastRnnCli.UsageError, fragments);
    }

    [Fact]
    public void A_directory_is_not_a_file()
    {
        CliHarness.Run("plot", Path.GetTempPath()).AssertError(FastRnnCli.UsageError, "is a directory, not a file");
    }

    [Fact]
    public void Bad_arguments_write_nothing()
    {
        using var temp = new TempDirectory();
        CliHarness.Run("bench", "--out", temp.Path, "--batch", "0").AssertError(FastRnnCli.UsageError, "--batch");
        Assert.False(Directory.Exists(temp.Path));
    }

    [Fact]
    public void Errors_are_reported_for_every_bad_option_on_one_line()
    {
        CliHarness.Run("bench", "--threads", "0", "--seed", "x").AssertError(FastRnnCli.UsageError, "--threads: must be at least 1", "--seed: 'x' is not an integer");
    }

    // Any non-positive value of any size option is refused with the value in the message.
    [Property(MaxTest = 25)]
    public bool Non_positive_sizes_are_refused(NonNegativeInt magnitude, bool useBatch)
    {
        string option = useBatch ? "--batch" : "--input";
        int value = -magnitude.Get;
        CliRun run = CliHarness.Run("bench", option, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        run.AssertError(FastRnnCli.UsageError, $"{option}: must be at least 1, got {value}");
        return true;
    }

    // Lists parse the same whether comma-separated or given as separate tokens; the parsed values are exactly the given ones.
    [Property(MaxTest = 50)]
    public Property Integer_lists_parse_in_both_forms(PositiveInt[] values)
    {
        int[] expected = [.. values.Select(v => v.Get)];
        var option = CliOptions.IntList("--lengths", [16], "T");
        var command = new System.CommandLine.Command("x") { option };
        string[] joined = ["--lengths", string.Join(',', expected)];
        string[] separate = ["--lengths", .. expected.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        if (expected.Length == 0)
        {
            // "--lengths ''": no value at all is an error, not an empty list.
            return (command.Parse(joined).Errors.Count == 1).ToProperty();
        }

        int[]? fromJoined = command.Parse(joined).GetValue(option);
        int[]? fromSeparate = command.Parse(separate).GetValue(option);
        return (fromJoined!.SequenceEqual(expected) && fromSeparate!.SequenceEqual(expected)).ToProperty();
    }
}
