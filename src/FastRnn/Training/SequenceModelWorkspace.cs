// Legend: T time steps, B batch, E embedding size, D directions, H hidden size, C classes, N rows (T*B or B).
using FastRnn.Layers;

namespace FastRnn.Training;

/// <summary>Everything one <see cref="SequenceModel"/> forward pass keeps for its backward pass; sized once, never resized.</summary>
public sealed class SequenceModelWorkspace
{
    internal SequenceModelWorkspace(SequenceModel owner, int maxSequenceLength, int maxBatchSize, Threading.WorkerPool? pool)
    {
        ThrowHelper.ThrowIfNotPositive(maxSequenceLength);
        ThrowHelper.ThrowIfNotPositive(maxBatchSize);
        Owner = owner;
        MaxSequenceLength = maxSequenceLength;
        MaxBatchSize = maxBatchSize;
        int tokens = checked(maxSequenceLength * maxBatchSize);
        int E = owner.Options.EmbeddingSize, DH = owner.Stack.OutputSize, C = owner.Options.ClassCount;
        int rows = owner.Options.Output == SequenceOutput.LastStep ? maxBatchSize : tokens;
        Stack = owner.Stack.CreateWorkspace(maxSequenceLength, maxBatchSize, pool);

        // The model keeps x and the stack's output until its backward pass: the stack need not copy either.
        Stack.CopiesInputAndOutput = false;
        Tokens = new int[tokens];
        Lengths = new int[maxBatchSize];
        TokenMask = new bool[tokens];
        RowMask = new bool[rows];
        X = new float[checked(tokens * E)];
        InputGradient = new float[checked(tokens * E)];
        Output = new float[checked(tokens * DH)];
        OutputGradient = new float[checked(tokens * DH)];
        Features = new float[maxBatchSize * DH];
        FeaturesGradient = new float[maxBatchSize * DH];
        LogitsBuffer = new float[checked(rows * C)];
        LogitsGradient = new float[checked(rows * C)];
    }

    /// <summary>The largest T.</summary>
    public int MaxSequenceLength { get; }

    /// <summary>The largest B.</summary>
    public int MaxBatchSize { get; }

    /// <summary>The stack's workspace (e.g. for the per-step gradient norms its layers record).</summary>
    public StackWorkspace Stack { get; }

    /// <summary>The logits of the last forward pass: [N, C], N = T*B (every step) or B (last step).</summary>
    public ReadOnlySpan<float> Logits =>
        LogitsBuffer.AsSpan(0, (Owner.Options.Output == SequenceOutput.LastStep ? BatchSize : SequenceLength * BatchSize) * Owner.Options.ClassCount);

    /// <summary>The top layer's outputs of the last forward pass: [T, B, D*H].</summary>
    public ReadOnlySpan<float> HiddenStates => Output.AsSpan(0, SequenceLength * BatchSize * Owner.Stack.OutputSize);

    /// <summary>Bytes held, the stack's workspace included.</summary>
    public long SizeInBytes =>
        Stack.SizeInBytes + (sizeof(int) * ((long)Tokens.Length + Lengths.Length)) + TokenMask.Length + RowMask.Length
        + (sizeof(float) * ((long)X.Length + InputGradient.Length + Output.Length + OutputGradient.Length + Features.Length + FeaturesGradient.Length + LogitsBuffer.Length + LogitsGradient.Length));

    internal SequenceModel Owner { get; }

    internal int SequenceLength { get; set; }

    internal int BatchSize { get; set; }

    internal bool HasLengths { get; set; }

    internal bool HasForward { get; set; }

    internal int[] Tokens { get; }

    internal int[] Lengths { get; }

    internal bool[] TokenMask { get; }

    internal bool[] RowMask { get; }

    internal float[] X { get; }

    /// <summary>dL/dx: [T, B, E], apart from x, which the stack's backward reads again.</summary>
    internal float[] InputGradient { get; }

    internal float[] Output { get; }

    internal float[] OutputGradient { get; }

    internal float[] Features { get; }

    internal float[] FeaturesGradient { get; }

    internal float[] LogitsBuffer { get; }

    internal float[] LogitsGradient { get; }
}
