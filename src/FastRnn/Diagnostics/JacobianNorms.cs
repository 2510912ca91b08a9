// Legend: T time steps, B batch, I input size, H hidden size, K maximum distance, n state size (H; 2H for the LSTM),
// L a sequence's length, s processing step (s = t forward; s = L - 1 - t for a reverse layer).
//
// Method. For each sequence, the layer's forward pass is re-run in double from its weights (StateJacobianCell), keeping
// the states that enter the last K steps. Then, going back from the final state, the Jacobian of the final state with
// respect to the state k steps earlier is accumulated explicitly,
//     M_1 = J_{L-1},   M_k = M_{k-1} J_{L-k},   J_s = d state_{s+1} / d state_s  [n, n],
// which is reverse mode with the identity as seed: row i of M_k is the vector-Jacobian product of e_i through the last
// k steps. The exact Frobenius norm of every k needs all n rows anyway, so the full M_k costs no more than it, and its
// spectral norm then comes from power iteration on the explicit block (B^T B v, O(n^2) per iteration) instead of k
// vector-Jacobian and k Jacobian-vector products per iteration; where the top singular values sit too close for it to
// settle within the cap, the largest eigenvalue of B^T B is solved directly (QR, O(n^3)). M is rescaled to max |M| = 1 after each step and the
// scale kept as a logarithm, so norms far outside double's range still have exact log10 values.
// Cost per sequence: about K (n^3 + iterations * n^2) multiply-adds, plus the forward pass.
using System.Numerics.Tensors;
using FastRnn.Layers;

namespace FastRnn.Diagnostics;

/// <summary>
/// Norms of the Jacobians <c>d state_T / d state_{T-k}</c>, k = 1..K, along a forward pass: how strongly the final state
/// depends on the state k steps earlier, which is the factor BPTT multiplies a gradient by over that distance (the seeds'
/// <c>prod diag(f'(z_t)) W_hh</c>). Spectral norm (largest singular value) and Frobenius norm, per sequence and averaged.
/// </summary>
/// <remarks>
/// <para>A diagnostic, not a training path: it allocates, and it computes in double by re-running the forward pass from
/// the layer's current (float) weights and the given inputs, so it follows the float pass to within rounding. The
/// Jacobians are formed exactly (no finite differences); the spectral norm comes from power iteration, or, where
/// that has not settled within <c>maxIterations</c>, from a direct eigenvalue solve (see <see cref="JacobianNormSeries.DirectSolveCount"/>).</para>
/// <para>T is each sequence's last processed step (its last valid step; for a reverse layer t = 0), k counts processing
/// steps back from it, and sequences shorter than k get NaN at k. For an LSTM the state is (h, c); see
/// <see cref="JacobianBlock"/> for exactly what each series measures.</para>
/// </remarks>
public static class JacobianNorms
{
    /// <summary>The default cap on power iterations per norm; past it the norm is solved directly (see <see cref="JacobianNormSeries.DirectSolveCount"/>).</summary>
    public const int DefaultMaxIterations = 1000;

    /// <summary>The default tolerance: stop when <c>||B^T B v - sigma^2 v|| &lt;= tolerance * sigma^2</c>.</summary>
    public const double DefaultTolerance = 1e-10;

    /// <summary>Measures the Jacobian norms of <paramref name="layer"/> along the pass over <paramref name="input"/>.</summary>
    /// <param name="layer">An <see cref="ElmanLayer"/>, <see cref="LstmLayer"/> or <see cref="GruLayer"/> (its current weights are used).</param>
    /// <param name="input">x: [T, B, I], time-major, as for <c>Forward</c>.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="maxDistance">K, in 1..T.</param>
    /// <param name="initialHidden">h0: [B, H], or empty for zeros.</param>
    /// <param name="initialCell">c0: [B, H] (LSTM only), or empty for zeros.</param>
    /// <param name="lengths">[B], each in 0..T, or empty when every sequence has T steps.</param>
    /// <param name="maxIterations">The cap on power iterations per spectral norm, after which it is solved directly.</param>
    /// <param name="tolerance">The power iteration's relative residual tolerance (see <see cref="DefaultTolerance"/>).</param>
    /// <param name="seed">Seed of the power iterations' random starts; the same seed gives the same report.</param>
    /// <returns>The norms per distance and sequence.</returns>
    /// <exception cref="ArgumentException">A span has the wrong length, a length is outside 0..T, K is outside 1..T, an
    /// initial cell state is given to a layer without one, or the layer type is unknown.</exception>
    public static JacobianNormReport Compute(
        RecurrentLayer layer, ReadOnlySpan<float> input, int sequenceLength, int batchSize, int maxDistance,
        ReadOnlySpan<float> initialHidden = default, ReadOnlySpan<float> initialCell = default, ReadOnlySpan<int> lengths = default,
        int maxIterations = DefaultMaxIterations, double tolerance = DefaultTolerance, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(layer);
        int T = sequenceLength, B = batchSize, I = layer.InputSize, H = layer.HiddenSize, K = maxDistance;
        ThrowHelper.ThrowIfNegative(sequenceLength);
        ThrowHelper.ThrowIfNegative(batchSize);
        if (K < 1 || K > T)
        {
            ThrowHelper.ThrowOutOfRange(nameof(maxDistance), $"must be in 1..T={T}, was {K}");
        }

        ThrowHelper.ThrowIfLengthMismatch(input, nameof(input), new Dims("T", T, "B", B, "I", I));
        if (!initialHidden.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(initialHidden, nameof(initialHidden), new Dims("B", B, "H", H));
        }

        if (!initialCell.IsEmpty)
        {
            if (layer is not LstmLayer)
            {
                ThrowHelper.ThrowArgument(nameof(initialCell), $"only an LSTM has a cell state; this is a {layer.GetType().Name}");
            }

            ThrowHelper.ThrowIfLengthMismatch(initialCell, nameof(initialCell), new Dims("B", B, "H", H));
        }

        if (!lengths.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(lengths, nameof(lengths), new Dims("B", B));
            for (int b = 0; b < B; b++)
            {
                if ((uint)lengths[b] > (uint)T)
                {
                    ThrowHelper.ThrowOutOfRange(nameof(lengths), $"lengths[{b}] must be in 0..T={T}, was {lengths[b]}");
                }
            }
        }

        int[] used = new int[B];
        for (int b = 0; b < B; b++)
        {
            used[b] = lengths.IsEmpty ? T : lengths[b];
        }

        ThrowHelper.ThrowIfNotPositive(maxIterations);
        if (!(tolerance > 0) || double.IsInfinity(tolerance))
        {
            ThrowHelper.ThrowOutOfRange(nameof(tolerance), $"must be positive and finite, was {tolerance}");
        }

        StateJacobianCell cell = StateJacobianCell.Create(layer);
        bool lstm = cell is LstmJacobianCell;
        var hidden = new JacobianNormSeries(JacobianBlock.Hidden, H, K, B);
        JacobianNormSeries? cellSeries = lstm ? new JacobianNormSeries(JacobianBlock.Cell, H, K, B) : null;
        JacobianNormSeries? state = lstm ? new JacobianNormSeries(JacobianBlock.State, 2 * H, K, B) : null;
        JacobianNormSeries? forget = lstm ? new JacobianNormSeries(JacobianBlock.ForgetPath, H, K, B) : null;
        var work = new Work(cell.StateSize, K, I, new Random(seed), maxIterations, tolerance);
        for (int b = 0; b < B; b++)
        {
            // state_0 = (h0[b], c0[b])
            Span<double> start = work.State;
            start.Clear();
            CopyRow(initialHidden, b, H, start[..H]);
            if (lstm)
            {
                CopyRow(initialCell, b, H, start[H..]);
            }

            MeasureSequence(cell, layer.Reverse, input, B, b, used[b], work, hidden, cellSeries, state, forget);
        }

        foreach (JacobianNormSeries? series in (ReadOnlySpan<JacobianNormSeries?>)[hidden, cellSeries, state, forget])
        {
            series?.ComputeMeans();
        }

        return new JacobianNormReport(H, used, hidden, cellSeries, state, forget);
    }

    private static void MeasureSequence(
        StateJacobianCell cell, bool reverse, ReadOnlySpan<float> input, int B, int b, int L, Work work,
        JacobianNormSeries hidden, JacobianNormSeries? cellSeries, JacobianNormSeries? state, JacobianNormSeries? forget)
    {
        int n = work.N, H = hidden.Dimension, K = Math.Min(hidden.MaxDistance, L);

        // Forward in processing order, saving the state that enters each of the last K steps: saved[K - k] enters step L - k.
        for (int s = 0; s < L; s++)
        {
            if (s >= L - K)
            {
                work.State.CopyTo(work.Saved.AsSpan((s - (L - K)) * n, n));
            }

            cell.Step(Input(input, reverse, B, b, L, s, work), work.State, work.Next, default);
            work.Next.CopyTo(work.State);
        }

        // Back from the final state: M_k = M_{k-1} J_{L-k}, kept as exp(logScale) * M with max |M| = 1.
        Span<double> m = work.M, product = work.Product, jacobian = work.Jacobian;
        m.Clear();
        for (int i = 0; i < n; i++)
        {
            m[(i * n) + i] = 1;
        }

        double logScale = 0;
        Span<double> logForget = work.LogForget;
        logForget.Clear();
        for (int k = 1; k <= K; k++)
        {
            int s = L - k;
            cell.Step(Input(input, reverse, B, b, L, s, work), work.Saved.AsSpan((K - k) * n, n), work.Next, jacobian);
            Multiply(m, jacobian, product, n);
            double largest = TensorPrimitives.MaxMagnitude(product);
            if (largest > 0 && double.IsFinite(largest))
            {
                TensorPrimitives.Multiply(product, 1 / largest, m);
                logScale += Math.Log(largest);
            }
            else
            {
                // All zero (e.g. dead ReLUs: stays 0) or not finite (NaN inputs): the norms say so directly.
                product.CopyTo(m);
            }

            Record(hidden, work, k, b, logScale, 0, 0, H);
            if (state is not null)
            {
                Record(state, work, k, b, logScale, 0, 0, n);
                Record(cellSeries!, work, k, b, logScale, H, H, H);

                // diag(prod f): spectral max_j prod f_j, Frobenius sqrt(sum_j (prod f_j)^2), both from logs.
                ReadOnlySpan<double> f = ((LstmJacobianCell)cell).ForgetGate;
                double maxLog = double.NegativeInfinity;
                for (int j = 0; j < H; j++)
                {
                    logForget[j] += Math.Log(f[j]);
                    maxLog = Math.Max(maxLog, logForget[j]);
                }

                double sum = 0;
                for (int j = 0; j < H; j++)
                {
                    sum += Math.Exp(2 * (logForget[j] - maxLog));
                }

                // Every gate exactly shut (beyond double's sigmoid range) makes the path exactly 0.
                if (double.IsNegativeInfinity(maxLog))
                {
                    forget!.Set(k, b, 0, 0, 0);
                }
                else
                {
                    forget!.Set(k, b, maxLog, 1, Math.Sqrt(sum));
                }
            }
        }
    }

    // The [size, size] block of M at (row0, col0): Frobenius norm directly, spectral norm by power iteration.
    private static void Record(JacobianNormSeries series, Work work, int k, int b, double logScale, int row0, int col0, int size)
    {
        int n = work.N;
        ReadOnlySpan<double> m = work.M;
        double squares = 0;
        for (int i = 0; i < size; i++)
        {
            ReadOnlySpan<double> row = m.Slice(((row0 + i) * n) + col0, size);
            squares += TensorPrimitives.Dot(row, row);
        }

        double frobenius = Math.Sqrt(squares), spectral;
        if (frobenius == 0 || !double.IsFinite(frobenius))
        {
            spectral = frobenius;
        }
        else
        {
            spectral = DenseMatrix.PowerIterationLargestSingularValue(
                m, (row0 * n) + col0, n, size, size, work.Random, work.MaxIterations, work.Tolerance,
                work.V.AsSpan(0, size), work.W.AsSpan(0, size), work.U.AsSpan(0, size), out int iterations, out bool converged);
            series.NoteIterations(iterations, converged);
            if (!converged)
            {
                // Clustered top singular values: the largest eigenvalue of B^T B by QR, O(n^3) but exact to rounding.
                double[] block = new double[size * size];
                for (int i = 0; i < size; i++)
                {
                    m.Slice(((row0 + i) * n) + col0, size).CopyTo(block.AsSpan(i * size, size));
                }

                spectral = DenseMatrix.LargestSingularValue(block, size, size);
            }
        }

        series.Set(k, b, logScale, spectral, frobenius);
    }

    // product = m * jacobian, all [n, n]: row i of the product is sum_p m[i, p] * jacobian row p.
    private static void Multiply(ReadOnlySpan<double> m, ReadOnlySpan<double> jacobian, Span<double> product, int n)
    {
        product.Clear();
        for (int i = 0; i < n; i++)
        {
            Span<double> row = product.Slice(i * n, n);
            for (int p = 0; p < n; p++)
            {
                double factor = m[(i * n) + p];
                if (factor != 0)
                {
                    TensorPrimitives.MultiplyAdd(jacobian.Slice(p * n, n), factor, row, row);
                }
            }
        }
    }

    // x at processing step s of sequence b, widened: [I]
    private static double[] Input(ReadOnlySpan<float> input, bool reverse, int B, int b, int L, int s, Work work)
    {
        int I = work.X.Length, t = reverse ? L - 1 - s : s;
        ReadOnlySpan<float> row = input.Slice(((t * B) + b) * I, I);
        for (int i = 0; i < I; i++)
        {
            work.X[i] = row[i];
        }

        return work.X;
    }

    private static void CopyRow(ReadOnlySpan<float> source, int b, int H, Span<double> destination)
    {
        if (source.IsEmpty)
        {
            return;
        }

        for (int j = 0; j < H; j++)
        {
            destination[j] = source[(b * H) + j];
        }
    }

    /// <summary>Scratch shared by every sequence of one call.</summary>
    private sealed class Work(int n, int maxDistance, int inputSize, Random random, int maxIterations, double tolerance)
    {
        public int N { get; } = n;

        public Random Random { get; } = random;

        public int MaxIterations { get; } = maxIterations;

        public double Tolerance { get; } = tolerance;

        public double[] X { get; } = new double[inputSize];

        public double[] State { get; } = new double[n];

        public double[] Next { get; } = new double[n];

        // [K, n] the states entering the last K steps
        public double[] Saved { get; } = new double[maxDistance * n];

        // [n, n] each
        public double[] M { get; } = new double[n * n];

        public double[] Product { get; } = new double[n * n];

        public double[] Jacobian { get; } = new double[n * n];

        public double[] LogForget { get; } = new double[n];

        public double[] V { get; } = new double[n];

        public double[] W { get; } = new double[n];

        public double[] U { get; } = new double[n];
    }
}
