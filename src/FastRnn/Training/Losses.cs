// Legend: N rows (positions), W values per row (MSE), C classes (cross-entropy).
namespace FastRnn.Training;

/// <summary>Losses that compute the loss and its gradient in one pass. Gradients are overwritten (0 on rows that do not count).</summary>
/// <remarks>
/// A row counts when it is valid (<c>validRows</c> empty, or true there) and, for cross-entropy, its target is not the
/// ignore index. <see cref="LossReduction.Mean"/> divides by the number of counted values (MSE: rows x W, as PyTorch's
/// mean over elements; cross-entropy: rows). With nothing counted the loss and the gradient are 0 (PyTorch gives NaN).
/// </remarks>
public static class Losses
{
    /// <summary>PyTorch's <c>MSELoss</c>: <c>scale * reduce((prediction - target)^2)</c>.</summary>
    /// <param name="prediction">[N, W].</param>
    /// <param name="target">[N, W].</param>
    /// <param name="width">W.</param>
    /// <param name="predictionGradient">[N, W], overwritten with dLoss/dPrediction.</param>
    /// <param name="reduction">Mean or sum.</param>
    /// <param name="validRows">[N] or empty (all rows count); e.g. from <see cref="SequenceMask.FromLengths"/>.</param>
    /// <param name="scale">Multiplies the loss and its gradient (0.5 gives the textbook <c>1/2 (y - y_hat)^2</c>).</param>
    /// <returns>The loss.</returns>
    public static float MeanSquaredError(
        ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, int width, Span<float> predictionGradient,
        LossReduction reduction = LossReduction.Mean, ReadOnlySpan<bool> validRows = default, float scale = 1f)
    {
        ThrowHelper.ThrowIfNotPositive(width);
        if (prediction.Length % width != 0)
        {
            ThrowHelper.ThrowArgument(nameof(prediction), $"expected a multiple of width={width} elements, got {prediction.Length}");
        }

        int rows = prediction.Length / width;
        ThrowHelper.ThrowIfLengthMismatch(target, nameof(target), new Dims("N", rows, "W", width));
        ThrowHelper.ThrowIfLengthMismatch(predictionGradient, nameof(predictionGradient), new Dims("N", rows, "W", width));
        ValidateMask(validRows, rows);

        int counted = 0;
        for (int r = 0; r < rows; r++)
        {
            counted += validRows.IsEmpty || validRows[r] ? 1 : 0;
        }

        double divisor = reduction == LossReduction.Mean ? (double)counted * width : 1.0;
        double sum = 0;
        float gradientScale = counted == 0 ? 0f : (float)(2.0 * scale / divisor);
        for (int r = 0; r < rows; r++)
        {
            Span<float> gradient = predictionGradient.Slice(r * width, width);
            if (!validRows.IsEmpty && !validRows[r])
            {
                gradient.Clear();
                continue;
            }

            for (int k = 0; k < width; k++)
            {
                float difference = prediction[(r * width) + k] - target[(r * width) + k];
                sum += (double)difference * difference;
                gradient[k] = gradientScale * difference;
            }
        }

        return counted == 0 ? 0f : (float)(scale * sum / divisor);
    }

    /// <summary>PyTorch's <c>CrossEntropyLoss</c> on logits with class targets: <c>-log softmax(logits)[target]</c>, via log-sum-exp.</summary>
    /// <param name="logits">[N, C].</param>
    /// <param name="targets">[N], each in 0..C-1 or equal to <paramref name="ignoreIndex"/>.</param>
    /// <param name="classCount">C.</param>
    /// <param name="logitsGradient">[N, C], overwritten with dLoss/dLogits.</param>
    /// <param name="reduction">Mean or sum.</param>
    /// <param name="ignoreIndex">A target value that does not count (PyTorch's default is -100).</param>
    /// <param name="validRows">[N] or empty (all rows count).</param>
    /// <param name="scale">Multiplies the loss and its gradient.</param>
    /// <returns>The loss.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A counted target is outside 0..C-1; nothing is written.</exception>
    public static float SoftmaxCrossEntropy(
        ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classCount, Span<float> logitsGradient,
        LossReduction reduction = LossReduction.Mean, int ignoreIndex = -100, ReadOnlySpan<bool> validRows = default, float scale = 1f)
    {
        ThrowHelper.ThrowIfNotPositive(classCount);
        int rows = targets.Length;
        ThrowHelper.ThrowIfLengthMismatch(logits, nameof(logits), new Dims("N", rows, "C", classCount));
        ThrowHelper.ThrowIfLengthMismatch(logitsGradient, nameof(logitsGradient), new Dims("N", rows, "C", classCount));
        ValidateMask(validRows, rows);

        int counted = 0;
        for (int r = 0; r < rows; r++)
        {
            if ((validRows.IsEmpty || validRows[r]) && targets[r] != ignoreIndex)
            {
                if ((uint)targets[r] >= (uint)classCount)
                {
                    ThrowHelper.ThrowOutOfRange(nameof(targets), $"targets[{r}] must be in 0..{classCount - 1} or the ignore index {ignoreIndex}, was {targets[r]}");
                }

                counted++;
            }
        }

        double divisor = reduction == LossReduction.Mean ? counted : 1.0;
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> z = logits.Slice(r * classCount, classCount);
            Span<float> gradient = logitsGradient.Slice(r * classCount, classCount);
            if ((!validRows.IsEmpty && !validRows[r]) || targets[r] == ignoreIndex)
            {
                gradient.Clear();
                continue;
            }

            // loss = logsumexp(z) - z[target];  d/dz = softmax(z) - onehot(target)
            float max = float.NegativeInfinity;
            foreach (float value in z)
            {
                max = MathF.Max(max, value);
            }

            double total = 0;
            for (int c = 0; c < classCount; c++)
            {
                double e = Math.Exp(z[c] - max);
                gradient[c] = (float)e;
                total += e;
            }

            double logSumExp = max + Math.Log(total);
            sum += logSumExp - z[targets[r]];
            float rowScale = (float)(scale / divisor);
            for (int c = 0; c < classCount; c++)
            {
                gradient[c] = (float)(gradient[c] / total) * rowScale;
            }

            gradient[targets[r]] -= rowScale;
        }

        return counted == 0 ? 0f : (float)(scale * sum / divisor);
    }

    private static void ValidateMask(ReadOnlySpan<bool> validRows, int rows)
    {
        if (!validRows.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(validRows, nameof(validRows), new Dims("N", rows));
        }
    }
}
