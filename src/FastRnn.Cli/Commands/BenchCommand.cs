// Legend: T time steps, B batch, I input size, H hidden size, G gates.
// `fastrnn bench`: the quick throughput table per cell and sequence length (the same measurement as
// bench/FastRnn.Bench's `quick`), printed as a table and saved as bench.tsv in --out.
using System.CommandLine;
using System.Globalization;
using FastRnn.Cli.Benchmarking;
using FastRnn.Cli.Output;
using FastRnn.Threading;
using Spectre.Console;

namespace FastRnn.Cli.Commands;

/// <summary>Times forward passes and training steps of one layer per cell and sequence length.</summary>
internal sealed class BenchCommand() : CliCommand("bench", "Throughput table per cell and sequence length: tokens/s, GFLOP/s, bytes allocated per step")
{
    private readonly Option<CellKind[]> _cells = CliOptions.Cells("--cells", "Cells to time");
    private readonly Option<int[]> _lengths = CliOptions.IntList("--lengths", Throughput.DefaultSequenceLengths, "Sequence lengths T");
    private readonly Option<int> _batch = CliOptions.Int("--batch", 16, "Batch size B");
    private readonly Option<int> _hidden = CliOptions.Int("--hidden", 128, "Hidden size H");
    private readonly Option<int> _input = CliOptions.Int("--input", 128, "Input size I");
    private readonly Option<double> _seconds = CliOptions.Double("--seconds", Timing.DefaultSeconds, "Measuring time per case and pass, in seconds (warm-up adds up to 2x)");

    protected override IReadOnlyList<Symbol> Symbols => [_cells, _lengths, _batch, _hidden, _input, _seconds];

    protected internal override int Execute(ParseResult parseResult, CommandContext context)
    {
        CellKind[] cells = parseResult.GetValue(_cells)!;
        int[] lengths = parseResult.GetValue(_lengths)!;
        int b = parseResult.GetValue(_batch), h = parseResult.GetValue(_hidden), i = parseResult.GetValue(_input);
        double seconds = parseResult.GetValue(_seconds);
        long largest = (long)lengths.Max() * b * Math.Max(i, 4 * h);
        if (largest > Array.MaxLength)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"T*B*max(I, 4H) = {largest} floats is more than one array can hold; use smaller --lengths, --batch, --input or --hidden"));
        }

        IAnsiConsole console = context.Console;
        using WorkerPool? pool = context.Threads > 1 ? new WorkerPool(context.Threads) : null;
        string threads = context.Threads == 1 ? "1 thread" : $"{context.Threads} threads (worker pool; fewer where the shape is too small)";
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Training step = forward + BPTT (incl. dX); B={b}, I={i}, H={h}; {threads}"));
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Medians over ~{seconds} s per pass; GFLOP/s counts forward 2*T*B*G*H*(I+H), step 3x"));

        var table = new CliTable()
            .AddColumn("cell")
            .AddColumn("T", numeric: true)
            .AddColumn("fwd tokens/s", numeric: true)
            .AddColumn("step tokens/s", numeric: true)
            .AddColumn("step GFLOP/s", numeric: true)
            .AddColumn("bytes/step", numeric: true);
        var raw = new CliTable()
            .AddColumn("cell").AddColumn("T").AddColumn("B").AddColumn("I").AddColumn("H")
            .AddColumn("fwd_ms").AddColumn("step_ms").AddColumn("fwd_tokens_per_s").AddColumn("step_tokens_per_s")
            .AddColumn("fwd_gflops").AddColumn("step_gflops").AddColumn("bytes_per_step");

        void MeasureAll(Action afterRow)
        {
            foreach (CellKind cell in cells)
            {
                foreach (int t in lengths)
                {
                    ThroughputResult r = Throughput.Measure(cell, t, b, i, h, seconds, context.Seed, pool);
                    table.AddRow(CellNames.Name(cell), Invariant(t), CliTable.Number(r.ForwardTokensPerSecond), CliTable.Number(r.StepTokensPerSecond),
                        CliTable.Number(r.StepGflops, 1), Invariant(r.BytesPerStep));
                    raw.AddRow(CellNames.Name(cell), Invariant(t), Invariant(b), Invariant(i), Invariant(h),
                        Invariant(r.ForwardSeconds * 1e3), Invariant(r.StepSeconds * 1e3), Invariant(r.ForwardTokensPerSecond),
                        Invariant(r.StepTokensPerSecond), Invariant(r.ForwardGflops), Invariant(r.StepGflops), Invariant(r.BytesPerStep));
                    afterRow();
                }
            }
        }

        if (StepProgress.IsLive(console))
        {
            // Rows appear as they are measured.
            console.Live(table.ToRenderable()).Start(live => MeasureAll(() => live.UpdateTarget(table.ToRenderable())));
        }
        else
        {
            MeasureAll(static () => { });
            table.Write(console);
        }

        string path = context.OutputPath("bench.tsv");
        raw.WriteTsv(path);
        console.WriteLine($"wrote {path}");
        return FastRnnCli.Success;
    }

    private static string Invariant(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
