// Legend: T time steps, B batch, E embedding size, H hidden size, D directions, C classes, N rows (T*B or B).
// tokens: [T, B] -> x: [T, B, E] -> stack output: [T, B, D*H] -> features: [N, D*H] -> logits: [N, C]
using FastRnn.Layers;

namespace FastRnn.Training;

/// <summary>Which steps a <see cref="SequenceModel"/> classifies.</summary>
public enum SequenceOutput
{
    /// <summary>Many-to-many: a prediction at every valid step (e.g. a language model); targets <c>[T, B]</c>.</summary>
    EveryStep,

    /// <summary>Many-to-one: one prediction per sequence from its final features (<see cref="SequencePooling"/>); targets <c>[B]</c>.</summary>
    LastStep,
}

/// <summary>The shape of a <see cref="SequenceModel"/>.</summary>
/// <param name="VocabularySize">V: token ids are in 0..V-1.</param>
/// <param name="EmbeddingSize">E: the embedding width, the stack's input size.</param>
/// <param name="Cell">The recurrent cell.</param>
/// <param name="HiddenSize">H per direction.</param>
/// <param name="ClassCount">C: the head's outputs (V for a language model).</param>
/// <param name="LayerCount">L.</param>
/// <param name="Bidirectional">Whether each layer runs both directions.</param>
/// <param name="Output">Many-to-many or many-to-one.</param>
/// <param name="Nonlinearity">The Elman nonlinearity.</param>
/// <param name="Dropout">Dropout between recurrent layers during training.</param>
/// <param name="Seed">Seed of every initialization and of the dropout masks.</param>
public sealed record SequenceModelOptions(
    int VocabularySize, int EmbeddingSize, CellKind Cell, int HiddenSize, int ClassCount, int LayerCount = 1, bool Bidirectional = false,
    SequenceOutput Output = SequenceOutput.EveryStep, Nonlinearity Nonlinearity = Nonlinearity.Tanh, float Dropout = 0f, int Seed = 0);

/// <summary>
/// A token classifier built from FastRnn's pieces: <see cref="Embedding"/> -&gt; <see cref="RecurrentStack"/> -&gt;
/// <see cref="LinearHead"/> -&gt; softmax cross-entropy (mean over counted targets), with every parameter in one
/// <see cref="ParameterStore"/> under PyTorch-style names (<c>embedding.weight</c>, <c>rnn.weight_ih_l0</c>, ...,
/// <c>head.weight</c>, <c>head.bias</c>).
/// </summary>
/// <remarks>
/// <see cref="Forward"/> computes the loss and its gradient with respect to the logits; <see cref="Backward"/> then
/// accumulates every parameter gradient. Together with an optimizer and clipping, a training step allocates nothing
/// once the workspace exists.
/// </remarks>
public sealed class SequenceModel
{
    /// <summary>The target value that does not count (PyTorch's default <c>ignore_index</c>).</summary>
    public const int IgnoreIndex = -100;

    /// <summary>Builds the model with freshly initialized parameters.</summary>
    /// <param name="options">The shape.</param>
    public SequenceModel(SequenceModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Store = new ParameterStore();
        var seeds = new SplitMix64((ulong)(uint)options.Seed);
        Embedding = new Embedding(Store, options.VocabularySize, options.EmbeddingSize, seed: (int)(uint)seeds.Next());
        Stack = new RecurrentStack(
            Store, options.Cell, options.EmbeddingSize, options.HiddenSize, options.LayerCount, options.Bidirectional,
            options.Nonlinearity, options.Dropout, (int)(uint)seeds.Next(), namePrefix: "rnn.");
        Head = new LinearHead(Store, Stack.OutputSize, options.ClassCount, seed: (int)(uint)seeds.Next());
    }

    /// <summary>The shape.</summary>
    public SequenceModelOptions Options { get; }

    /// <summary>Every parameter and gradient.</summary>
    public ParameterStore Store { get; }

    /// <summary>The token embedding.</summary>
    public Embedding Embedding { get; }

    /// <summary>The recurrent layers.</summary>
    public RecurrentStack Stack { get; }

    /// <summary>The output layer.</summary>
    public LinearHead Head { get; }

    /// <summary>Creates a workspace for batches of up to <paramref name="maxSequenceLength"/> x <paramref name="maxBatchSize"/> tokens.</summary>
    /// <param name="maxSequenceLength">The largest T.</param>
    /// <param name="maxBatchSize">The largest B.</param>
    /// <param name="pool">Worker threads the recurrent layers run on, or <see langword="null"/> for the calling thread alone
    /// (see <see cref="Layers.RecurrentWorkspace.Pool"/>).</param>
    public SequenceModelWorkspace CreateWorkspace(int maxSequenceLength, int maxBatchSize, Threading.WorkerPool? pool = null) =>
        new(this, maxSequenceLength, maxBatchSize, pool);

    /// <summary>Runs the model and the loss, and keeps what <see cref="Backward"/> needs.</summary>
    /// <param name="tokens">[T, B] token ids, time-major; ids past a sequence's length are not read.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="targets">[T, B] (<see cref="SequenceOutput.EveryStep"/>) or [B] (<see cref="SequenceOutput.LastStep"/>) classes,
    /// or <see cref="IgnoreIndex"/>.</param>
    /// <param name="workspace">A workspace of this model.</param>
    /// <param name="lengths">[B], or empty for all T.</param>
    /// <param name="training">Whether dropout applies.</param>
    /// <returns>The mean cross-entropy over counted targets (0 when none counts).</returns>
    public float Forward(
        ReadOnlySpan<int> tokens, int sequenceLength, int batchSize, ReadOnlySpan<int> targets, SequenceModelWorkspace workspace,
        ReadOnlySpan<int> lengths = default, bool training = true)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (!ReferenceEquals(workspace.Owner, this))
        {
            ThrowHelper.ThrowArgument(nameof(workspace), "the workspace was created by another model");
        }

        int T = sequenceLength, B = batchSize;
        ThrowHelper.ThrowIfNegative(sequenceLength);
        ThrowHelper.ThrowIfNegative(batchSize);
        if (T > workspace.MaxSequenceLength || B > workspace.MaxBatchSize)
        {
            ThrowHelper.ThrowOutOfRange(nameof(sequenceLength), $"[T={T}, B={B}] exceeds the workspace's [{workspace.MaxSequenceLength}, {workspace.MaxBatchSize}]");
        }

        bool lastStep = Options.Output == SequenceOutput.LastStep;
        int rows = lastStep ? B : T * B;
        ThrowHelper.ThrowIfLengthMismatch(tokens, nameof(tokens), new Dims("T", T, "B", B));
        ThrowHelper.ThrowIfLengthMismatch(targets, nameof(targets), lastStep ? new Dims("B", B) : new Dims("T", T, "B", B));
        Span<bool> tokenMask = workspace.TokenMask.AsSpan(0, T * B);
        SequenceMask.FromLengths(lengths, T, B, tokenMask); // validates lengths
        Span<bool> rowMask = workspace.RowMask.AsSpan(0, rows);
        if (lastStep)
        {
            for (int b = 0; b < B; b++)
            {
                rowMask[b] = lengths.IsEmpty ? T > 0 : lengths[b] > 0;
            }
        }
        else
        {
            tokenMask.CopyTo(rowMask);
        }

        // Validate every id and target before anything is written.
        int classes = Options.ClassCount, vocabulary = Options.VocabularySize;
        for (int n = 0; n < tokens.Length; n++)
        {
            if (tokenMask[n] && (uint)tokens[n] >= (uint)vocabulary)
            {
                ThrowHelper.ThrowOutOfRange(nameof(tokens), $"tokens[{n}] must be in 0..{vocabulary - 1}, was {tokens[n]}");
            }
        }

        for (int r = 0; r < rows; r++)
        {
            if (rowMask[r] && targets[r] != IgnoreIndex && (uint)targets[r] >= (uint)classes)
            {
                ThrowHelper.ThrowOutOfRange(nameof(targets), $"targets[{r}] must be in 0..{classes - 1} or {IgnoreIndex}, was {targets[r]}");
            }
        }

        int E = Options.EmbeddingSize, DH = Stack.OutputSize;
        workspace.SequenceLength = T;
        workspace.BatchSize = B;
        tokens.CopyTo(workspace.Tokens);
        lengths.CopyTo(workspace.Lengths);
        workspace.HasLengths = !lengths.IsEmpty;
        Span<float> x = workspace.X.AsSpan(0, T * B * E);
        Span<float> output = workspace.Output.AsSpan(0, T * B * DH);
        Span<float> features = lastStep ? workspace.Features.AsSpan(0, B * DH) : output;
        Span<float> logits = workspace.LogitsBuffer.AsSpan(0, rows * classes);
        Embedding.Forward(tokens, x, tokenMask);
        Stack.Forward(x, T, B, output, workspace.Stack, lengths, training: training);
        if (lastStep)
        {
            SequencePooling.LastValidStep(output, T, B, Stack.DirectionCount, lengths, features);
        }

        Head.Forward(features, rows, logits);
        workspace.HasForward = true;
        return Losses.SoftmaxCrossEntropy(logits, targets, classes, workspace.LogitsGradient.AsSpan(0, rows * classes), LossReduction.Mean, IgnoreIndex, rowMask);
    }

    /// <summary>Accumulates every parameter gradient of the loss of the last <see cref="Forward"/> on <paramref name="workspace"/>.</summary>
    /// <param name="workspace">The workspace of that forward call.</param>
    public void Backward(SequenceModelWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (!ReferenceEquals(workspace.Owner, this) || !workspace.HasForward)
        {
            ThrowHelper.ThrowArgument(nameof(workspace), "the workspace holds no forward pass of this model");
        }

        int T = workspace.SequenceLength, B = workspace.BatchSize, E = Options.EmbeddingSize, DH = Stack.OutputSize;
        bool lastStep = Options.Output == SequenceOutput.LastStep;
        int rows = lastStep ? B : T * B;
        ReadOnlySpan<int> lengths = workspace.HasLengths ? workspace.Lengths.AsSpan(0, B) : default;
        Span<float> output = workspace.Output.AsSpan(0, T * B * DH);
        Span<float> dOutput = workspace.OutputGradient.AsSpan(0, T * B * DH);
        ReadOnlySpan<float> x = workspace.X.AsSpan(0, T * B * E);
        Span<float> dx = workspace.InputGradient.AsSpan(0, T * B * E);
        if (lastStep)
        {
            Span<float> dFeatures = workspace.FeaturesGradient.AsSpan(0, B * DH);
            Head.Backward(workspace.Features.AsSpan(0, B * DH), workspace.LogitsGradient.AsSpan(0, rows * Options.ClassCount), rows, dFeatures);
            SequencePooling.LastValidStepBackward(dFeatures, T, B, Stack.DirectionCount, lengths, dOutput);
        }
        else
        {
            Head.Backward(output, workspace.LogitsGradient.AsSpan(0, rows * Options.ClassCount), rows, dOutput);
        }

        Stack.Backward(x, output, dOutput, workspace.Stack, dx);
        Embedding.Backward(workspace.Tokens.AsSpan(0, T * B), dx, workspace.TokenMask.AsSpan(0, T * B));
        workspace.HasForward = false;
    }
}
