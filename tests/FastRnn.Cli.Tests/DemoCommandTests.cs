// `fastrnn demo`: the task generator, the quick configuration end to end (files, tables, determinism across thread
// counts), argument errors, and the reading being computed from the numbers rather than written in advance.
using System.Buffers.Binary;
using System.Globalization;
using FastRnn.Cli.Demo;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace FastRnn.Cli.Tests;

public class DemoCommandTests
{
    private static readonly byte[] s_pngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    // Labels are the sentence's sentiment (positive for "really happy" and "not sad"), written here from the words, not
    // from the generator's XOR; the four combinations and the two labels are balanced to within one in every batch;
    // fillers are filler words only.
    [Property(MaxTest = 60)]
    public Property Generated_labels_are_the_sentences_sentiment_and_balanced(NonNegativeInt fillers, PositiveInt batch, int seed)
    {
        int n = fillers.Get % 40, B = (batch.Get % 70) + 1;
        var task = new SentimentTask(n);
        int T = task.SequenceLength;
        int[] tokens = new int[T * B], labels = new int[B];
        var random = new TaskRandom(seed);
        task.Fill(ref random, B, tokens, labels);

        int positives = 0;
        int[] combinations = new int[4];
        for (int b = 0; b < B; b++)
        {
            string first = SentimentTask.Words[tokens[b]], second = SentimentTask.Words[tokens[B + b]];
            Assert.Contains(first, (string[])["not", "really"]);
            Assert.Contains(second, (string[])["happy", "sad"]);
            bool positive = (first == "really" && second == "happy") || (first == "not" && second == "sad");
            Assert.Equal(positive ? SentimentTask.Positive : SentimentTask.Negative, labels[b]);
            positives += positive ? 1 : 0;
            combinations[((first == "not") ? 1 : 0) + ((second == "happy") ? 2 : 0)]++;
            for (int t = 2; t < T; t++)
            {
                int id = tokens[(t * B) + b];
                Assert.InRange(id, SentimentTask.FirstFiller, SentimentTask.VocabularySize - 1);
            }
        }

        return (Math.Abs((2 * positives) - B) <= 1 && combinations.Max() - combinations.Min() <= 1).ToProperty();
    }

    [Fact]
    public void Generator_is_seeded_and_uses_every_filler_word()
    {
        var task = new SentimentTask(50);
        int B = 8, T = task.SequenceLength;
        int[] a = new int[T * B], b = new int[T * B], c = new int[T * B], labels = new int[B];
        var first = new TaskRandom(7, 1);
        var same = new TaskRandom(7, 1);
        var other = new TaskRandom(7, 2);
        task.Fill(ref first, B, a, labels);
        task.Fill(ref same, B, b, labels);
        task.Fill(ref other, B, c, labels);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(SentimentTask.FillerVocabularySize, a.Skip(2 * B).Distinct().Count());
        // Consecutive sentences alternate between negative and positive combinations, in the documented cycle.
        string[] cycle = ["really sad", "not sad", "not happy", "really happy"];
        int start = Array.IndexOf(cycle, string.Join(' ', task.Describe(a, B, 0).Split(' ').Take(2)));
        Assert.InRange(start, 0, 3);
        for (int s = 0; s < B; s++)
        {
            Assert.Equal(cycle[(start + s) % 4], string.Join(' ', task.Describe(a, B, s).Split(' ').Take(2)));
        }
    }

    // A batch of one still sees every combination over successive batches (the cycle starts at a random point).
    [Fact]
    public void Batches_of_one_cover_every_combination()
    {
        var task = new SentimentTask(2);
        var random = new TaskRandom(3);
        int[] tokens = new int[task.SequenceLength], labels = new int[1];
        var seen = new HashSet<(int, int)>();
        for (int k = 0; k < 64; k++)
        {
            task.Fill(ref random, 1, tokens, labels);
            seen.Add((tokens[0], tokens[1]));
        }

        Assert.Equal(4, seen.Count);
    }

    [Fact]
    public void Generator_refuses_buffers_of_the_wrong_size()
    {
        var task = new SentimentTask(3);
        var random = new TaskRandom(1);
        var error = Assert.Throws<ArgumentException>(() => task.Fill(ref random, 4, new int[19], new int[4]));
        Assert.Contains("[T=5, B=4]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Quick_demo_prints_the_tables_and_writes_plots_and_data()
    {
        using var temp = new TempDirectory();
        CliRun run = CliHarness.Run("demo", "--quick", "--out", temp.Path);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.DoesNotContain("error", run.Stderr, StringComparison.Ordinal);
        foreach (string expected in (string[])["Test accuracy %", "chance = 50%", "N=1", "N=4", "elman-tanh", "elman-sigmoid", "elman-relu", "lstm", "gru",
            "Gradient flow", "rho*gamma", "Simple RNNs fall toward chance", "LSTM and GRU hold up", "forget-gate bias 1"])
        {
            Assert.Contains(expected, run.Stdout, StringComparison.Ordinal);
        }

        foreach (string png in (string[])[DemoPlots.AccuracyFile, DemoPlots.GradientsInitFile, DemoPlots.GradientsTrainedFile])
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(temp.Path, png));
            Assert.Equal(s_pngSignature, bytes[..8]);
            Assert.True(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)) >= 400, png);
        }

        string[] accuracy = File.ReadAllLines(Path.Combine(temp.Path, "demo-accuracy.csv"));
        Assert.Equal("cell,N,T,run,accuracy_percent,correct,test_size,final_loss,skipped_steps,seconds,tokens_per_s", accuracy[0]);
        Assert.Equal(1 + (5 * 2), accuracy.Length); // 5 cells x 2 lengths x 1 run
        foreach (string line in accuracy.Skip(1))
        {
            double percent = double.Parse(line.Split(',')[4], CultureInfo.InvariantCulture);
            Assert.InRange(percent, 0, 100);
        }

        // Gradients: every run, both phases, one row per step (T = 3 and 6).
        Assert.Equal(1 + (5 * 2 * (3 + 6)), File.ReadAllLines(Path.Combine(temp.Path, "demo-gradients.csv")).Length);
        // Spectra: one row per gate block (1 + 1 + 1 + 4 + 3) per length and phase.
        Assert.Equal(1 + (10 * 2 * 2), File.ReadAllLines(Path.Combine(temp.Path, "demo-spectra.csv")).Length);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(temp.Path, "demo.json")));
        Assert.Equal(10, json.RootElement.GetProperty("runs").GetArrayLength());
        Assert.True(json.RootElement.GetProperty("reading").GetArrayLength() > 3);
    }

    // On a terminal: one bar per cell with its steps, the running loss and tokens/s; the tables follow.
    [Fact]
    public void Quick_demo_on_a_terminal_shows_a_progress_bar_per_cell()
    {
        using var temp = new TempDirectory();
        using var writer = new StringWriter();
        using var stderr = new StringWriter();
        int exitCode = FastRnnCli.Run(["demo", "--quick", "--cells", "lstm,gru", "--out", temp.Path], CliHarness.Console(writer, interactive: true), stderr);
        Assert.True(exitCode == 0, stderr.ToString());
        string text = writer.ToString();
        Assert.Contains("240/240", text, StringComparison.Ordinal); // 2 lengths x 120 steps per cell
        Assert.Contains("lstm (done)", text, StringComparison.Ordinal);
        Assert.Contains("gru (done)", text, StringComparison.Ordinal);
        Assert.Matches(@"loss \d\.\d{4}", text);
        Assert.Contains("tok/s", text, StringComparison.Ordinal);
        Assert.Contains("Test accuracy %", text, StringComparison.Ordinal);
    }

    // Each run depends only on its seeds: one worker or two, the measured numbers are the same.
    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        using var one = new TempDirectory();
        using var two = new TempDirectory();
        string[] args = ["demo", "--quick", "--cells", "elman-tanh,gru", "--runs", "2", "--seed", "5"];
        Assert.Equal(0, CliHarness.Run([.. args, "--threads", "1", "--out", one.Path]).ExitCode);
        Assert.Equal(0, CliHarness.Run([.. args, "--threads", "2", "--out", two.Path]).ExitCode);
        Assert.Equal(Measured(one.Path), Measured(two.Path));

        // Everything but the timing columns, and the gradient norms in full.
        static string[] Measured(string directory) =>
        [
            .. File.ReadAllLines(Path.Combine(directory, "demo-accuracy.csv")).Select(line => string.Join(',', line.Split(',')[..9])),
            .. File.ReadAllLines(Path.Combine(directory, "demo-gradients.csv")),
            .. File.ReadAllLines(Path.Combine(directory, "demo-spectra.csv")),
        ];
    }

    // The one accuracy assertion: with the key words right before the end (N = 1), a GRU learns the task.
    [Fact]
    public void Gru_learns_the_task_at_one_filler_word()
    {
        using var temp = new TempDirectory();
        CliRun run = CliHarness.Run("demo", "--cells", "gru", "--lengths", "1", "--steps", "300", "--batch", "16", "--hidden", "16", "--runs", "1", "--out", temp.Path);
        Assert.True(run.ExitCode == 0, run.Stderr);
        string row = File.ReadAllLines(Path.Combine(temp.Path, "demo-accuracy.csv"))[1];
        Assert.True(double.Parse(row.Split(',')[4], CultureInfo.InvariantCulture) > 90, row);
    }

    [Theory]
    [InlineData(new[] { "demo", "--cells", "elman-tanh,transformer" }, "--cells: unknown cell 'transformer' (expected elman-tanh, elman-sigmoid, elman-relu, lstm or gru)")]
    [InlineData(new[] { "demo", "--cells", "elman-softmax" }, "--cells: unknown cell 'elman-softmax'")]
    [InlineData(new[] { "demo", "--steps", "-5" }, "--steps: must be at least 1, got -5")]
    [InlineData(new[] { "demo", "--steps", "0" }, "--steps: must be at least 1, got 0")]
    [InlineData(new[] { "demo", "--lengths", "5,-1" }, "--lengths: each value must be at least 1, got -1")]
    [InlineData(new[] { "demo", "--runs", "0" }, "--runs: must be at least 1, got 0")]
    [InlineData(new[] { "demo", "--lr", "0" }, "--lr: must be greater than 0, got 0")]
    [InlineData(new[] { "demo", "--hidden", "x" }, "--hidden: 'x' is not an integer")]
    [InlineData(new[] { "demo", "--quick", "--bogus" }, "unknown option '--bogus'", "'fastrnn demo --help'")]
    public void Bad_arguments_are_one_line_usage_errors(string[] args, params string[] fragments)
    {
        using var temp = new TempDirectory();
        CliHarness.Run([.. args, "--out", temp.Path]).AssertError(FastRnnCli.UsageError, fragments);
        Assert.False(Directory.Exists(temp.Path));
    }

    [Fact]
    public void Cell_names_parse_case_insensitively_and_elman_means_tanh()
    {
        Assert.True(DemoCell.TryParse(" LSTM ", out DemoCell lstm));
        Assert.Same(DemoCell.Lstm, lstm);
        Assert.True(DemoCell.TryParse("elman", out DemoCell elman));
        Assert.Same(DemoCell.ElmanTanh, elman);
        Assert.False(DemoCell.TryParse("elman-gelu", out _));
        Assert.Equal(DemoCell.All.Count, DemoCell.All.Select(c => c.Name).Distinct().Count());
    }

    [Fact]
    public void Help_lists_the_demo_options()
    {
        CliRun run = CliHarness.Run("demo", "--help");
        Assert.Equal(0, run.ExitCode);
        foreach (string option in (string[])["--cells", "--lengths", "--steps", "--batch", "--hidden", "--lr", "--forget-bias", "--runs", "--quick", "--seed", "--threads", "--out"])
        {
            Assert.Contains(option, run.Stdout, StringComparison.Ordinal);
        }
    }

    // The verdicts follow the accuracies they are given: the same code says "SUPPORTED" or not depending on the numbers.
    [Theory]
    [InlineData(100, 50, 100, 100, "\"Simple RNNs fall toward chance as the dependency grows\" (N=5 -> 100): SUPPORTED", "\"LSTM and GRU hold up\": SUPPORTED")]
    [InlineData(100, 100, 100, 50, "(N=5 -> 100): NOT SUPPORTED for some cells", "\"LSTM and GRU hold up\": NOT SUPPORTED")]
    [InlineData(100, 80, 100, 75, "(N=5 -> 100): PARTLY SUPPORTED", "gru: does not hold up; learned at N=5; 75.0% at N=100")]
    [InlineData(100, 70, 100, 100, "elman-tanh: falls toward chance (100.0% -> 70.0%)", "gru: holds up to N=100")]
    [InlineData(50, 50, 100, 100, "(N=5 -> 100): NOT SHOWN", "elman-tanh: no evidence either way: at chance at every N, even N=5")]
    [InlineData(50, 80, 100, 100, "(N=5 -> 100): NOT SHOWN", "elman-tanh: no evidence: at chance already at N=5; at chance at N=5; 80.0% at N=100")]
    public void Reading_is_computed_from_the_accuracies(double elmanShort, double elmanLong, double gruShort, double gruLong, string claim1, string claim2)
    {
        var settings = new DemoSettings([5, 100], [DemoCell.ElmanTanh, DemoCell.Gru], 10, 4, 8, 4, 0.01, 1, 1, Runs: 1, Seed: 1, Threads: 1, TestSize: 200);
        DemoRunResult[] results =
        [
            Fake(DemoCell.ElmanTanh, 5, elmanShort), Fake(DemoCell.ElmanTanh, 100, elmanLong),
            Fake(DemoCell.Gru, 5, gruShort), Fake(DemoCell.Gru, 100, gruLong),
        ];
        string reading = string.Join('\n', new DemoReport(settings, results).Reading());
        Assert.Contains(claim1, reading, StringComparison.Ordinal);
        Assert.Contains(claim2, reading, StringComparison.Ordinal);

        static DemoRunResult Fake(DemoCell cell, int fillers, double percent)
        {
            int T = fillers + 2;
            var profile = new GradientProfile([.. Enumerable.Range(0, T).Select(t => Math.Pow(0.5, T - 1 - t))], [], 0.69);
            double[] biases = new double[cell.GateCount];
            return new DemoRunResult(new DemoJob(cell, fillers, 0), (int)Math.Round(percent * 2), 200, 0.5, 0, 1, 1000, profile, profile, null, null, biases, biases);
        }
    }

    [Fact]
    public void Gradient_factor_per_step_is_the_geometric_mean_back_to_the_last_positive_norm()
    {
        // ||dL/dh_t|| = 0.5^(T-1-t) for T = 6: x0.5 per step; relative 1/32 at the first word.
        var halving = new GradientProfile([1 / 32.0, 1 / 16.0, 1 / 8.0, 1 / 4.0, 1 / 2.0, 1], [], 0.69);
        Assert.Equal(0.5, halving.FactorPerStep(out int distance), 12);
        Assert.Equal(5, distance);
        Assert.Equal(1 / 32.0, halving.RelativeByDistance()[5], 12);

        // 0 beyond d = 2: the factor is taken over the positive part.
        var underflow = new GradientProfile([0, 0, 0.01, 0.1, 1], [], 0.69);
        Assert.Equal(0.1, underflow.FactorPerStep(out distance), 12);
        Assert.Equal(2, distance);

        Assert.Equal(3, underflow.CutAt()); // 0.01 -> 0 in one step is a cut, not float32 running out

        // Nothing gets past the last step (every ReLU unit off): 0, and the gradient is cut (not underflowed) at d = 1.
        var cut = new GradientProfile([0, 0, 3], [], 0.69);
        Assert.Equal(0, cut.FactorPerStep(out _));
        Assert.Equal(1, cut.CutAt());

        // Exactly 0 after a value near float32's smallest is underflow, not a cut.
        Assert.Null(new GradientProfile([0, 1e-44, 1e-22, 1], [], 0.69).CutAt());
    }
}
