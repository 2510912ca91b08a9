namespace FastRnn.Cli.Tests;

public class HelpTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_lists_every_command(string option)
    {
        CliRun run = CliHarness.Run(option);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Stderr);
        Assert.Contains("fastrnn [command] [options]", run.Stdout, StringComparison.Ordinal);
        foreach (CliCommand command in FastRnnCli.CreateCommands())
        {
            Assert.Contains($"  {command.Name}", run.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_command_has_help_with_the_common_options()
    {
        foreach (CliCommand command in FastRnnCli.CreateCommands())
        {
            CliRun run = CliHarness.Run(command.Name, "--help");
            Assert.Equal(0, run.ExitCode);
            Assert.Equal("", run.Stderr);
            Assert.Contains($"fastrnn {command.Name}", run.Stdout, StringComparison.Ordinal);
            Assert.Contains(command.Description, run.Stdout, StringComparison.Ordinal);
            foreach (string common in (string[])["--seed", "--threads", "--out", "--help"])
            {
                Assert.Contains(common, run.Stdout, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Bench_help_lists_its_options()
    {
        CliRun run = CliHarness.Run("bench", "--help");
        foreach (string option in (string[])["--cells", "--lengths", "--batch", "--hidden", "--input", "--seconds"])
        {
            Assert.Contains(option, run.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("[default: out/bench]", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_wins_over_other_errors()
    {
        CliRun run = CliHarness.Run("bench", "--threads", "0", "--help");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("fastrnn bench", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_prints_one_line()
    {
        CliRun run = CliHarness.Run("--version");
        Assert.Equal(0, run.ExitCode);
        Assert.Single(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
