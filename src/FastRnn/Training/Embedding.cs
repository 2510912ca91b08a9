// Legend: N rows (T*B positions), V vocabulary size, E embedding size.
using System.Numerics.Tensors;

namespace FastRnn.Training;

/// <summary>
/// A lookup table from token ids to vectors, PyTorch's <c>nn.Embedding</c>: <c>weight[V, E]</c>, initialized from N(0, 1).
/// </summary>
/// <remarks>
/// The gradient is scatter-added into the rows of the flat gradient buffer that the batch used (other rows are not
/// touched); optimizers then update the whole buffer densely, as PyTorch's do with a dense gradient.
/// </remarks>
public sealed class Embedding
{
    /// <summary>Creates the table and adds it to <paramref name="store"/> as <c>{name}.weight</c>.</summary>
    /// <param name="store">Where the parameters live.</param>
    /// <param name="vocabularySize">V.</param>
    /// <param name="embeddingSize">E.</param>
    /// <param name="name">Parameter name prefix.</param>
    /// <param name="seed">Seed of the N(0, 1) initialization.</param>
    public Embedding(ParameterStore store, int vocabularySize, int embeddingSize, string name = "embedding", int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(store);
        ThrowHelper.ThrowIfNotPositive(vocabularySize);
        ThrowHelper.ThrowIfNotPositive(embeddingSize);
        VocabularySize = vocabularySize;
        EmbeddingSize = embeddingSize;
        Weight = store.Add(name + ".weight", vocabularySize, embeddingSize);
        var random = new SplitMix64((ulong)(uint)seed);
        Span<float> values = Weight.Values;
        for (int i = 0; i < values.Length; i++)
        {
            // Box-Muller; 1 - u keeps the logarithm finite.
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            values[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }
    }

    /// <summary>V.</summary>
    public int VocabularySize { get; }

    /// <summary>E.</summary>
    public int EmbeddingSize { get; }

    /// <summary><c>weight</c>: [V, E].</summary>
    public ParameterTensor Weight { get; }

    /// <summary><c>output[n] = weight[ids[n]]</c>; rows that are not valid are written as 0 and their ids are not read.</summary>
    /// <param name="ids">[N] token ids, each in 0..V-1 where valid.</param>
    /// <param name="output">[N, E], overwritten.</param>
    /// <param name="validRows">[N] or empty (every row valid); e.g. from <see cref="SequenceMask.FromLengths"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A valid id is outside 0..V-1; nothing is written.</exception>
    public void Forward(ReadOnlySpan<int> ids, Span<float> output, ReadOnlySpan<bool> validRows = default)
    {
        Validate(ids, output, nameof(output), validRows);
        int e = EmbeddingSize;
        ReadOnlySpan<float> weight = Weight.Values;
        for (int n = 0; n < ids.Length; n++)
        {
            Span<float> row = output.Slice(n * e, e);
            if (validRows.IsEmpty || validRows[n])
            {
                weight.Slice(ids[n] * e, e).CopyTo(row);
            }
            else
            {
                row.Clear();
            }
        }
    }

    /// <summary><c>dWeight[ids[n]] += outputGradient[n]</c> for every valid row; no other gradient row is touched.</summary>
    /// <param name="ids">[N], as given to <see cref="Forward"/>.</param>
    /// <param name="outputGradient">[N, E].</param>
    /// <param name="validRows">[N] or empty, as given to <see cref="Forward"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A valid id is outside 0..V-1; nothing is written.</exception>
    public void Backward(ReadOnlySpan<int> ids, ReadOnlySpan<float> outputGradient, ReadOnlySpan<bool> validRows = default)
    {
        Validate(ids, outputGradient, nameof(outputGradient), validRows);
        int e = EmbeddingSize;
        Span<float> gradient = Weight.Gradient;
        for (int n = 0; n < ids.Length; n++)
        {
            if (validRows.IsEmpty || validRows[n])
            {
                Span<float> row = gradient.Slice(ids[n] * e, e);
                TensorPrimitives.Add(row, outputGradient.Slice(n * e, e), row);
            }
        }
    }

    private void Validate(ReadOnlySpan<int> ids, ReadOnlySpan<float> rows, string rowsName, ReadOnlySpan<bool> validRows)
    {
        ThrowHelper.ThrowIfLengthMismatch(rows, rowsName, new Dims("N", ids.Length, "E", EmbeddingSize));
        if (!validRows.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(validRows, nameof(validRows), new Dims("N", ids.Length));
        }

        for (int n = 0; n < ids.Length; n++)
        {
            if ((validRows.IsEmpty || validRows[n]) && (uint)ids[n] >= (uint)VocabularySize)
            {
                ThrowHelper.ThrowOutOfRange(nameof(ids), $"ids[{n}] must be in 0..{VocabularySize - 1}, was {ids[n]}");
            }
        }
    }
}
