// Legend: P parameters (the flat gradient buffer).
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace FastRnn.Training;

/// <summary>Gradient clipping over a flat gradient buffer, as PyTorch's <c>clip_grad_norm_</c> and <c>clip_grad_value_</c>. Allocation-free.</summary>
public static class GradientClipping
{
    /// <summary>PyTorch's guard against division by zero in the clip coefficient.</summary>
    private const double NormEpsilon = 1e-6;

    /// <summary>
    /// Scales <paramref name="gradients"/> so that their global Euclidean norm is at most <paramref name="maxNorm"/>
    /// (PyTorch's <c>clip_grad_norm_</c> with <c>norm_type=2</c>): with <c>coef = maxNorm / (norm + 1e-6)</c>, every
    /// gradient is multiplied by <c>coef</c> when <c>coef &lt; 1</c> and left unchanged otherwise.
    /// </summary>
    /// <param name="gradients">[P], scaled in place.</param>
    /// <param name="maxNorm">The largest allowed norm, &gt;= 0 (+infinity: never clip).</param>
    /// <param name="errorIfNonfinite">Throw when the norm is NaN or infinite, instead of returning it.</param>
    /// <returns>The norm before clipping, accumulated in double (so it neither overflows nor loses small terms).</returns>
    /// <remarks>
    /// A NaN or infinite norm (some gradient is NaN or infinite) leaves the gradients unchanged and is returned, so the
    /// caller can skip the step, as a loss scaler does; PyTorch would instead multiply by NaN or 0. With
    /// <paramref name="errorIfNonfinite"/> it throws instead, as PyTorch's <c>error_if_nonfinite=True</c> does.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is negative or NaN.</exception>
    /// <exception cref="ArgumentException"><paramref name="errorIfNonfinite"/> is set and the norm is not finite; nothing is changed.</exception>
    public static double ClipByGlobalNorm(Span<float> gradients, float maxNorm, bool errorIfNonfinite = false)
    {
        if (!(maxNorm >= 0))
        {
            ThrowHelper.ThrowOutOfRange(nameof(maxNorm), $"must be >= 0, was {maxNorm}");
        }

        double norm = Math.Sqrt(SumOfSquares(gradients));
        if (!double.IsFinite(norm))
        {
            if (errorIfNonfinite)
            {
                ThrowHelper.ThrowArgument(nameof(gradients), $"the total norm of the gradients is {norm}; they were left unchanged");
            }

            return norm;
        }

        double coefficient = maxNorm / (norm + NormEpsilon);
        if (coefficient < 1)
        {
            TensorPrimitives.Multiply(gradients, (float)coefficient, gradients);
        }

        return norm;
    }

    /// <summary>Clips every gradient of <paramref name="store"/> by their global norm; see <see cref="ClipByGlobalNorm(Span{float}, float, bool)"/>.</summary>
    /// <param name="store">Parameters and gradients; the gradients are scaled in place.</param>
    /// <param name="maxNorm">The largest allowed norm, &gt;= 0.</param>
    /// <param name="errorIfNonfinite">Throw when the norm is NaN or infinite.</param>
    /// <returns>The norm before clipping.</returns>
    public static double ClipByGlobalNorm(ParameterStore store, float maxNorm, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(store);
        return ClipByGlobalNorm(store.Gradients, maxNorm, errorIfNonfinite);
    }

    /// <summary>Clamps every gradient into <c>[-clipValue, clipValue]</c> (PyTorch's <c>clip_grad_value_</c>); NaN stays NaN.</summary>
    /// <param name="gradients">[P], clamped in place.</param>
    /// <param name="clipValue">The bound, &gt;= 0 (+infinity: no change).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> is negative or NaN.</exception>
    public static void ClipByValue(Span<float> gradients, float clipValue)
    {
        if (!(clipValue >= 0))
        {
            ThrowHelper.ThrowOutOfRange(nameof(clipValue), $"must be >= 0, was {clipValue}");
        }

        // TensorPrimitives' Min and Max propagate NaN, as torch.clamp does.
        TensorPrimitives.Max(gradients, -clipValue, gradients);
        TensorPrimitives.Min(gradients, clipValue, gradients);
    }

    /// <summary>Clamps every gradient of <paramref name="store"/>; see <see cref="ClipByValue(Span{float}, float)"/>.</summary>
    /// <param name="store">Parameters and gradients; the gradients are clamped in place.</param>
    /// <param name="clipValue">The bound, &gt;= 0.</param>
    public static void ClipByValue(ParameterStore store, float clipValue)
    {
        ArgumentNullException.ThrowIfNull(store);
        ClipByValue(store.Gradients, clipValue);
    }

    /// <summary>The sum of squares of <paramref name="values"/> in double: each float is widened exactly, so the sum neither overflows nor drops terms below float's resolution.</summary>
    /// <param name="values">[P].</param>
    internal static double SumOfSquares(ReadOnlySpan<float> values)
    {
        ref float x = ref MemoryMarshal.GetReference(values);
        int n = values.Length, i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            // Two accumulators (the low and high halves of each float vector); a fixed order, so the result is reproducible.
            Vector<double> low = Vector<double>.Zero, high = Vector<double>.Zero;
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(Vector.LoadUnsafe(ref x, (nuint)i), out Vector<double> a, out Vector<double> b);
                low = Vector.FusedMultiplyAdd(a, a, low);
                high = Vector.FusedMultiplyAdd(b, b, high);
            }

            sum = Vector.Sum(low + high);
        }

        for (; i < n; i++)
        {
            double v = values[i];
            sum += v * v;
        }

        return sum;
    }
}
