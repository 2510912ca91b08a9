// Legend: T time steps (= N + 2), B batch, H hidden size, E embedding size, N filler words.
// `fastrnn demo`: the seeds' claim, measured. Trains Elman (tanh, sigmoid, ReLU), LSTM and GRU with one recipe on a
// synthetic long-range sentiment task for several distances N, then prints and plots test accuracy against N, the
// gradient norm ||dL/dh_t|| against distance at initialisation and after training, the spectra of W_hh, and a reading
// of the seeds' claims computed from those numbers. Everything is embedded: no downloads.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using FastRnn.Cli.Demo;
using FastRnn.Cli.Output;
using Spectre.Console;

namespace FastRnn.Cli.Commands;

/// <summary>Trains every cell on the long-range sentiment task for several distances and reports what happens.</summary>
internal sealed class DemoCommand() : CliCommand("demo", "Where simple RNNs forget and LSTM/GRU remember: train every cell on a long-range task (~2 min)")
{
    /// <summary>The default distances N, chosen by measurement to span where the Elman cells fail and the GRU still learns.</summary>
    internal static readonly int[] DefaultLengths = [5, 10, 20, 50, 100];

    // --quick: a tiny configuration for tests and smoke runs (a few seconds); options given explicitly still win.
    private static readonly int[] s_quickLengths = [1, 4];
    private const int QuickSteps = 120, QuickBatch = 16, QuickHidden = 16, QuickEmbedding = 8, QuickRuns = 1;

    private readonly Option<DemoCell[]> _cells = CellsOption();
    private readonly Option<int[]> _lengths = CliOptions.IntList("--lengths", DefaultLengths, "Numbers of filler words N between the key words and the end (T = N + 2)");
    private readonly Option<int> _steps = CliOptions.Int("--steps", 2000, "Training steps per run (every cell gets the same)");
    private readonly Option<int> _batch = CliOptions.Int("--batch", 32, "Sentences per step B");
    private readonly Option<int> _hidden = CliOptions.Int("--hidden", 64, "Hidden size H");
    private readonly Option<int> _embedding = CliOptions.Int("--embedding", 16, "Embedding size E");
    private readonly Option<double> _learningRate = CliOptions.Double("--lr", 0.01, "Adam learning rate");
    private readonly Option<double> _forgetBias = CliOptions.Double("--forget-bias", 1, "LSTM forget-gate bias at initialisation", exclusiveMinimum: double.MinValue);
    private readonly Option<int> _runs = CliOptions.Int("--runs", 2, "Training runs per cell and length (own initialisation and data each; the table shows the mean)");
    private readonly Option<bool> _quick = new("--quick") { Description = "Tiny configuration for smoke tests (N = 1, 4; 120 steps; H = 16; one run): seconds, not minutes" };

    protected override IReadOnlyList<Symbol> Symbols => [_cells, _lengths, _steps, _batch, _hidden, _embedding, _learningRate, _forgetBias, _runs, _quick];

    protected internal override int Execute(ParseResult parseResult, CommandContext context)
    {
        bool quick = parseResult.GetValue(_quick);
        int[] lengths = [.. Pick(parseResult, _lengths, quick, s_quickLengths).Distinct().Order()];
        var settings = new DemoSettings(
            lengths,
            [.. parseResult.GetValue(_cells)!.Distinct()],
            Pick(parseResult, _steps, quick, QuickSteps),
            Pick(parseResult, _batch, quick, QuickBatch),
            Pick(parseResult, _hidden, quick, QuickHidden),
            Pick(parseResult, _embedding, quick, QuickEmbedding),
            parseResult.GetValue(_learningRate),
            ClipNorm: 1f,
            (float)parseResult.GetValue(_forgetBias),
            Pick(parseResult, _runs, quick, QuickRuns),
            context.Seed,
            context.Threads);
        long largest = (long)(lengths[^1] + 2) * Math.Max(settings.BatchSize, 1) * 4 * settings.HiddenSize;
        if (largest > Array.MaxLength)
        {
            throw new UsageException($"T*B*4H = {largest} floats is more than one array can hold; use smaller --lengths, --batch or --hidden");
        }

        IAnsiConsole console = context.Console;
        WriteIntroduction(console, settings);
        var watch = Stopwatch.StartNew();
        IReadOnlyList<DemoRunResult> results = DemoProgress.Run(console, settings, progress => DemoRunner.RunAll(settings, progress));
        double trainingSeconds = watch.Elapsed.TotalSeconds;

        var report = new DemoReport(settings, results);
        console.WriteLine();
        console.WriteLine(report.AccuracyTitle);
        report.AccuracyTable().Write(console);
        console.WriteLine(report.GradientTitle);
        report.GradientTable().Write(console);
        console.WriteLine(report.SpectraTitle);
        report.SpectraTable().Write(console);
        console.WriteLine(DemoReport.SpectraNote);
        console.WriteLine();
        console.WriteLine(report.ReadingTitle);
        foreach (string line in report.Reading())
        {
            console.WriteLine(line.StartsWith("  ", StringComparison.Ordinal) ? "      " + line.TrimStart() : "  - " + line);
        }

        console.WriteLine();
        string directory = Path.GetDirectoryName(context.OutputPath("demo.json"))!;
        var written = new List<string>(report.WriteCsv(directory)) { report.WriteJson(directory, trainingSeconds), DemoPlots.SaveAccuracy(report, directory) };
        written.AddRange(DemoPlots.SaveGradients(report, directory));
        if (LinePlot.FontFamily is null)
        {
            context.Error.WriteLine($"{FastRnnCli.Name}: warning: {LinePlot.NoFontWarning}");
        }

        foreach (string path in written)
        {
            console.WriteLine($"wrote {path}");
        }

        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{results.Count} training runs in {trainingSeconds:F1} s on {Math.Min(settings.Threads, results.Count)} thread(s), {results.Sum(r => r.Seconds):F1} s of training in all"));
        return FastRnnCli.Success;
    }

    private static void WriteIntroduction(IAnsiConsole console, DemoSettings settings)
    {
        console.WriteLine("Task (the seeds' \"I am not happy\" and long-review examples): [not|really] [happy|sad] + N neutral filler words;");
        console.WriteLine("the label is the sentence's sentiment: positive for \"really happy\" and \"not sad\", negative for \"not happy\" and \"really sad\".");
        console.WriteLine("Neither key word alone predicts the label; a many-to-one model must carry both across the N fillers to the last step.");
        int n = settings.Lengths[0];
        var task = new SentimentTask(n);
        int[] tokens = new int[task.SequenceLength * 4], labels = new int[4];
        var random = new TaskRandom(settings.Seed, -1);
        task.Fill(ref random, 4, tokens, labels);
        for (int b = 0; b < 4; b++)
        {
            string label = labels[b] == SentimentTask.Positive ? "positive" : "negative";
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  e.g. N={n}: \"{task.Describe(tokens, 4, b)}\" -> {label}"));
        }

        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Cells: {string.Join(", ", settings.Cells)}; N = {string.Join(", ", settings.Lengths)}; {settings.Runs} run(s) each; {settings.Threads} thread(s)."));
        console.WriteLine("Same recipe for every cell (equal budgets):");
        console.WriteLine("  " + settings.Recipe() + ".");
        console.WriteLine();
    }

    // The option's value, or the quick value when --quick is given and the option is not.
    private static T Pick<T>(ParseResult parseResult, Option<T> option, bool quick, T quickValue)
    {
        OptionResult? result = parseResult.GetResult(option);
        bool given = result is not null && !result.Implicit;
        return quick && !given ? quickValue : parseResult.GetValue(option)!;
    }

    private static Option<DemoCell[]> CellsOption()
    {
        var option = new Option<DemoCell[]>("--cells")
        {
            Description = $"Cells to train ({DemoCell.Expected}; comma-separated)",
            HelpName = "CELL,...",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [.. DemoCell.All],
        };
        option.CustomParser = result =>
        {
            var cells = new List<DemoCell>();
            foreach (Token token in result.Tokens)
            {
                foreach (string item in token.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!DemoCell.TryParse(item, out DemoCell cell))
                    {
                        result.AddError($"--cells: unknown cell '{item}' (expected {DemoCell.Expected})");
                        return [];
                    }

                    cells.Add(cell);
                }
            }

            if (cells.Count == 0)
            {
                result.AddError("--cells needs at least one value");
            }

            return [.. cells];
        };
        return option;
    }
}
