// Legend: L layers, H hidden size, E embedding size, V vocabulary size.
// Text generation from a character model, one character per forward call (T = 1, B = 1) with the stack's carried
// state: each call's h_n (c_n) is the next call's h0 (c0), which is exactly the whole-sequence pass step by step.
using FastRnn.Layers;
using FastRnn.Training;

namespace FastRnn.Cli.CharModel;

/// <summary>Feeds characters to a model one at a time and draws the next one from its softmax.</summary>
public sealed class CharSampler
{
    private readonly SequenceModel _model;
    private readonly StackWorkspace _workspace;
    private readonly float[] _x;         // [1, 1, E]
    private readonly float[] _output;    // [1, 1, H]
    private readonly float[] _logits;    // [V]
    private readonly double[] _weights;  // [V]
    private float[] _hidden, _nextHidden; // [L, 1, H]
    private float[] _cell, _nextCell;     // [L, 1, H] (LSTM), else empty

    /// <summary>Creates a sampler with a zero state.</summary>
    public CharSampler(SequenceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        RecurrentStack stack = model.Stack;
        int states = stack.LayerCount * stack.DirectionCount * stack.HiddenSize;
        _workspace = stack.CreateWorkspace(1, 1);
        _x = new float[model.Options.EmbeddingSize];
        _output = new float[stack.OutputSize];
        _logits = new float[model.Options.ClassCount];
        _weights = new double[model.Options.ClassCount];
        _hidden = new float[states];
        _nextHidden = new float[states];
        _cell = stack.HasCellState ? new float[states] : [];
        _nextCell = stack.HasCellState ? new float[states] : [];
    }

    /// <summary>Whether a character has been fed since the last <see cref="Reset"/> (so <see cref="Next"/> has logits to draw from).</summary>
    public bool HasLogits { get; private set; }

    /// <summary>The logits of the next character after the last <see cref="Feed"/>: [V].</summary>
    public ReadOnlySpan<float> Logits => _logits;

    /// <summary>Clears the carried state.</summary>
    public void Reset()
    {
        Array.Clear(_hidden);
        Array.Clear(_cell);
        HasLogits = false;
    }

    /// <summary>Runs one step on <paramref name="token"/>: the state advances and the logits of the next character are ready.</summary>
    public void Feed(int token)
    {
        _model.Embedding.Forward([token], _x);
        _model.Stack.Forward(_x, 1, 1, _output, _workspace, initialHidden: _hidden, initialCell: _cell, finalHidden: _nextHidden, finalCell: _nextCell);
        (_hidden, _nextHidden) = (_nextHidden, _hidden);
        (_cell, _nextCell) = (_nextCell, _cell);
        _model.Head.Forward(_output, 1, _logits);
        HasLogits = true;
    }

    /// <summary>
    /// Draws the next character from <c>softmax(logits / temperature)</c>; temperature 0 takes the most likely one (the
    /// lowest id among ties).
    /// </summary>
    public int Next(double temperature, ref SplitMix64 random)
    {
        if (!HasLogits)
        {
            throw new InvalidOperationException("feed at least one character before drawing");
        }

        if (!(temperature >= 0) || double.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be finite and >= 0");
        }

        int best = 0;
        for (int v = 1; v < _logits.Length; v++)
        {
            if (_logits[v] > _logits[best])
            {
                best = v;
            }
        }

        if (temperature == 0)
        {
            return best;
        }

        // p_v = exp((l_v - max) / T) / sum; in double, so a small T cannot overflow and every p_v >= 0.
        double sum = 0;
        for (int v = 0; v < _logits.Length; v++)
        {
            _weights[v] = Math.Exp((_logits[v] - (double)_logits[best]) / temperature);
            sum += _weights[v];
        }

        double u = random.NextDouble() * sum;
        for (int v = 0; v < _weights.Length; v++)
        {
            u -= _weights[v];
            if (u < 0)
            {
                return v;
            }
        }

        return best; // only reached through rounding when u lands on the sum itself
    }

    /// <summary>
    /// Feeds <paramref name="prompt"/> (at least one id) from a zero state, then draws <paramref name="length"/> characters,
    /// feeding each back in, and returns their ids.
    /// </summary>
    public int[] Generate(ReadOnlySpan<int> prompt, int length, double temperature, ulong seed)
    {
        if (prompt.IsEmpty)
        {
            throw new ArgumentException("the prompt needs at least one character", nameof(prompt));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Reset();
        foreach (int token in prompt)
        {
            Feed(token);
        }

        var random = new SplitMix64(seed);
        int[] generated = new int[length];
        for (int i = 0; i < length; i++)
        {
            generated[i] = Next(temperature, ref random);
            if (i + 1 < length)
            {
                Feed(generated[i]);
            }
        }

        return generated;
    }

    /// <summary>
    /// The default prompt: a newline when the vocabulary has one (generation starts at the beginning of a line), else a
    /// space, else the first character. It is context only and not part of the output.
    /// </summary>
    public static int[] DefaultPrompt(CharVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        int id = vocabulary.IdOf(new System.Text.Rune('\n'));
        if (id < 0)
        {
            id = vocabulary.IdOf(new System.Text.Rune(' '));
        }

        return [Math.Max(id, 0)];
    }

    /// <summary>The text of <paramref name="ids"/>.</summary>
    public static string Decode(CharVocabulary vocabulary, ReadOnlySpan<int> ids)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var text = new System.Text.StringBuilder(ids.Length);
        foreach (int id in ids)
        {
            text.Append(vocabulary[id].ToString());
        }

        return text.ToString();
    }
}
