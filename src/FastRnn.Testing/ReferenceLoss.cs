// Legend: N rows (for a sequence model N = T*B), W row width, C classes.
using FastRnn.Training;

namespace FastRnn.Testing;

/// <summary>
/// Double-precision reference losses with FastRnn's conventions: rows that are not valid contribute nothing and get a zero gradient;
/// <see cref="LossReduction.Mean"/> divides by the number of valid targets; with no valid target the loss and gradient are 0.
/// </summary>
public static class ReferenceLoss
{
    /// <summary>Mean squared error, PyTorch's <c>MSELoss</c> restricted to valid rows.</summary>
    /// <param name="prediction">The prediction, <c>[N, W]</c>.</param>
    /// <param name="target">The target, <c>[N, W]</c>; not read on rows that are not valid.</param>
    /// <param name="validRows">Which rows count, <c>[N]</c>; <see langword="null"/> means all.</param>
    /// <param name="width">W, the number of values per row.</param>
    /// <param name="reduction">
    /// <see cref="LossReduction.Sum"/>: <c>sum (p - y)^2</c>; <see cref="LossReduction.Mean"/>: that sum divided by (valid rows * W).
    /// </param>
    /// <returns>The loss and dLoss/dprediction.</returns>
    public static ReferenceLossResult Mse(double[] prediction, double[] target, bool[]? validRows, int width, LossReduction reduction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (prediction.Length % width != 0)
            throw new ArgumentException($"prediction has {prediction.Length} elements, not a multiple of W = {width}.", nameof(prediction));
        if (target.Length != prediction.Length)
            throw new ArgumentException($"target has {target.Length} elements, expected {prediction.Length}.", nameof(target));
        int rows = prediction.Length / width;
        CheckValidRows(validRows, rows);

        // prediction, target, gradient: [N, W]
        var gradient = new double[prediction.Length];
        int valid = 0;
        for (int n = 0; n < rows; n++)
        {
            if (validRows is null || validRows[n])
                valid++;
        }
        if (valid == 0)
            return new ReferenceLossResult(0.0, gradient);
        double scale = reduction == LossReduction.Mean ? 1.0 / ((double)valid * width) : 1.0;
        double sum = 0;
        for (int n = 0; n < rows; n++)
        {
            if (validRows is not null && !validRows[n])
                continue;
            for (int w = 0; w < width; w++)
            {
                // L = scale * sum (p - y)^2  =>  dL/dp = 2 scale (p - y)
                int k = (n * width) + w;
                double diff = prediction[k] - target[k];
                sum += diff * diff;
                gradient[k] = 2.0 * scale * diff;
            }
        }
        return new ReferenceLossResult(sum * scale, gradient);
    }

    /// <summary>Softmax cross-entropy with class targets, PyTorch's <c>CrossEntropyLoss</c> with <c>ignore_index</c>, restricted to valid rows.</summary>
    /// <param name="logits">The unnormalized scores, <c>[N, C]</c>.</param>
    /// <param name="targets">The class of each row, <c>[N]</c>, in <c>0..C-1</c> or equal to <paramref name="ignoreIndex"/>.</param>
    /// <param name="ignoreIndex">A target value meaning "no target" (PyTorch's default is -100).</param>
    /// <param name="validRows">Which rows count, <c>[N]</c>; <see langword="null"/> means all. A row counts if valid and its target is not ignored.</param>
    /// <param name="reduction">
    /// <see cref="LossReduction.Sum"/>: <c>sum (logsumexp(z) - z[target])</c>; <see cref="LossReduction.Mean"/>: that sum divided by the number of counted rows.
    /// </param>
    /// <returns>The loss and dLoss/dlogits (<c>softmax(z) - onehot(target)</c>, scaled).</returns>
    public static ReferenceLossResult SoftmaxCrossEntropy(
        double[] logits, int[] targets, int ignoreIndex, bool[]? validRows, LossReduction reduction)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        int rows = targets.Length;
        bool shapeOk = rows == 0 ? logits.Length == 0 : logits.Length > 0 && logits.Length % rows == 0;
        if (!shapeOk)
            throw new ArgumentException($"logits has {logits.Length} elements, not N*C for N = {rows}, C >= 1.", nameof(logits));
        int classes = rows == 0 ? 0 : logits.Length / rows;
        CheckValidRows(validRows, rows);

        // logits, gradient: [N, C]  targets: [N]
        var gradient = new double[logits.Length];
        int valid = 0;
        for (int n = 0; n < rows; n++)
        {
            if (!Counts(n, targets, ignoreIndex, validRows))
                continue;
            if (targets[n] < 0 || targets[n] >= classes)
                throw new ArgumentOutOfRangeException(nameof(targets), $"targets[{n}] = {targets[n]} is outside 0..{classes - 1} and not the ignore index.");
            valid++;
        }
        if (valid == 0)
            return new ReferenceLossResult(0.0, gradient);
        double scale = reduction == LossReduction.Mean ? 1.0 / valid : 1.0;
        double sum = 0;
        for (int n = 0; n < rows; n++)
        {
            if (!Counts(n, targets, ignoreIndex, validRows))
                continue;
            int off = n * classes;
            // logsumexp(z) = m + log sum exp(z - m), m = max z, so no exp overflows.
            double max = double.NegativeInfinity;
            for (int c = 0; c < classes; c++)
                max = Math.Max(max, logits[off + c]);
            double sumExp = 0;
            for (int c = 0; c < classes; c++)
                sumExp += Math.Exp(logits[off + c] - max);
            double logSumExp = max + Math.Log(sumExp);
            sum += logSumExp - logits[off + targets[n]];
            // L = scale * (logsumexp(z) - z[y])  =>  dL/dz_c = scale * (softmax(z)_c - [c == y])
            for (int c = 0; c < classes; c++)
            {
                double softmax = Math.Exp(logits[off + c] - logSumExp);
                gradient[off + c] = scale * (softmax - (c == targets[n] ? 1.0 : 0.0));
            }
        }
        return new ReferenceLossResult(sum * scale, gradient);
    }

    private static bool Counts(int n, int[] targets, int ignoreIndex, bool[]? validRows) =>
        (validRows is null || validRows[n]) && targets[n] != ignoreIndex;

    private static void CheckValidRows(bool[]? validRows, int rows)
    {
        if (validRows is not null && validRows.Length != rows)
            throw new ArgumentException($"validRows has {validRows.Length} entries, expected N = {rows}.", nameof(validRows));
    }
}
