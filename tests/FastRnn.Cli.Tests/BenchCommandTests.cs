// `fastrnn bench` with tiny shapes and a short measuring time: the table's columns and rows, and bench.tsv in --out.
// Times are never asserted, only that they are positive and finite.
using System.Globalization;
using FastRnn.Cli.Benchmarking;

namespace FastRnn.Cli.Tests;

public class BenchCommandTests
{
    [Fact]
    public void Bench_prints_the_table_and_writes_tsv()
    {
        using var temp = new TempDirectory();
        Assert.False(Directory.Exists(temp.Path));
        CliRun run = CliHarness.Run("bench", "--cells", "elman,gru", "--lengths", "16", "--batch", "2", "--input", "3", "--hidden", "5",
            "--seconds", "0.01", "--out", temp.Path);

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal("", run.Stderr);
        string header = Assert.Single(run.Stdout.Split('\n'), line => line.Contains("fwd tokens/s", StringComparison.Ordinal));
        foreach (string column in (string[])["cell", "T", "fwd tokens/s", "step tokens/s", "step GFLOP/s", "bytes/step"])
        {
            Assert.Contains(column, header, StringComparison.Ordinal);
        }

        Assert.Single(run.Stdout.Split('\n'), line => line.Contains(" elman ", StringComparison.Ordinal) && line.Contains(" 16 ", StringComparison.Ordinal));
        Assert.Single(run.Stdout.Split('\n'), line => line.Contains(" gru ", StringComparison.Ordinal) && line.Contains(" 16 ", StringComparison.Ordinal));
        Assert.DoesNotContain(" lstm ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("B=2, I=3, H=5", run.Stdout, StringComparison.Ordinal);

        string[] tsv = File.ReadAllLines(Path.Combine(temp.Path, "bench.tsv"));
        Assert.Equal(3, tsv.Length);
        string[] columns = tsv[0].Split('\t');
        Assert.Equal("cell", columns[0]);
        foreach (string row in tsv[1..])
        {
            string[] cells = row.Split('\t');
            Assert.Equal(columns.Length, cells.Length);
            Assert.Equal(["16", "2", "3", "5"], cells[1..5]);
            double stepTokens = double.Parse(cells[Array.IndexOf(columns, "step_tokens_per_s")], CultureInfo.InvariantCulture);
            Assert.True(stepTokens > 0 && double.IsFinite(stepTokens), row);
        }
    }

    [Theory]
    [InlineData(CellKind.Elman, 1)]
    [InlineData(CellKind.Lstm, 4)]
    [InlineData(CellKind.Gru, 3)]
    public void Throughput_counts_flops_from_the_formula(CellKind cell, int gates)
    {
        ThroughputResult r = Throughput.Measure(cell, sequenceLength: 3, batchSize: 2, inputSize: 4, hiddenSize: 5, seconds: 0.001);
        Assert.Equal(gates, r.GateCount);
        Assert.Equal(2.0 * 3 * 2 * gates * 5 * (4 + 5), r.ForwardFlops);
        Assert.Equal(3 * r.ForwardFlops / r.StepSeconds * 1e-9, r.StepGflops, 12);
        Assert.Equal(3 * 2 / r.ForwardSeconds, r.ForwardTokensPerSecond, 6);
        Assert.True(r.ForwardSeconds > 0 && r.StepSeconds > 0);
    }

    [Fact]
    public void Bench_refuses_shapes_too_big_for_an_array()
    {
        using var temp = new TempDirectory();
        CliHarness.Run("bench", "--lengths", "100000", "--batch", "100000", "--out", temp.Path)
            .AssertError(FastRnnCli.UsageError, "more than one array can hold");
    }
}
