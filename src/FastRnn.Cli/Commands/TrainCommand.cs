// Legend: T time steps (--seq-len), B batch, E embedding size, H hidden size, L layers, V vocabulary size.
// `fastrnn train`: a character-level language model (embedding -> recurrent stack -> head, next character at every
// step) trained with Adam on random windows of a text; checkpoints in --out, resumable bit for bit.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using FastRnn.Cli.CharModel;
using FastRnn.Cli.Output;
using FastRnn.Threading;
using FastRnn.Training;
using Spectre.Console;
using LayerCell = FastRnn.Layers.CellKind;

namespace FastRnn.Cli.Commands;

/// <summary>Trains a character-level language model and writes a resumable checkpoint.</summary>
internal sealed class TrainCommand() : CliCommand("train", "Train a character-level language model on a text; checkpoint in --out/model.safetensors")
{
    private const double SampleTemperature = 0.8;

    private readonly Option<FileInfo?> _text = ModelOptions.ExistingFile("--text", "Training text (default: the repository's README.md, else a built-in text)");
    private readonly Option<CellChoice> _cell = CellChoice.Option("--cell", new CellChoice(LayerCell.Lstm, Nonlinearity.Tanh), "Recurrent cell");
    private readonly Option<int> _layers = CliOptions.Int("--layers", 1, "Recurrent layers L");
    private readonly Option<int> _hidden = CliOptions.Int("--hidden", 128, "Hidden size H");
    private readonly Option<int> _embedding = CliOptions.Int("--embedding", 32, "Embedding size E");
    private readonly Option<int> _sequenceLength = CliOptions.Int("--seq-len", 64, "Characters per training window T (BPTT length)");
    private readonly Option<int> _batch = CliOptions.Int("--batch", 16, "Windows per step B");
    private readonly Option<int> _steps = CliOptions.Int("--steps", 1000, "Training steps to run (with --resume: further steps)");
    private readonly Option<double> _learningRate = CliOptions.Double("--lr", 2e-3, "Adam learning rate");
    private readonly Option<double> _clip = ModelOptions.NonNegativeDouble("--clip", 1.0, "Clip the global gradient norm to this (0: no clipping)");
    private readonly Option<double> _dropout = ModelOptions.Fraction("--dropout", 0, "Dropout between recurrent layers (needs --layers 2 or more)");
    private readonly Option<int> _checkpointEvery = CliOptions.Int("--checkpoint-every", 200, "Write the checkpoint every N steps, and at the end (0: only at the end)", minimum: 0);
    private readonly Option<FileInfo?> _resume = ModelOptions.ExistingFile("--resume", "Continue from this checkpoint (architecture, vocabulary, optimizer and generator states)");
    private readonly Option<int> _sampleLength = CliOptions.Int("--sample-length", 200, "Characters of the sample printed at the end (0: none)", minimum: 0);

    protected override IReadOnlyList<Symbol> Symbols =>
        [_text, _cell, _layers, _hidden, _embedding, _sequenceLength, _batch, _steps, _learningRate, _clip, _dropout, _checkpointEvery, _resume, _sampleLength];

    protected internal override int Execute(ParseResult parseResult, CommandContext context)
    {
        // Everything is read and validated before anything is written.
        FileInfo? resumeFile = parseResult.GetValue(_resume);
        CharCheckpoint? resume = resumeFile is null ? null : CharCheckpoint.Read(resumeFile.FullName);
        TrainingText text = TrainingText.Load(parseResult.GetValue(_text));
        int steps = parseResult.GetValue(_steps), checkpointEvery = parseResult.GetValue(_checkpointEvery);

        var warnings = new List<string>(); // printed once everything is validated
        CharModelConfig config;
        CharVocabulary vocabulary;
        TrainSettings settings;
        if (resume is null)
        {
            config = new CharModelConfig(
                parseResult.GetValue(_cell), parseResult.GetValue(_layers), parseResult.GetValue(_hidden), parseResult.GetValue(_embedding),
                (float)parseResult.GetValue(_dropout), context.Seed);
            vocabulary = CharVocabulary.FromText(text.Text);
            settings = new TrainSettings(
                parseResult.GetValue(_learningRate), parseResult.GetValue(_clip), parseResult.GetValue(_sequenceLength), parseResult.GetValue(_batch));
        }
        else
        {
            config = resume.Config;
            vocabulary = resume.Vocabulary;
            RequireSame(parseResult, _cell, config.Cell, resume, "cell");
            RequireSame(parseResult, _layers, config.LayerCount, resume, "layer count");
            RequireSame(parseResult, _hidden, config.HiddenSize, resume, "hidden size");
            RequireSame(parseResult, _embedding, config.EmbeddingSize, resume, "embedding size");
            if (ModelOptions.IsGiven(parseResult, _dropout) && (float)parseResult.GetValue(_dropout) != config.Dropout)
            {
                throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                    $"--dropout {parseResult.GetValue(_dropout)} does not match the checkpoint's dropout {config.Dropout} ({resume.Path}); leave --dropout out to continue with the checkpoint's"));
            }

            settings = new TrainSettings(
                Given(parseResult, _learningRate, resume.Settings.LearningRate), Given(parseResult, _clip, resume.Settings.Clip),
                Given(parseResult, _sequenceLength, resume.Settings.SequenceLength), Given(parseResult, _batch, resume.Settings.BatchSize));
            if (parseResult.GetResult("--seed") is OptionResult { Implicit: false } && context.Seed != config.Seed)
            {
                warnings.Add($"--seed {context.Seed} is ignored with --resume: the run continues the checkpoint's generators (seed {config.Seed})");
            }

            if (resume.TextHash is not null && resume.TextHash != CharCheckpoint.HashText(text.Text))
            {
                warnings.Add($"{text.Source} is not the text {resume.Path} was trained on; training continues on it");
            }
        }

        int T = settings.SequenceLength, B = settings.BatchSize;
        long floatsPerStep = (long)T * B * (config.EmbeddingSize + (8L * config.HiddenSize * config.LayerCount) + (2L * vocabulary.Count));
        if (floatsPerStep > Array.MaxLength)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"a step of T={T} x B={B} with H={config.HiddenSize}, L={config.LayerCount}, V={vocabulary.Count} needs more memory than arrays can hold; use smaller --seq-len, --batch or --hidden"));
        }

        if (config.Dropout > 0 && config.LayerCount == 1)
        {
            warnings.Add("--dropout applies between recurrent layers; with --layers 1 it does nothing");
        }

        int[] ids;
        try
        {
            ids = vocabulary.Encode(text.Text, text.Source, dropUnknown: false, out _);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--text: {e.Message}; a resumed model can only read the characters it was built with", e);
        }

        if (ids.Length < T + 1)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"--seq-len {T} needs a text of at least {T + 1} characters; {text.Source} has {ids.Length}"));
        }

        SequenceModel model = resume?.CreateModel() ?? config.Build(vocabulary);
        foreach (string warning in warnings)
        {
            context.Error.WriteLine($"{FastRnnCli.Name}: warning: {warning}");
        }

        var adam = new Adam(settings.LearningRate);
        if (resume is null)
        {
            adam.AllocateState(model.Store.Length);
        }
        else
        {
            resume.LoadOptimizer(adam, model.Store.Length);
        }

        var batcher = new CharBatcher(ids, T, B, resume?.DataGeneratorState ?? CharBatcher.InitialState(config.Seed));
        // --threads: the layers' passes split across a pool; results are bitwise the same for any thread count.
        using WorkerPool? pool = context.Threads > 1 ? new WorkerPool(context.Threads) : null;
        var trainer = new CharTrainer(model, adam, batcher, settings.Clip, pool);
        string textHash = CharCheckpoint.HashText(text.Text);
        long firstStep = adam.StepCount;

        IAnsiConsole console = context.Console;
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model: {config.Cell} L={config.LayerCount} H={config.HiddenSize} E={config.EmbeddingSize} V={vocabulary.Count}, {model.Store.Length:N0} parameters{(config.Dropout > 0 ? $", dropout {config.Dropout}" : "")}"));
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"text: {text.Source} ({ids.Length:N0} characters); Adam lr={settings.LearningRate}, clip={(settings.Clip > 0 ? settings.Clip.ToString(CultureInfo.InvariantCulture) : "off")}, T={T}, B={B}"));
        if (resume is not null)
        {
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resuming {resume.Path} at step {firstStep}"));
        }

        string checkpoint = context.OutputPath(CharCheckpoint.FileName);
        void Save() => CharCheckpoint.Write(checkpoint, config, vocabulary, settings, model, adam, batcher.GeneratorState, textHash);

        float[] losses = new float[steps];
        int done = StepProgress.Run(console, resume is null ? "train" : $"train (from step {firstStep})", steps, progress =>
        {
            for (int s = 1; s <= steps; s++)
            {
                float loss = trainer.Step();
                losses[s - 1] = loss;
                if (!float.IsFinite(loss))
                {
                    return s;
                }

                progress.Report(s, loss, (long)s * trainer.TokensPerStep);
                if (checkpointEvery > 0 && (firstStep + s) % checkpointEvery == 0 && s < steps)
                {
                    Save();
                }
            }

            return steps;
        });

        WriteLossLog(context.OutputPath("loss.tsv"), firstStep, losses.AsSpan(0, done));
        if (done < steps || !float.IsFinite(losses[steps - 1]))
        {
            // The update of the diverged step already went in; the last checkpoint written stays as it was.
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{FastRnnCli.Name}: error: the loss became {losses[done - 1]} at step {firstStep + done}; lower --lr or set --clip (the last checkpoint written is kept)"));
            return FastRnnCli.Failure;
        }

        Save();
        int tail = Math.Min(steps, 20);
        double recent = 0;
        for (int s = steps - tail; s < steps; s++)
        {
            recent += losses[s];
        }

        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"final loss {losses[steps - 1]:F4} nats/char at step {adam.StepCount} (mean of the last {tail} steps {recent / tail:F4})"));
        console.WriteLine($"wrote {checkpoint} and {context.OutputPath("loss.tsv")}");
        int sampleLength = parseResult.GetValue(_sampleLength);
        if (sampleLength > 0)
        {
            int[] sample = new CharSampler(model).Generate(CharSampler.DefaultPrompt(vocabulary), sampleLength, SampleTemperature, (ulong)(uint)config.Seed);
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sample (temperature {SampleTemperature}, {sampleLength} characters):"));
            console.Profile.Out.Writer.WriteLine(CharSampler.Decode(vocabulary, sample));
        }

        return FastRnnCli.Success;
    }

    private static void RequireSame<T>(ParseResult parseResult, Option<T> option, T stored, CharCheckpoint checkpoint, string what)
    {
        T given = parseResult.GetValue(option)!;
        if (ModelOptions.IsGiven(parseResult, option) && !EqualityComparer<T>.Default.Equals(given, stored))
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"{option.Name} {given} does not match the checkpoint's {what} {stored} ({checkpoint.Path}); leave {option.Name} out to continue with the checkpoint's"));
        }
    }

    private static T Given<T>(ParseResult parseResult, Option<T> option, T stored) =>
        ModelOptions.IsGiven(parseResult, option) ? parseResult.GetValue(option)! : stored;

    private static void WriteLossLog(string path, long firstStep, ReadOnlySpan<float> losses)
    {
        var table = new CliTable().AddColumn("step").AddColumn("loss");
        for (int s = 0; s < losses.Length; s++)
        {
            table.AddRow((firstStep + s + 1).ToString(CultureInfo.InvariantCulture), losses[s].ToString("R", CultureInfo.InvariantCulture));
        }

        table.WriteTsv(path);
    }
}
