// `fastrnn train` and `fastrnn sample` end to end on a tiny text: checkpoint contents, resume equality (bit for bit),
// sampling with the carried state, and the vocabulary's round trip through the checkpoint.
using System.Globalization;
using System.Text;
using FastRnn.Cli.CharModel;
using FastRnn.IO;
using FastRnn.Training;

namespace FastRnn.Cli.Tests;

public class TrainSampleCommandTests
{
    [Fact]
    public void Train_writes_a_checkpoint_and_a_loss_log_then_sample_generates_only_vocabulary_characters()
    {
        using var temp = new TempDirectory();
        string text = temp.File("tiny.txt", CharModelTestFiles.TinyText);
        CliRun train = CharModelTestFiles.Train(text, temp.Path, "--steps", "20", "--sample-length", "30");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Equal("", train.Stderr);
        Assert.Contains("final loss", train.Stdout, StringComparison.Ordinal);
        Assert.Contains("at step 20", train.Stdout, StringComparison.Ordinal);
        Assert.Contains("sample (temperature 0.8, 30 characters):", train.Stdout, StringComparison.Ordinal);

        string checkpoint = Path.Combine(temp.Path, CharCheckpoint.FileName);
        SafetensorsFile file = SafetensorsFile.Read(checkpoint);
        var vocabulary = CharVocabulary.FromText(CharModelTestFiles.TinyText);
        Assert.Equal(vocabulary.Text, file.Metadata["vocabulary"]);
        Assert.Contains(new Rune(0x1F600), Runes(file.Metadata["vocabulary"]));
        Assert.Equal("lstm", file.Metadata["cell"]);
        Assert.Equal("20", file.Metadata["step"]);
        Assert.Equal(20, file.ReadInt64("optim.step")[0]);
        int V = vocabulary.Count, H = 8, E = 4;
        Assert.Equal([V, E], file.GetInfo("embedding.weight").Shape.ToArray());
        Assert.Equal([4 * H, E], file.GetInfo("rnn.weight_ih_l0").Shape.ToArray());
        Assert.Equal([V, H], file.GetInfo("head.weight").Shape.ToArray());
        int parameters = (V * E) + (4 * H * (E + H + 2)) + (V * H) + V;
        Assert.Equal([parameters], file.GetInfo("optim.exp_avg").Shape.ToArray());
        Assert.Equal([parameters], file.GetInfo("optim.exp_avg_sq").Shape.ToArray());
        Assert.False(File.Exists(checkpoint + ".tmp"));

        string[] log = File.ReadAllLines(Path.Combine(temp.Path, "loss.tsv"));
        Assert.Equal("step\tloss", log[0]);
        Assert.Equal(21, log.Length);
        Assert.Equal("20", log[20].Split('\t')[0]);
        Assert.All(log[1..], line => Assert.True(double.Parse(line.Split('\t')[1], CultureInfo.InvariantCulture) is > 0 and < 10, line));

        // The prompt, then exactly --length characters, every one from the vocabulary.
        CliRun sample = CliHarness.Run("sample", "--model", checkpoint, "--prompt", "the c", "--length", "37", "--temperature", "1.5");
        Assert.True(sample.ExitCode == 0, sample.Stderr);
        Assert.Equal("", sample.Stderr);
        Assert.EndsWith("\n", sample.Stdout, StringComparison.Ordinal);
        string output = sample.Stdout[..^Environment.NewLine.Length];
        Assert.StartsWith("the c", output, StringComparison.Ordinal);
        Rune[] generated = Runes(output[5..]);
        Assert.Equal(37, generated.Length);
        Assert.All(generated, rune => Assert.True(vocabulary.Contains(rune), $"'{rune}' is not in the vocabulary"));
    }

    [Fact]
    public void Sample_is_reproducible_and_temperature_zero_ignores_the_seed()
    {
        using var temp = new TempDirectory();
        Assert.Equal(0, CharModelTestFiles.Train(temp.File("tiny.txt", CharModelTestFiles.TinyText), temp.Path, "--steps", "10").ExitCode);
        string checkpoint = Path.Combine(temp.Path, CharCheckpoint.FileName);
        string Sample(string seed, string temperature)
        {
            CliRun run = CliHarness.Run("sample", "--model", checkpoint, "--length", "60", "--seed", seed, "--temperature", temperature);
            Assert.True(run.ExitCode == 0, run.Stderr);
            return run.Stdout;
        }

        Assert.Equal(Sample("1", "1"), Sample("1", "1"));
        Assert.NotEqual(Sample("1", "1"), Sample("2", "1"));
        Assert.Equal(Sample("1", "0"), Sample("2", "0"));
    }

    [Theory]
    [InlineData("lstm", 2, "0.25")]
    [InlineData("gru", 1, "0")]
    [InlineData("elman-relu", 1, "0")]
    public void Resumed_training_equals_uninterrupted_training_bit_for_bit(string cell, int layers, string dropout)
    {
        using var whole = new TempDirectory();
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        string text = whole.File("tiny.txt", CharModelTestFiles.TinyText);
        string[] model = ["--cell", cell, "--layers", layers.ToString(CultureInfo.InvariantCulture), "--dropout", dropout, "--seed", "7"];

        Assert.Equal(0, CharModelTestFiles.Train(text, whole.Path, ["--steps", "20", .. model]).ExitCode);
        Assert.Equal(0, CharModelTestFiles.Train(text, first.Path, ["--steps", "12", .. model]).ExitCode);
        CliRun resumed = CliHarness.Run("train", "--resume", Path.Combine(first.Path, CharCheckpoint.FileName), "--text", text,
            "--steps", "8", "--out", second.Path, "--sample-length", "0");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resuming", resumed.Stdout, StringComparison.Ordinal);
        Assert.Contains("at step 20", resumed.Stdout, StringComparison.Ordinal);

        SafetensorsFile expected = SafetensorsFile.Read(Path.Combine(whole.Path, CharCheckpoint.FileName));
        SafetensorsFile actual = SafetensorsFile.Read(Path.Combine(second.Path, CharCheckpoint.FileName));
        Assert.Equal(expected.Names, actual.Names);
        foreach (string name in expected.Names)
        {
            Assert.True(expected.GetBytes(name).SequenceEqual(actual.GetBytes(name)), $"tensor {name} differs after resuming");
        }

        Assert.Equal(expected.Metadata.OrderBy(p => p.Key), actual.Metadata.OrderBy(p => p.Key));
        // The log of the resumed run continues the step numbers.
        Assert.Equal("13", File.ReadAllLines(Path.Combine(second.Path, "loss.tsv"))[1].Split('\t')[0]);
    }

    [Fact]
    public void Stepping_the_sampler_equals_the_whole_sequence_pass()
    {
        // A 2-layer LSTM: both h and c must be carried between the T = 1 calls.
        var vocabulary = CharVocabulary.FromText(CharModelTestFiles.TinyText);
        var config = new CharModelConfig(new CellChoice(FastRnn.Layers.CellKind.Lstm, Nonlinearity.Tanh), 2, 6, 5, 0f, 3);
        SequenceModel model = config.Build(vocabulary);
        int[] prompt = vocabulary.Encode("the cat sat on", "prompt", dropUnknown: false, out _);
        var sampler = new CharSampler(model);
        foreach (int token in prompt)
        {
            sampler.Feed(token);
        }

        int T = prompt.Length, V = vocabulary.Count;
        SequenceModelWorkspace workspace = model.CreateWorkspace(T, 1);
        model.Forward(prompt, T, 1, new int[T], workspace, training: false);
        ReadOnlySpan<float> whole = workspace.Logits.Slice((T - 1) * V, V);
        for (int v = 0; v < V; v++)
        {
            Assert.True(Math.Abs(whole[v] - sampler.Logits[v]) <= 1e-5f * Math.Max(1, Math.Abs(whole[v])), $"logit {v}: stepped {sampler.Logits[v]}, whole {whole[v]}");
        }
    }

    [Fact]
    public void Temperature_zero_takes_the_most_likely_character()
    {
        var vocabulary = CharVocabulary.FromText(CharModelTestFiles.TinyText);
        SequenceModel model = new CharModelConfig(new CellChoice(FastRnn.Layers.CellKind.Gru, Nonlinearity.Tanh), 1, 7, 3, 0f, 5).Build(vocabulary);
        var sampler = new CharSampler(model);
        var random = new SplitMix64(1);
        foreach (int token in vocabulary.Encode("the dog", "prompt", dropUnknown: false, out _))
        {
            sampler.Feed(token);
            int best = 0;
            for (int v = 1; v < vocabulary.Count; v++)
            {
                best = sampler.Logits[v] > sampler.Logits[best] ? v : best;
            }

            Assert.Equal(best, sampler.Next(0, ref random));
        }
    }

    [Fact]
    public void Vocabulary_keeps_characters_outside_the_bmp_whole_and_rejects_a_bad_stored_one()
    {
        var vocabulary = CharVocabulary.FromText("b\U0001F600a\nb");
        Assert.Equal(4, vocabulary.Count);
        Assert.Equal("\nab\U0001F600", vocabulary.Text);
        Assert.Equal(vocabulary.Text, CharVocabulary.Parse(vocabulary.Text).Text);
        Assert.Contains("ascending order", Assert.Throws<InvalidDataException>(() => CharVocabulary.Parse("ba")).Message, StringComparison.Ordinal);
        Assert.Contains("ascending order", Assert.Throws<InvalidDataException>(() => CharVocabulary.Parse("aa")).Message, StringComparison.Ordinal);
        Assert.Contains("unpaired surrogate", Assert.Throws<InvalidDataException>(() => CharVocabulary.FromText("a\ud800")).Message, StringComparison.Ordinal);
        Assert.Contains("'\\n'", Assert.Throws<ArgumentException>(() => CharVocabulary.FromText("ab").Encode("a\nb", "--prompt", false, out _)).Message, StringComparison.Ordinal);
    }

    private static Rune[] Runes(string text) => [.. text.EnumerateRunes()];
}
