// Legend: T time steps (= N + 2), N filler words, G gate blocks, d = T-1-t distance from the last step.
// Turns the demo's run results into what the reader sees: the accuracy table, the gradient-flow and spectra tables,
// the CSV/JSON files, and a reading of the seeds' claims computed from the numbers (never written in advance).
using System.Globalization;
using System.Text.Json;
using FastRnn.Cli.Output;
using FastRnn.Diagnostics;

namespace FastRnn.Cli.Demo;

/// <summary>Summaries, tables, files and the reading of one demo's results.</summary>
public sealed class DemoReport
{
    /// <summary>Mean test accuracy (percent) at or above which a cell "learned" a length.</summary>
    public const double LearnedPercent = 95;

    // z for a two-sided 99% range of a fair coin's hit rate.
    private const double ChanceZ = 2.576;

    private readonly Dictionary<(string Cell, int Fillers), List<DemoRunResult>> _byCase = [];

    /// <summary>Creates the report.</summary>
    /// <param name="settings">The settings the runs used.</param>
    /// <param name="results">Every run's result.</param>
    public DemoReport(DemoSettings settings, IReadOnlyList<DemoRunResult> results)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(results);
        Settings = settings;
        Results = results;
        foreach (DemoRunResult result in results)
        {
            var key = (result.Job.Cell.Name, result.Job.Fillers);
            if (!_byCase.TryGetValue(key, out List<DemoRunResult>? list))
            {
                _byCase[key] = list = [];
            }

            list.Add(result);
        }
    }

    /// <summary>The settings.</summary>
    public DemoSettings Settings { get; }

    /// <summary>Every run, in report order.</summary>
    public IReadOnlyList<DemoRunResult> Results { get; }

    /// <summary>Half-width in percentage points of the 99% range of guessing on the test set: 50 +- this is "chance".</summary>
    public double ChanceBand => 100 * ChanceZ * Math.Sqrt(0.25 / Settings.TestSize);

    /// <summary>The mean test accuracy (percent) of <paramref name="cell"/> at N = <paramref name="fillers"/> over its runs.</summary>
    public double MeanAccuracy(DemoCell cell, int fillers) => Runs(cell, fillers).Average(r => r.AccuracyPercent);

    /// <summary>How many runs of <paramref name="cell"/> at N = <paramref name="fillers"/> reached <see cref="LearnedPercent"/>.</summary>
    public int LearnedRuns(DemoCell cell, int fillers) => Runs(cell, fillers).Count(r => r.AccuracyPercent >= LearnedPercent);

    /// <summary>Whether a mean accuracy is within the chance range.</summary>
    public bool IsChance(double percent) => Math.Abs(percent - 50) <= ChanceBand;

    /// <summary>The run whose gradients and spectra the tables and plots show: the first run at the longest N.</summary>
    public DemoRunResult Showcase(DemoCell cell) => Runs(cell, Settings.LongestLength)[0];

    /// <summary>The title of <see cref="AccuracyTable"/>.</summary>
    public string AccuracyTitle => Invariant($"Test accuracy % on {Settings.TestSize} fresh balanced sentences per N (chance = 50%); ") +
        (Settings.Runs == 1 ? "one run per cell and length" : Invariant($"mean of {Settings.Runs} runs, (k/{Settings.Runs}) = runs that reached {LearnedPercent}%"));

    /// <summary>Rows: cells; columns: N; cells: mean test accuracy in percent (and runs that learned, with several runs).</summary>
    public CliTable AccuracyTable()
    {
        var table = new CliTable();
        table.AddColumn("cell");
        foreach (int n in Settings.Lengths)
        {
            table.AddColumn(Invariant($"N={n}"), numeric: true);
        }

        foreach (DemoCell cell in Settings.Cells)
        {
            var row = new List<string> { cell.Name };
            foreach (int n in Settings.Lengths)
            {
                string text = MeanAccuracy(cell, n).ToString("F1", CultureInfo.InvariantCulture);
                if (Settings.Runs > 1)
                {
                    text += Invariant($" ({LearnedRuns(cell, n)}/{Settings.Runs})");
                }

                row.Add(text);
            }

            table.AddRow([.. row]);
        }

        return table;
    }

    /// <summary>The title of <see cref="GradientTable"/>.</summary>
    public string GradientTitle => Invariant(
        $"Gradient flow at N={Settings.LongestLength} (T={Settings.LongestLength + 2}), run 1: ||dL/dh_t|| per step going back, and at the first word relative to the last ({Settings.ProbeBatches} batches)");

    /// <summary>Per cell: how the gradient's norm changes going back from the last step, at init and after training.</summary>
    public CliTable GradientTable()
    {
        int t = Settings.LongestLength + 2;
        var table = new CliTable();
        table.AddColumn("cell").AddColumn("per step\ninit", numeric: true).AddColumn("per step\ntrained", numeric: true)
            .AddColumn(Invariant($"first word\n(d={t - 1}) init"), numeric: true).AddColumn("first word\ntrained", numeric: true);
        foreach (DemoCell cell in Settings.Cells)
        {
            DemoRunResult run = Showcase(cell);
            table.AddRow(cell.Name, Factor(run.InitialGradients), Factor(run.TrainedGradients),
                RelativeText(run.InitialGradients), RelativeText(run.TrainedGradients));
        }

        return table;
    }

    /// <summary>The title of <see cref="SpectraTable"/>.</summary>
    public string SpectraTitle => Invariant(
        $"W_hh per gate block at N={Settings.LongestLength}, run 1: spectral radius rho, gamma = max f' of the block's activation, bias = mean of b_ih + b_hh (sigma in demo-spectra.csv)");

    /// <summary>Per cell and gate block of <c>W_hh</c>: spectral radius, largest singular value, <c>rho*gamma</c> and the mean bias, before and after training.</summary>
    public CliTable SpectraTable()
    {
        var table = new CliTable();
        table.AddColumn("cell, gate").AddColumn("rho\ninit", numeric: true).AddColumn("rho\ntrained", numeric: true)
            .AddColumn("rho*gamma\ninit", numeric: true).AddColumn("rho*gamma\ntrained", numeric: true)
            .AddColumn("bias\ninit", numeric: true).AddColumn("bias\ntrained", numeric: true);
        foreach (DemoCell cell in Settings.Cells)
        {
            DemoRunResult run = Showcase(cell);
            int blocks = run.InitialGateBiases.Length;
            for (int g = 0; g < blocks; g++)
            {
                WeightBlockSpectrum? before = run.InitialSpectra?.Blocks[g], after = run.TrainedSpectra?.Blocks[g];
                string gate = before?.Gate ?? g.ToString(CultureInfo.InvariantCulture);
                table.AddRow(
                    blocks == 1 ? cell.Name : $"{cell.Name} {gate}",
                    Fixed(before?.SpectralRadius), Fixed(after?.SpectralRadius),
                    Fixed(before?.RadiusGain), Fixed(after?.RadiusGain),
                    Signed(run.InitialGateBiases[g]), Signed(run.TrainedGateBiases[g]));
            }
        }

        return table;
    }

    /// <summary>The note under <see cref="SpectraTable"/>.</summary>
    public static string SpectraNote =>
        "rho*gamma < 1 predicts vanishing gradients through that block (the seeds' eigenvalue argument); gamma = 1 for tanh, ReLU, g and n, 0.25 for sigmoids.";

    /// <summary>The heading of <see cref="Reading"/>.</summary>
    public string ReadingTitle => Invariant(
        $"Reading of the seeds' claims, computed from the numbers above (chance = 50 +- {ChanceBand:F1}%, the 99% range of guessing on {Settings.TestSize} sentences; learned = mean >= {LearnedPercent}%):");

    /// <summary>
    /// What the measured numbers say about the seeds' claims, computed from the results: one line per claim with its
    /// verdict, each followed by lines that start with two spaces, one per cell, giving the numbers behind it.
    /// </summary>
    public IReadOnlyList<string> Reading()
    {
        var lines = new List<string>();
        int first = Settings.Lengths[0], last = Settings.LongestLength;

        // Claim 1: simple RNNs fall toward chance as the dependency grows.
        var simple = Settings.Cells.Where(c => !c.IsGated).ToList();
        if (simple.Count > 0 && Settings.Lengths.Count > 1)
        {
            var details = new List<string>();
            int support = 0, partly = 0, refute = 0, evidence = 0;
            foreach (DemoCell cell in simple)
            {
                double a = MeanAccuracy(cell, first), b = MeanAccuracy(cell, last);
                if (IsChance(a))
                {
                    details.Add(Settings.Lengths.All(n => IsChance(MeanAccuracy(cell, n)))
                        ? Invariant($"  {cell.Name}: no evidence either way: at chance at every N, even N={first}")
                        : Invariant($"  {cell.Name}: no evidence: at chance already at N={first}; {Profile(cell)}"));
                    continue;
                }

                evidence++;
                string verdict;
                if (IsChance(b) || b - 50 <= 0.5 * (a - 50))
                {
                    support++;
                    verdict = Invariant($"falls toward chance ({a:F1}% -> {b:F1}%)");
                }
                else if (b <= a - 10)
                {
                    partly++;
                    verdict = Invariant($"falls, but keeps more than half its margin over chance ({a:F1}% -> {b:F1}%)");
                }
                else
                {
                    refute++;
                    verdict = Invariant($"does not fall ({a:F1}% -> {b:F1}%)");
                }

                details.Add($"  {cell.Name}: {verdict}; {Profile(cell)}");
            }

            string overall = refute > 0 ? "NOT SUPPORTED for some cells" : evidence > 0 && support == evidence ? "SUPPORTED" : support + partly > 0 ? "PARTLY SUPPORTED" : "NOT SHOWN";
            lines.Add(Invariant($"\"Simple RNNs fall toward chance as the dependency grows\" (N={first} -> {last}): {overall}"));
            lines.AddRange(details);
        }

        // Claim 2: LSTM and GRU hold up.
        var gated = Settings.Cells.Where(c => c.IsGated).ToList();
        if (gated.Count > 0)
        {
            var details = new List<string>();
            int hold = 0;
            foreach (DemoCell cell in gated)
            {
                bool holds = Settings.Lengths.All(n => MeanAccuracy(cell, n) >= LearnedPercent);
                if (holds)
                {
                    hold++;
                }

                details.Add($"  {cell.Name}: {(holds ? Invariant($"holds up to N={last}") : "does not hold up")}; {Profile(cell)}");
            }

            string overall = hold == gated.Count ? "SUPPORTED" : hold > 0 ? "PARTLY SUPPORTED" : "NOT SUPPORTED";
            lines.Add(Invariant($"\"LSTM and GRU hold up\": {overall} with this budget ({Settings.Steps} steps x batch {Settings.BatchSize} per run)"));
            lines.AddRange(details);
        }

        // Claim 3: the gradient through a simple RNN shrinks geometrically with distance, as rho(W_hh)*gamma < 1 predicts.
        var flow = new List<string>();
        int vanishing = 0, agree = 0;
        foreach (DemoCell cell in Settings.Cells)
        {
            DemoRunResult run = Showcase(cell);
            double initial = run.InitialGradients.FactorPerStep(out _), trained = run.TrainedGradients.FactorPerStep(out _);
            string spectral = "", after = "";
            if (!cell.IsGated)
            {
                vanishing += initial < 1 ? 1 : 0;
                if (run.InitialSpectra is { } spectra)
                {
                    double gain = spectra.Blocks[0].RadiusGain;
                    bool agrees = (gain < 1) == (initial < 1);
                    agree += agrees ? 1 : 0;
                    spectral = Invariant($" (rho*gamma {gain:F2} {(gain < 1 ? "< 1" : ">= 1")}: {(agrees ? "agrees" : "disagrees")})");
                }

                if (run.TrainedSpectra is { } trainedSpectra && trained > 0)
                {
                    double gain = trainedSpectra.Blocks[0].RadiusGain;
                    after = (gain < 1) == (trained < 1)
                        ? Invariant($" (rho*gamma {gain:F2}: agrees)")
                        : Invariant($" (rho*gamma {gain:F2}: disagrees, f' < gamma)");
                }
            }

            string trainedText = trained == 0
                ? "trained: no gradient past the last step (no unit active there)"
                : Invariant($"trained x{FactorText(trained)}/step{after}, first word {RelativeText(run.TrainedGradients)}");
            flow.Add(Invariant($"  {cell.Name}: init x{FactorText(initial)}/step{spectral}; {trainedText}"));
        }

        if (simple.Count > 0)
        {
            string overall = vanishing == simple.Count && agree == simple.Count ? "SUPPORTED" : vanishing > 0 ? "PARTLY SUPPORTED" : "NOT SUPPORTED";
            lines.Add(Invariant($"\"Gradients through simple RNNs vanish with distance, as rho(W_hh)*gamma < 1 predicts\" (N={last}, run 1): {overall}"));
        }
        else
        {
            lines.Add(Invariant($"Gradient flow (N={last}, run 1):"));
        }

        lines.AddRange(flow);
        return lines;
    }

    /// <summary>Writes <c>demo-accuracy.csv</c>, <c>demo-gradients.csv</c> and <c>demo-spectra.csv</c> into <paramref name="directory"/>; returns their paths.</summary>
    public IReadOnlyList<string> WriteCsv(string directory)
    {
        string accuracy = Path.Combine(directory, "demo-accuracy.csv");
        using (var writer = new StreamWriter(accuracy))
        {
            writer.WriteLine("cell,N,T,run,accuracy_percent,correct,test_size,final_loss,skipped_steps,seconds,tokens_per_s");
            foreach (DemoRunResult r in Results)
            {
                writer.WriteLine(Invariant($"{r.Job.Cell.Name},{r.Job.Fillers},{r.Job.SequenceLength},{r.Job.Run + 1},{r.AccuracyPercent:R},{r.Correct},{r.TestCount},{r.FinalLoss:R},{r.SkippedSteps},{r.Seconds:R},{r.TokensPerSecond:R}"));
            }
        }

        string gradients = Path.Combine(directory, "demo-gradients.csv");
        using (var writer = new StreamWriter(gradients))
        {
            writer.WriteLine("cell,N,run,phase,distance,t,grad_h_norm,relative_to_last,grad_c_norm");
            foreach (DemoRunResult r in Results)
            {
                foreach ((string phase, GradientProfile profile) in (ReadOnlySpan<(string, GradientProfile)>)[("init", r.InitialGradients), ("trained", r.TrainedGradients)])
                {
                    double[] relative = profile.RelativeByDistance();
                    int T = profile.Hidden.Length;
                    for (int d = 0; d < T; d++)
                    {
                        int t = T - 1 - d;
                        string cellNorm = profile.Cell.Length > 0 ? Invariant($"{profile.Cell[t]:R}") : "";
                        writer.WriteLine(Invariant($"{r.Job.Cell.Name},{r.Job.Fillers},{r.Job.Run + 1},{phase},{d},{t},{profile.Hidden[t]:R},{relative[d]:R},{cellNorm}"));
                    }
                }
            }
        }

        string spectra = Path.Combine(directory, "demo-spectra.csv");
        using (var writer = new StreamWriter(spectra))
        {
            writer.WriteLine("cell,N,run,phase,block,spectral_radius,largest_singular_value,gamma,radius_gain,reading,mean_bias");
            foreach (DemoRunResult r in Results)
            {
                foreach ((string phase, RecurrentWeightReport? report, double[] biases) in (ReadOnlySpan<(string, RecurrentWeightReport?, double[])>)
                    [("init", r.InitialSpectra, r.InitialGateBiases), ("trained", r.TrainedSpectra, r.TrainedGateBiases)])
                {
                    for (int g = 0; g < biases.Length; g++)
                    {
                        WeightBlockSpectrum? b = report?.Blocks[g];
                        writer.WriteLine(b is null
                            ? Invariant($"{r.Job.Cell.Name},{r.Job.Fillers},{r.Job.Run + 1},{phase},{g},,,,,not finite,{biases[g]:R}")
                            : Invariant($"{r.Job.Cell.Name},{r.Job.Fillers},{r.Job.Run + 1},{phase},{b.Gate},{b.SpectralRadius:R},{b.LargestSingularValue:R},{b.MaxActivationDerivative:R},{b.RadiusGain:R},{b.Reading},{biases[g]:R}"));
                    }
                }
            }
        }

        return [accuracy, gradients, spectra];
    }

    /// <summary>Writes everything (settings, every run's numbers, the reading) as <c>demo.json</c> in <paramref name="directory"/>.</summary>
    public string WriteJson(string directory, double elapsedSeconds)
    {
        string path = Path.Combine(directory, "demo.json");
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("task", "[not|really] [happy|sad] + N filler words; label = positive iff happy XOR not; many-to-one from the last step");
        json.WriteString("recipe", Settings.Recipe());
        json.WriteStartObject("settings");
        json.WriteStartArray("lengths");
        foreach (int n in Settings.Lengths)
        {
            json.WriteNumberValue(n);
        }

        json.WriteEndArray();
        json.WriteStartArray("cells");
        foreach (DemoCell cell in Settings.Cells)
        {
            json.WriteStringValue(cell.Name);
        }

        json.WriteEndArray();
        json.WriteNumber("steps", Settings.Steps);
        json.WriteNumber("batch", Settings.BatchSize);
        json.WriteNumber("hidden", Settings.HiddenSize);
        json.WriteNumber("embedding", Settings.EmbeddingSize);
        json.WriteNumber("learning_rate", Settings.LearningRate);
        json.WriteNumber("clip_norm", Settings.ClipNorm);
        json.WriteNumber("lstm_forget_gate_bias", Settings.ForgetGateBias);
        json.WriteNumber("runs", Settings.Runs);
        json.WriteNumber("seed", Settings.Seed);
        json.WriteNumber("threads", Settings.Threads);
        json.WriteNumber("test_size", Settings.TestSize);
        json.WriteNumber("probe_batches", Settings.ProbeBatches);
        json.WriteEndObject();
        json.WriteNumber("elapsed_seconds", elapsedSeconds);
        json.WriteStartArray("runs");
        foreach (DemoRunResult r in Results)
        {
            json.WriteStartObject();
            json.WriteString("cell", r.Job.Cell.Name);
            json.WriteNumber("N", r.Job.Fillers);
            json.WriteNumber("T", r.Job.SequenceLength);
            json.WriteNumber("run", r.Job.Run + 1);
            json.WriteNumber("accuracy_percent", r.AccuracyPercent);
            json.WriteNumber("final_loss", r.FinalLoss);
            json.WriteNumber("skipped_steps", r.SkippedSteps);
            json.WriteNumber("seconds", r.Seconds);
            json.WriteNumber("tokens_per_s", r.TokensPerSecond);
            WritePhase(json, "init", r.InitialGradients, r.InitialSpectra, r.InitialGateBiases);
            WritePhase(json, "trained", r.TrainedGradients, r.TrainedSpectra, r.TrainedGateBiases);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("reading");
        foreach (string line in Reading())
        {
            json.WriteStringValue(line);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        return path;
    }

    // The accuracies in N order, grouped: "learned at N=5, 10; 84.6% at N=20 (best run 100.0%); at chance at N=50, 100".
    private string Profile(DemoCell cell)
    {
        var parts = new List<string>();
        string? group = null;
        var members = new List<int>();
        void Flush()
        {
            if (group is not null)
            {
                parts.Add(Invariant($"{group} at N={string.Join(", ", members)}"));
            }

            group = null;
            members.Clear();
        }

        foreach (int n in Settings.Lengths)
        {
            double a = MeanAccuracy(cell, n);
            string? kind = a >= LearnedPercent ? "learned" : IsChance(a) ? "at chance" : null;
            if (kind != group)
            {
                Flush();
            }

            if (kind is null)
            {
                double best = Runs(cell, n).Max(r => r.AccuracyPercent);
                parts.Add(Settings.Runs > 1 ? Invariant($"{a:F1}% at N={n} (best run {best:F1}%)") : Invariant($"{a:F1}% at N={n}"));
            }
            else
            {
                group = kind;
                members.Add(n);
            }
        }

        Flush();
        return string.Join("; ", parts);
    }

    private List<DemoRunResult> Runs(DemoCell cell, int fillers) =>
        _byCase.TryGetValue((cell.Name, fillers), out List<DemoRunResult>? runs) ? runs : throw new ArgumentException($"no runs for {cell.Name} at N={fillers}");

    private static void WritePhase(Utf8JsonWriter json, string name, GradientProfile gradients, RecurrentWeightReport? spectra, double[] biases)
    {
        json.WriteStartObject(name);
        json.WriteNumber("probe_loss", gradients.Loss);
        json.WriteStartArray("grad_h_norm_by_t");
        foreach (double value in gradients.Hidden)
        {
            json.WriteNumberValue(value);
        }

        json.WriteEndArray();
        if (gradients.Cell.Length > 0)
        {
            json.WriteStartArray("grad_c_norm_by_t");
            foreach (double value in gradients.Cell)
            {
                json.WriteNumberValue(value);
            }

            json.WriteEndArray();
        }

        json.WriteStartArray("w_hh_blocks");
        for (int g = 0; g < biases.Length; g++)
        {
            json.WriteStartObject();
            WeightBlockSpectrum? block = spectra?.Blocks[g];
            json.WriteString("block", block?.Gate ?? g.ToString(CultureInfo.InvariantCulture));
            if (block is not null)
            {
                json.WriteNumber("spectral_radius", block.SpectralRadius);
                json.WriteNumber("largest_singular_value", block.LargestSingularValue);
                json.WriteNumber("gamma", block.MaxActivationDerivative);
                json.WriteString("reading", block.Reading.ToString());
            }

            json.WriteNumber("mean_bias", biases[g]);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string Factor(GradientProfile profile)
    {
        double factor = profile.FactorPerStep(out _);
        return factor == 0 ? "0 (cut at d=1)" : "x" + FactorText(factor);
    }

    private static string FactorText(double factor) => double.IsFinite(factor) ? factor.ToString("0.000", CultureInfo.InvariantCulture) : "-";

    // ||dL/dh_0|| / ||dL/dh_{T-1}||, or what happened to it.
    private static string RelativeText(GradientProfile profile)
    {
        double value = profile.RelativeByDistance()[^1];
        return value == 0 && profile.CutAt() is int d ? Invariant($"0 (cut at d={d})") : Scientific(value);
    }

    private static string Signed(double value)
    {
        double rounded = Math.Round(value, 2) + 0.0; // + 0.0 turns -0 into 0
        return rounded.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture);
    }

    private static string Scientific(double value) =>
        double.IsFinite(value) ? (value == 0 ? "0 (underflow)" : value.ToString("0.0E+0", CultureInfo.InvariantCulture)) : "-";

    private static string Fixed(double? value) => value is double v && double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "-";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
