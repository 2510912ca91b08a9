// Legend: T time steps (--seq-len), B batch, K maximum distance, H hidden size, L layers, E embedding size.
// `fastrnn gradflow`: how gradients travel back through time in a character model (a checkpoint, or a fresh model):
//   1. ||dL/dh_t|| per layer against the distance T-1-t from the last step, recorded during backward passes of
//      training batches (StackGradientNorms), for the usual loss at every step and for a loss at the last step only
//      (targets elsewhere ignored), where every bit of gradient at distance k has crossed k steps of recurrence;
//   2. the Jacobian norms ||dh_T / dh_{T-k}|| (spectral, Frobenius) of the first layer, k = 1..K (JacobianNorms);
//   3. each layer's W_hh spectra per gate block with the reading they predict (RecurrentWeightSpectra).
// Tables on stdout, TSVs and log-scale PNG plots in --out.
using System.CommandLine;
using System.Globalization;
using FastRnn.Cli.CharModel;
using FastRnn.Cli.Output;
using FastRnn.Diagnostics;
using FastRnn.Training;
using ScottPlot;
using Spectre.Console;
using LayerCell = FastRnn.Layers.CellKind;

namespace FastRnn.Cli.Commands;

/// <summary>Measures gradient flow through time in a character model.</summary>
internal sealed class GradFlowCommand() : CliCommand("gradflow", "Gradient flow through time: ||dL/dh_t|| by distance, Jacobian norms, W_hh spectra (tables, TSV, PNG)")
{
    // Sequences of the first batch whose Jacobians are measured: the cost is about K * (2H)^3 per sequence for an LSTM.
    private const int JacobianSequences = 4;

    private readonly Option<FileInfo?> _model = ModelOptions.ExistingFile("--model", "Checkpoint written by `fastrnn train` (default: a fresh, untrained model)");
    private readonly Option<FileInfo?> _text = ModelOptions.ExistingFile("--text", "Text the batches are drawn from (default: the repository's README.md, else a built-in text)");
    private readonly Option<CellChoice> _cell = CellChoice.Option("--cell", new CellChoice(LayerCell.Lstm, Nonlinearity.Tanh), "Fresh model: recurrent cell");
    private readonly Option<int> _layers = CliOptions.Int("--layers", 1, "Fresh model: recurrent layers L");
    private readonly Option<int> _hidden = CliOptions.Int("--hidden", 64, "Fresh model: hidden size H");
    private readonly Option<int> _embedding = CliOptions.Int("--embedding", 32, "Fresh model: embedding size E");
    private readonly Option<int> _sequenceLength = CliOptions.Int("--seq-len", 64, "Characters per window T");
    private readonly Option<int> _batch = CliOptions.Int("--batch", 8, "Windows per batch B");
    private readonly Option<int> _batches = CliOptions.Int("--batches", 4, "Batches the gradient norms are averaged over");
    private readonly Option<int> _maxDistance = CliOptions.Int("--max-distance", 32, "Largest distance K of the Jacobian norms (at most --seq-len)");

    protected override IReadOnlyList<Symbol> Symbols =>
        [_model, _text, _cell, _layers, _hidden, _embedding, _sequenceLength, _batch, _batches, _maxDistance];

    protected internal override int Execute(ParseResult parseResult, CommandContext context)
    {
        int T = parseResult.GetValue(_sequenceLength), B = parseResult.GetValue(_batch), batches = parseResult.GetValue(_batches);
        int K = parseResult.GetValue(_maxDistance);
        if (K > T)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"--max-distance {K} exceeds --seq-len {T}; the Jacobians reach back at most T steps"));
        }

        FileInfo? modelFile = parseResult.GetValue(_model);
        CharCheckpoint? checkpoint = modelFile is null ? null : CharCheckpoint.Read(modelFile.FullName);
        if (checkpoint is not null)
        {
            foreach (Option option in (Option[])[_cell, _layers, _hidden, _embedding])
            {
                if (ModelOptions.IsGiven(parseResult, option))
                {
                    throw new UsageException($"{option.Name} describes a fresh model; --model brings its own architecture");
                }
            }
        }

        TrainingText text = TrainingText.Load(parseResult.GetValue(_text));
        CharModelConfig config = checkpoint?.Config ?? new CharModelConfig(
            parseResult.GetValue(_cell), parseResult.GetValue(_layers), parseResult.GetValue(_hidden), parseResult.GetValue(_embedding), 0f, context.Seed);
        CharVocabulary vocabulary = checkpoint?.Vocabulary ?? CharVocabulary.FromText(text.Text);
        int[] ids = vocabulary.Encode(text.Text, text.Source, dropUnknown: true, out int dropped);
        if (ids.Length < T + 1)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"--seq-len {T} needs a text of at least {T + 1} known characters; {text.Source} has {ids.Length}"));
        }

        if (dropped > 0)
        {
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{FastRnnCli.Name}: warning: {dropped} characters of {text.Source} are not in the model's vocabulary and were skipped"));
        }

        SequenceModel model = checkpoint?.CreateModel() ?? config.Build(vocabulary);
        IAnsiConsole console = context.Console;
        string modelText = string.Create(CultureInfo.InvariantCulture,
            $"{config.Cell} L={config.LayerCount} H={config.HiddenSize}, {(checkpoint is null ? "untrained" : "step " + checkpoint.Step.ToString(CultureInfo.InvariantCulture))}");
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model: {(checkpoint is null ? "fresh (untrained), seed " + config.Seed.ToString(CultureInfo.InvariantCulture) : checkpoint.Path + ", step " + checkpoint.Step.ToString(CultureInfo.InvariantCulture))}; {config.Cell} L={config.LayerCount} H={config.HiddenSize} E={config.EmbeddingSize} V={vocabulary.Count}"));
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"text: {text.Source}; {batches} batches of B={B} windows of T={T} characters"));

        // 1. ||dL/dh_t|| per layer, mean over batches; index t (time), shown by distance T-1-t.
        var batcher = new CharBatcher(ids, T, B, CharBatcher.InitialState(context.Seed));
        (double[][] everyStep, double[][] lastStep, int[] firstTokens) = GradientNorms(model, batcher, batches);

        // 2. Jacobian norms of layer 0 on the first sequences of the first batch.
        int S = Math.Min(B, JacobianSequences);
        float[] x = EmbedColumns(model, firstTokens, T, B, S); // [T, S, E]
        JacobianNormReport jacobians = JacobianNorms.Compute(model.Stack.Layer(0), x, T, S, K, seed: context.Seed);

        // 3. W_hh spectra per layer.
        var spectra = new List<RecurrentWeightReport>();
        for (int l = 0; l < config.LayerCount; l++)
        {
            spectra.Add(RecurrentWeightSpectra.Analyze(model.Stack.Layer(l)));
        }

        WriteGradientNorms(context, everyStep, lastStep, T, batches, modelText);
        WriteJacobians(context, jacobians, S, modelText);
        WriteSpectra(context, spectra);
        return FastRnnCli.Success;
    }

    // Returns per layer l the mean ||dL/dh_t|| [T] for the every-step loss and the last-step loss, and the first batch's tokens [T, B].
    private static (double[][] EveryStep, double[][] LastStep, int[] FirstTokens) GradientNorms(SequenceModel model, CharBatcher batcher, int batches)
    {
        int T = batcher.SequenceLength, B = batcher.BatchSize, L = model.Stack.LayerCount;
        SequenceModelWorkspace workspace = model.CreateWorkspace(T, B);
        StackGradientNorms.SetRecording(workspace.Stack, true);
        int[] tokens = new int[T * B], targets = new int[T * B], lastTargets = new int[T * B], firstTokens = new int[T * B];
        float[] norms = new float[T];
        double[][] every = new double[L][], last = new double[L][];
        for (int l = 0; l < L; l++)
        {
            every[l] = new double[T];
            last[l] = new double[T];
        }

        for (int n = 0; n < batches; n++)
        {
            batcher.Next(tokens, targets);
            if (n == 0)
            {
                tokens.CopyTo(firstTokens, 0);
            }

            // targets: [T, B]; the last-step loss keeps only row t = T-1.
            Array.Fill(lastTargets, SequenceModel.IgnoreIndex);
            Array.Copy(targets, (T - 1) * B, lastTargets, (T - 1) * B, B);
            foreach ((int[] goal, double[][] sums) in (ReadOnlySpan<(int[], double[][])>)[(targets, every), (lastTargets, last)])
            {
                // No dropout: the measurement should not depend on a random mask.
                model.Store.ZeroGradients();
                model.Forward(tokens, T, B, goal, workspace, training: false);
                model.Backward(workspace);
                for (int l = 0; l < L; l++)
                {
                    StackGradientNorms.LayerHiddenNorms(workspace.Stack, l, norms);
                    for (int t = 0; t < T; t++)
                    {
                        sums[l][t] += norms[t] / (double)batches;
                    }
                }
            }
        }

        model.Store.ZeroGradients();
        return (every, last, firstTokens);
    }

    // x: [T, S, E], the embeddings of the first S columns of tokens [T, B].
    private static float[] EmbedColumns(SequenceModel model, int[] tokens, int T, int B, int S)
    {
        int[] columns = new int[T * S];
        for (int t = 0; t < T; t++)
        {
            Array.Copy(tokens, t * B, columns, t * S, S);
        }

        float[] x = new float[T * S * model.Options.EmbeddingSize];
        model.Embedding.Forward(columns, x);
        return x;
    }

    private static void WriteGradientNorms(CommandContext context, double[][] every, double[][] last, int T, int batches, string modelText)
    {
        int L = every.Length;
        context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"||dL/dh_t|| by distance k = T-1-t, mean of {batches} batches; every step: the usual loss; last step: a loss at t = T-1 only:"));
        var table = new CliTable().AddColumn("k", numeric: true);
        var tsv = new CliTable().AddColumn("distance");
        for (int l = 0; l < L; l++)
        {
            string layer = L > 1 ? $" l{l}" : "";
            table.AddColumn("every step" + layer, numeric: true).AddColumn("last step" + layer, numeric: true);
            tsv.AddColumn($"every_step_l{l}").AddColumn($"last_step_l{l}");
        }

        double[] distances = new double[T];
        for (int k = 0; k < T; k++)
        {
            distances[k] = k;
            string[] row = new string[1 + (2 * L)], tsvRow = new string[1 + (2 * L)];
            row[0] = tsvRow[0] = Invariant(k);
            for (int l = 0; l < L; l++)
            {
                double e = every[l][T - 1 - k], s = last[l][T - 1 - k];
                row[1 + (2 * l)] = Scientific(e);
                row[2 + (2 * l)] = Scientific(s);
                tsvRow[1 + (2 * l)] = e.ToString("R", CultureInfo.InvariantCulture);
                tsvRow[2 + (2 * l)] = s.ToString("R", CultureInfo.InvariantCulture);
            }

            if (IsShownDistance(k, T - 1))
            {
                table.AddRow(row);
            }

            tsv.AddRow(tsvRow);
        }

        table.Write(context.Console);
        var plot = new LinePlot
        {
            Title = $"Gradient reaching h_t vs distance from the last step ({modelText}, T={T})",
            XLabel = "distance k = T-1-t (steps before the last)",
            YLabel = "||dL/dh_t|| (log scale)",
            LogY = true,
            LegendAlignment = EmptyCorner(ByDistance(last[0])),
        };
        for (int l = 0; l < L; l++)
        {
            string layer = L > 1 ? $", layer {l}" : "";
            plot.Add("loss at every step (h_t also gets its own output's gradient)" + layer, distances, ByDistance(every[l]));
            plot.Add("loss at the last step only (all of it crossed k steps)" + layer, distances, ByDistance(last[l]));
        }

        tsv.WriteTsv(context.OutputPath("gradflow-gradient-norms.tsv"));
        string png = context.SavePlot(plot, "gradflow-gradient-norms.png");
        context.Console.WriteLine($"wrote {png} and {context.OutputPath("gradflow-gradient-norms.tsv")}");
    }

    private static void WriteJacobians(CommandContext context, JacobianNormReport report, int sequences, string modelText)
    {
        int K = report.MaxDistance;
        bool lstm = report.Cell is not null;
        context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Jacobian norms of layer 0 by distance k, mean of {sequences} sequences (h: dh_T/dh_T-k{(lstm ? "; (h,c): the whole LSTM state; c: dc_T/dc_T-k; forget: the product of forget gates alone" : "")}):"));
        var table = new CliTable().AddColumn("k", numeric: true);
        var tsv = new CliTable().AddColumn("distance");
        var plot = new LinePlot
        {
            Title = $"Layer 0 Jacobian norms vs distance ({modelText})",
            XLabel = "distance k (steps back from the last state)",
            YLabel = "norm (log scale)",
            LogY = true,
            LegendAlignment = EmptyCorner(report.Hidden.MeanSpectralNorms.ToArray()),
        };
        double[] distances = new double[K];
        for (int k = 1; k <= K; k++)
        {
            distances[k - 1] = k;
        }

        foreach (JacobianNormSeries series in report.Series)
        {
            string name = SeriesName(series.Block);
            table.AddColumn(ShortName(series.Block) + " spectral", numeric: true).AddColumn(ShortName(series.Block) + " Frobenius", numeric: true);
            tsv.AddColumn(series.Block + "_spectral").AddColumn(series.Block + "_frobenius");
            plot.Add(name + ", spectral", distances, series.MeanSpectralNorms.ToArray());
            if (series.Block == JacobianBlock.Hidden)
            {
                // One Frobenius line only: the others run parallel to their spectral lines and crowd the plot (they are in the table and TSV).
                plot.Add(name + ", Frobenius", distances, series.MeanFrobeniusNorms.ToArray());
            }
        }

        for (int k = 1; k <= K; k++)
        {
            var row = new List<string> { Invariant(k) };
            var tsvRow = new List<string> { Invariant(k) };
            foreach (JacobianNormSeries series in report.Series)
            {
                double spectral = series.MeanSpectralNorms[k - 1], frobenius = series.MeanFrobeniusNorms[k - 1];
                row.Add(Scientific(spectral));
                row.Add(Scientific(frobenius));
                tsvRow.Add(spectral.ToString("R", CultureInfo.InvariantCulture));
                tsvRow.Add(frobenius.ToString("R", CultureInfo.InvariantCulture));
            }

            if (IsShownDistance(k, K))
            {
                table.AddRow([.. row]);
            }

            tsv.AddRow([.. tsvRow]);
        }

        table.Write(context.Console);
        tsv.WriteTsv(context.OutputPath("gradflow-jacobian.tsv"));
        string png = context.SavePlot(plot, "gradflow-jacobian.png");
        context.Console.WriteLine($"wrote {png} and {context.OutputPath("gradflow-jacobian.tsv")}");
    }

    private static void WriteSpectra(CommandContext context, List<RecurrentWeightReport> reports)
    {
        var tsv = new CliTable().AddColumn("weight").AddColumn("gate").AddColumn("spectral_radius").AddColumn("largest_singular_value")
            .AddColumn("gamma").AddColumn("radius_gain").AddColumn("singular_value_gain").AddColumn("reading");
        context.Console.WriteLine("W_hh spectra per gate block (rho: spectral radius, sigma: largest singular value, gamma: max activation slope):");
        foreach (RecurrentWeightReport report in reports)
        {
            context.Console.WriteLine(report.Describe());
            foreach (WeightBlockSpectrum block in report.Blocks)
            {
                tsv.AddRow(report.WeightName, block.Gate, R(block.SpectralRadius), R(block.LargestSingularValue), R(block.MaxActivationDerivative),
                    R(block.RadiusGain), R(block.SingularValueGain), block.Reading.ToString());
            }
        }

        string path = context.OutputPath("gradflow-spectra.tsv");
        tsv.WriteTsv(path);
        context.Console.WriteLine($"wrote {path}");
    }

    // Norms that decay with distance leave the lower left empty; growing ones the upper left.
    private static Alignment EmptyCorner(double[] byDistance)
    {
        double first = double.NaN, last = double.NaN;
        foreach (double value in byDistance)
        {
            if (double.IsFinite(value) && value > 0)
            {
                first = double.IsNaN(first) ? value : first;
                last = value;
            }
        }

        return last > first ? Alignment.UpperLeft : Alignment.LowerLeft;
    }

    private static string SeriesName(JacobianBlock block) => block switch
    {
        JacobianBlock.Hidden => "dh_T/dh_T-k",
        JacobianBlock.Cell => "dc_T/dc_T-k",
        JacobianBlock.State => "d(h,c)_T/d(h,c)_T-k",
        _ => "forget-gate path",
    };

    private static string ShortName(JacobianBlock block) => block switch
    {
        JacobianBlock.Hidden => "h",
        JacobianBlock.Cell => "c",
        JacobianBlock.State => "(h,c)",
        _ => "forget",
    };

    // Table rows: 0, 1, 2, 4, 8, ... and the last distance; the TSV has every one.
    private static bool IsShownDistance(int k, int last) => k == last || k <= 1 || (k & (k - 1)) == 0;

    private static double[] ByDistance(double[] byTime)
    {
        double[] values = new double[byTime.Length];
        for (int k = 0; k < byTime.Length; k++)
        {
            values[k] = byTime[byTime.Length - 1 - k];
        }

        return values;
    }

    private static string Scientific(double value) => double.IsNaN(value) ? "-" : value.ToString("0.000e+00", CultureInfo.InvariantCulture);

    private static string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
