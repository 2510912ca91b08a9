// Legend: K maximum distance, B batch.
namespace FastRnn.Diagnostics;

/// <summary>
/// The spectral and Frobenius norms of one <see cref="JacobianBlock"/> at distances k = 1..K, per sequence of the batch.
/// Per-sequence values are stored [K, B] row-major (distance k, sequence b at <c>(k - 1) * B + b</c>) and are NaN where the
/// sequence has fewer than k steps.
/// </summary>
public sealed class JacobianNormSeries
{
    private readonly double[] _spectral;
    private readonly double[] _frobenius;
    private readonly double[] _log10Spectral;
    private readonly double[] _log10Frobenius;
    private readonly double[] _meanSpectral;
    private readonly double[] _meanFrobenius;

    internal JacobianNormSeries(JacobianBlock block, int dimension, int maxDistance, int batchSize)
    {
        Block = block;
        Dimension = dimension;
        MaxDistance = maxDistance;
        BatchSize = batchSize;
        int count = maxDistance * batchSize;
        _spectral = Filled(count);
        _frobenius = Filled(count);
        _log10Spectral = Filled(count);
        _log10Frobenius = Filled(count);
        _meanSpectral = Filled(maxDistance);
        _meanFrobenius = Filled(maxDistance);
    }

    /// <summary>Which Jacobian this is.</summary>
    public JacobianBlock Block { get; }

    /// <summary>The Jacobian's size n (it is [n, n]): H, or 2H for <see cref="JacobianBlock.State"/>.</summary>
    public int Dimension { get; }

    /// <summary>K.</summary>
    public int MaxDistance { get; }

    /// <summary>B.</summary>
    public int BatchSize { get; }

    /// <summary>Largest singular values <c>||J||_2</c>, [K, B]; may underflow to 0 or overflow to infinity where <see cref="Log10SpectralNorms"/> does not.</summary>
    public ReadOnlySpan<double> SpectralNorms => _spectral;

    /// <summary>Frobenius norms <c>||J||_F</c>, [K, B].</summary>
    public ReadOnlySpan<double> FrobeniusNorms => _frobenius;

    /// <summary><c>log10 ||J||_2</c>, [K, B], computed from a running scale, so exact where the norm itself leaves double's range.</summary>
    public ReadOnlySpan<double> Log10SpectralNorms => _log10Spectral;

    /// <summary><c>log10 ||J||_F</c>, [K, B].</summary>
    public ReadOnlySpan<double> Log10FrobeniusNorms => _log10Frobenius;

    /// <summary>Per distance k (index k - 1), the mean spectral norm over the sequences with at least k steps (NaN if none), [K].</summary>
    public ReadOnlySpan<double> MeanSpectralNorms => _meanSpectral;

    /// <summary>Per distance k (index k - 1), the mean Frobenius norm over the sequences with at least k steps (NaN if none), [K].</summary>
    public ReadOnlySpan<double> MeanFrobeniusNorms => _meanFrobenius;

    /// <summary>The most power iterations any one spectral norm took.</summary>
    public int MaxIterationsUsed { get; private set; }

    /// <summary>
    /// How many spectral norms the power iteration did not settle within its iteration cap (top singular values too close
    /// together) and were computed directly instead, from the largest eigenvalue of <c>J^T J</c> by QR.
    /// </summary>
    public int DirectSolveCount { get; private set; }

    /// <summary><c>||J||_2</c> at distance <paramref name="distance"/> for sequence <paramref name="batchIndex"/>.</summary>
    /// <param name="distance">k in 1..K.</param>
    /// <param name="batchIndex">b in 0..B-1.</param>
    /// <returns>The norm, NaN if the sequence has fewer than k steps.</returns>
    public double SpectralNorm(int distance, int batchIndex) => _spectral[Index(distance, batchIndex)];

    /// <summary><c>||J||_F</c> at distance <paramref name="distance"/> for sequence <paramref name="batchIndex"/>.</summary>
    /// <param name="distance">k in 1..K.</param>
    /// <param name="batchIndex">b in 0..B-1.</param>
    /// <returns>The norm, NaN if the sequence has fewer than k steps.</returns>
    public double FrobeniusNorm(int distance, int batchIndex) => _frobenius[Index(distance, batchIndex)];

    // The norms of scale * J at (k, b) from those of J and ln(scale).
    internal void Set(int distance, int batchIndex, double logScale, double spectral, double frobenius)
    {
        int i = Index(distance, batchIndex);
        double scale = Math.Exp(logScale), log10Scale = logScale / Math.Log(10);
        _spectral[i] = spectral == 0 ? 0 : scale * spectral;
        _frobenius[i] = frobenius == 0 ? 0 : scale * frobenius;
        _log10Spectral[i] = log10Scale + Math.Log10(spectral);
        _log10Frobenius[i] = log10Scale + Math.Log10(frobenius);
    }

    internal void NoteIterations(int iterations, bool converged)
    {
        MaxIterationsUsed = Math.Max(MaxIterationsUsed, iterations);
        DirectSolveCount += converged ? 0 : 1;
    }

    internal void ComputeMeans()
    {
        for (int k = 0; k < MaxDistance; k++)
        {
            double spectral = 0, frobenius = 0;
            int count = 0;
            for (int b = 0; b < BatchSize; b++)
            {
                int i = (k * BatchSize) + b;
                if (!double.IsNaN(_spectral[i]))
                {
                    spectral += _spectral[i];
                    frobenius += _frobenius[i];
                    count++;
                }
            }

            _meanSpectral[k] = count == 0 ? double.NaN : spectral / count;
            _meanFrobenius[k] = count == 0 ? double.NaN : frobenius / count;
        }
    }

    private int Index(int distance, int batchIndex)
    {
        if ((uint)(distance - 1) >= (uint)MaxDistance)
        {
            ThrowHelper.ThrowOutOfRange(nameof(distance), $"must be in 1..{MaxDistance}, was {distance}");
        }

        if ((uint)batchIndex >= (uint)BatchSize)
        {
            ThrowHelper.ThrowOutOfRange(nameof(batchIndex), $"must be in 0..{BatchSize - 1}, was {batchIndex}");
        }

        return ((distance - 1) * BatchSize) + batchIndex;
    }

    private static double[] Filled(int count)
    {
        double[] values = new double[count];
        Array.Fill(values, double.NaN);
        return values;
    }
}
