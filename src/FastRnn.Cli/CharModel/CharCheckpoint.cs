// A `fastrnn train` checkpoint: one safetensors file holding
//   - every model parameter under its store name (embedding.weight, rnn.weight_ih_l0, ..., head.weight, head.bias), F32,
//     so PyTorch (and `fastrnn run`, prefix "rnn.") can read the recurrent part as a state dict;
//   - the optimizer: optim.<state> (Adam's exp_avg, exp_avg_sq), F32 [P] in the parameter buffer's layout, and
//     optim.step, I64 scalar;
//   - __metadata__: the architecture (cell, nonlinearity, layers, hidden, embedding, dropout, seed), the vocabulary (the
//     characters as one string; the header's JSON escapes it), the training settings (lr, clip, seq_len, batch), the
//     step, and the two generator states a run consumes (data_rng: the batch windows; dropout_rng: the stack's masks),
//     so a resumed run continues bit for bit; and text_sha256, to tell when a resumed run reads another text.
// Reading validates the metadata and, when the model is built, every tensor's shape, before anything is used.
using System.Globalization;
using FastRnn.IO;
using FastRnn.Training;
using LayerCell = FastRnn.Layers.CellKind;

namespace FastRnn.Cli.CharModel;

/// <summary>A character model's checkpoint, read and validated.</summary>
public sealed class CharCheckpoint
{
    /// <summary>The file name `train` writes in --out.</summary>
    public const string FileName = "model.safetensors";

    /// <summary>The metadata value of <c>kind</c> that marks a `fastrnn train` checkpoint.</summary>
    public const string Kind = "fastrnn-char-lm";

    /// <summary>Prefix of the optimizer's tensors.</summary>
    public const string OptimizerPrefix = "optim.";

    private const string StepTensor = OptimizerPrefix + "step";

    private readonly SafetensorsFile _file;

    private CharCheckpoint(
        SafetensorsFile file, string path, CharModelConfig config, CharVocabulary vocabulary, TrainSettings settings, long step, ulong dataState, ulong dropoutState,
        string? textHash)
    {
        TextHash = textHash;
        _file = file;
        Path = path;
        Config = config;
        Vocabulary = vocabulary;
        Settings = settings;
        Step = step;
        DataGeneratorState = dataState;
        DropoutGeneratorState = dropoutState;
    }

    /// <summary>Where it was read from.</summary>
    public string Path { get; }

    /// <summary>The architecture.</summary>
    public CharModelConfig Config { get; }

    /// <summary>The characters.</summary>
    public CharVocabulary Vocabulary { get; }

    /// <summary>The training settings of the run that wrote it.</summary>
    public TrainSettings Settings { get; }

    /// <summary>Training steps taken.</summary>
    public long Step { get; }

    /// <summary>State of the generator that picks the batch windows.</summary>
    public ulong DataGeneratorState { get; }

    /// <summary>State of the stack's dropout generator.</summary>
    public ulong DropoutGeneratorState { get; }

    /// <summary>SHA-256 of the training text (UTF-8, hex), or null when the file does not say.</summary>
    public string? TextHash { get; }

    /// <summary>The hash stored as <c>text_sha256</c>: SHA-256 of the text's UTF-8 bytes, lowercase hex.</summary>
    public static string HashText(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>Writes a checkpoint to <paramref name="path"/> (to a temporary file first, then moved over the old one).</summary>
    public static void Write(
        string path, CharModelConfig config, CharVocabulary vocabulary, TrainSettings settings, SequenceModel model, Optimizer optimizer, ulong dataState,
        string textHash)
    {
        ArgumentNullException.ThrowIfNull(textHash);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        var writer = new SafetensorsWriter()
            .AddMetadata("format", "pt")
            .AddMetadata("producer", "FastRnn")
            .AddMetadata("kind", Kind)
            .AddMetadata("cell", CellName(config.Cell.Cell))
            .AddMetadata(RecurrentStackFiles.NonlinearityKey, RecurrentStackFiles.MetadataName(config.Cell.Nonlinearity))
            .AddMetadata("layers", Text(config.LayerCount))
            .AddMetadata("hidden", Text(config.HiddenSize))
            .AddMetadata("embedding", Text(config.EmbeddingSize))
            .AddMetadata("dropout", config.Dropout.ToString("R", CultureInfo.InvariantCulture))
            .AddMetadata("seed", Text(config.Seed))
            .AddMetadata("vocabulary", vocabulary.Text)
            .AddMetadata("lr", settings.LearningRate.ToString("R", CultureInfo.InvariantCulture))
            .AddMetadata("clip", settings.Clip.ToString("R", CultureInfo.InvariantCulture))
            .AddMetadata("seq_len", Text(settings.SequenceLength))
            .AddMetadata("batch", Text(settings.BatchSize))
            .AddMetadata("optimizer", "adam")
            .AddMetadata("step", Text(optimizer.StepCount))
            .AddMetadata("data_rng", Hex(dataState))
            .AddMetadata("dropout_rng", Hex(model.Stack.DropoutGeneratorState))
            .AddMetadata("text_sha256", textHash)
            .AddParameters(model.Store);
        foreach (OptimizerStateBuffer buffer in optimizer.State)
        {
            writer.AddFloat32(OptimizerPrefix + buffer.Name, [buffer.Values.Length], buffer.Values.Span);
        }

        writer.AddInt64(StepTensor, [], [optimizer.StepCount]);
        writer.WriteTo(path);
    }

    /// <summary>Reads and validates the metadata of the checkpoint at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">Not a safetensors file, not a `fastrnn train` checkpoint, or a metadata value is missing or malformed.</exception>
    public static CharCheckpoint Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        SafetensorsFile file = SafetensorsFile.Read(path);
        try
        {
            return Parse(file, path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Builds the model the checkpoint describes and loads its parameters and dropout generator state.</summary>
    /// <exception cref="InvalidDataException">A parameter is missing or has another shape than the metadata implies.</exception>
    public SequenceModel CreateModel()
    {
        SequenceModel model = Config.Build(Vocabulary);
        try
        {
            Safetensors.LoadInto(model.Store, _file, new SafetensorsLoadOptions { RejectUnexpectedTensors = true, IgnoredPrefixes = [OptimizerPrefix] });
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{Path}: {e.Message}", e);
        }

        model.Stack.DropoutGeneratorState = DropoutGeneratorState;
        return model;
    }

    /// <summary>Restores <paramref name="optimizer"/>'s step count and state buffers (<c>optim.*</c>).</summary>
    /// <exception cref="InvalidDataException">A buffer is missing, of another length, or the step disagrees with the metadata.</exception>
    public void LoadOptimizer(Optimizer optimizer, int parameterCount)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!_file.TryGetInfo(StepTensor, out SafetensorsTensorInfo? stepInfo) || stepInfo.ElementCount != 1
            || stepInfo.DType is not (SafetensorsDType.I64 or SafetensorsDType.I32))
        {
            throw new InvalidDataException($"{Path}: expected an integer scalar '{StepTensor}' (the optimizer's step count)");
        }

        long step = _file.ReadInt64(StepTensor)[0];
        if (step != Step)
        {
            throw new InvalidDataException($"{Path}: {StepTensor} is {step} but the metadata says step {Step}");
        }

        var buffers = new List<OptimizerStateBuffer>();
        foreach (string name in optimizer.StateNames)
        {
            string key = OptimizerPrefix + name;
            if (!_file.TryGetInfo(key, out SafetensorsTensorInfo? info))
            {
                throw new InvalidDataException($"{Path}: missing optimizer tensor '{key}'");
            }

            if (info.DType != SafetensorsDType.F32 || info.Shape.Length != 1 || info.Shape[0] != parameterCount)
            {
                throw new InvalidDataException($"{Path}: optimizer tensor is {info}, expected F32[{parameterCount}] (one value per parameter)");
            }

            buffers.Add(new OptimizerStateBuffer(name, _file.ReadFloat32(key)));
        }

        optimizer.LoadState(step, buffers);
    }

    private static CharCheckpoint Parse(SafetensorsFile file, string path)
    {
        IReadOnlyDictionary<string, string> metadata = file.Metadata;
        if (!metadata.TryGetValue("kind", out string? kind) || kind != Kind)
        {
            throw new InvalidDataException($"not a `fastrnn train` checkpoint (metadata 'kind' is {(kind is null ? "missing" : $"'{kind}'")}, expected '{Kind}')");
        }

        string cellName = Required(metadata, "cell");
        LayerCell cell = cellName switch
        {
            "lstm" => LayerCell.Lstm,
            "gru" => LayerCell.Gru,
            "elman" => LayerCell.Elman,
            _ => throw new InvalidDataException($"metadata 'cell' is '{cellName}', expected lstm, gru or elman"),
        };
        string nonlinearityName = Required(metadata, RecurrentStackFiles.NonlinearityKey);
        Nonlinearity nonlinearity = nonlinearityName switch
        {
            "tanh" => Nonlinearity.Tanh,
            "relu" => Nonlinearity.Relu,
            "sigmoid" => Nonlinearity.Sigmoid,
            _ => throw new InvalidDataException($"metadata '{RecurrentStackFiles.NonlinearityKey}' is '{nonlinearityName}', expected tanh, relu or sigmoid"),
        };
        var config = new CharModelConfig(
            new CellChoice(cell, cell == LayerCell.Elman ? nonlinearity : Nonlinearity.Tanh),
            PositiveInt(metadata, "layers"), PositiveInt(metadata, "hidden"), PositiveInt(metadata, "embedding"),
            (float)Number(metadata, "dropout", 0, 1, upperInclusive: false), (int)Int(metadata, "seed", int.MinValue, int.MaxValue));
        CharVocabulary vocabulary = CharVocabulary.Parse(Required(metadata, "vocabulary"));
        var settings = new TrainSettings(
            Number(metadata, "lr", 0, double.MaxValue, upperInclusive: true), Number(metadata, "clip", 0, double.MaxValue, upperInclusive: true),
            PositiveInt(metadata, "seq_len"), PositiveInt(metadata, "batch"));
        string optimizer = Required(metadata, "optimizer");
        if (optimizer != "adam")
        {
            throw new InvalidDataException($"metadata 'optimizer' is '{optimizer}', expected 'adam'");
        }

        long step = Int(metadata, "step", 0);
        return new CharCheckpoint(file, path, config, vocabulary, settings, step, HexValue(metadata, "data_rng"), HexValue(metadata, "dropout_rng"),
            metadata.GetValueOrDefault("text_sha256"));
    }

    private static string CellName(LayerCell cell) => cell switch
    {
        LayerCell.Lstm => "lstm",
        LayerCell.Gru => "gru",
        _ => "elman",
    };

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Hex(ulong value) => value.ToString("x16", CultureInfo.InvariantCulture);

    private static string Required(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out string? value) ? value : throw new InvalidDataException($"metadata '{key}' is missing");

    private static int PositiveInt(IReadOnlyDictionary<string, string> metadata, string key) => (int)Int(metadata, key, 1, int.MaxValue);

    private static long Int(IReadOnlyDictionary<string, string> metadata, string key, long minimum, long maximum = long.MaxValue)
    {
        string text = Required(metadata, key);
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) || value < minimum || value > maximum)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"metadata '{key}' is '{text}', expected an integer in {minimum}..{maximum}"));
        }

        return value;
    }

    private static double Number(IReadOnlyDictionary<string, string> metadata, string key, double minimum, double maximum, bool upperInclusive)
    {
        string text = Required(metadata, key);
        bool ok = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            && value >= minimum && (upperInclusive ? value <= maximum : value < maximum);
        return ok ? value : throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"metadata '{key}' is '{text}', expected a number in [{minimum}, {maximum}{(upperInclusive ? "]" : ")")}"));
    }

    private static ulong HexValue(IReadOnlyDictionary<string, string> metadata, string key)
    {
        string text = Required(metadata, key);
        return ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            ? value
            : throw new InvalidDataException($"metadata '{key}' is '{text}', expected 16 hexadecimal digits");
    }
}
