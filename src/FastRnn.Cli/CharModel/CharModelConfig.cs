// The shape of a character-level language model and the settings of its training, as `train` takes them from the
// command line and a checkpoint stores them.
using FastRnn.Training;

namespace FastRnn.Cli.CharModel;

/// <summary>The architecture of a character model (its vocabulary aside).</summary>
/// <param name="Cell">Cell and Elman nonlinearity.</param>
/// <param name="LayerCount">L.</param>
/// <param name="HiddenSize">H.</param>
/// <param name="EmbeddingSize">E.</param>
/// <param name="Dropout">Dropout between recurrent layers while training.</param>
/// <param name="Seed">Seed of the initialization and of the dropout masks.</param>
public sealed record CharModelConfig(CellChoice Cell, int LayerCount, int HiddenSize, int EmbeddingSize, float Dropout, int Seed)
{
    /// <summary>The model over <paramref name="vocabulary"/>: embedding, unidirectional stack, head predicting the next character at every step.</summary>
    public SequenceModel Build(CharVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return new SequenceModel(new SequenceModelOptions(
            vocabulary.Count, EmbeddingSize, Cell.Cell, HiddenSize, vocabulary.Count, LayerCount, Bidirectional: false,
            SequenceOutput.EveryStep, Cell.Nonlinearity, Dropout, Seed));
    }
}

/// <summary>The optimizer and batch settings of a training run (Adam with PyTorch's defaults besides the rate).</summary>
/// <param name="LearningRate">Adam's step size.</param>
/// <param name="Clip">Largest global gradient norm; 0 turns clipping off.</param>
/// <param name="SequenceLength">T: characters per window.</param>
/// <param name="BatchSize">B: windows per step.</param>
public sealed record TrainSettings(double LearningRate, double Clip, int SequenceLength, int BatchSize);
