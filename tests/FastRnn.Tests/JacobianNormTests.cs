// JacobianNorms against an independent oracle (the reference forward pass differentiated column by column with centered
// finite differences, then an SVD by Jacobi rotations), the seeds' bound ||J_k|| <= (max|f'| ||W_hh||_2)^k for Elman,
// norm inequalities, exact cases and the saturated LSTM / GRU that keep gradients alive.
using FastRnn.Diagnostics;
using FastRnn.Layers;
using FastRnn.Testing;
using FsCheck.Xunit;
using static FastRnn.Tests.RnnHarness;

namespace FastRnn.Tests;

public class JacobianNormTests
{
    private static readonly Nonlinearity[] s_smooth = [Nonlinearity.Tanh, Nonlinearity.Sigmoid];
    private static readonly Nonlinearity[] s_bounded = [Nonlinearity.Tanh, Nonlinearity.Sigmoid, Nonlinearity.Relu];

    [Property(MaxTest = 40)]
    public void Spectral_and_Frobenius_norms_match_an_explicit_finite_difference_Jacobian_and_its_SVD(int seed)
    {
        var random = new Random(seed);
        RnnTestCase c = SmallCase(random, seed, s_smooth, maxT: 6, maxB: 3, maxSize: 7);
        (int T, int B, int I, int H) = c.Shape;
        ReferenceRnnParameters p = Rounded(c.Parameters);
        int K = random.Next(1, T + 1);
        JacobianNormReport report = Compute(c, K);

        // One power iteration rarely meets the tolerance: those norms take the direct solve, which must agree too.
        JacobianNormReport direct = Compute(c, K, maxIterations: 1);

        bool lstm = c.HasCell;
        int n = lstm ? 2 * H : H;
        for (int b = 0; b < B; b++)
        {
            int L = c.Lengths[b];

            // The sequence in processing order and its initial state, as the layer sees them (float-rounded).
            double[] xs = new double[L * I];
            for (int s = 0; s < L; s++)
            {
                int t = c.Reverse ? L - 1 - s : s;
                for (int i = 0; i < I; i++)
                {
                    xs[(s * I) + i] = (float)c.X[(((t * B) + b) * I) + i];
                }
            }

            double[] state0 = new double[n];
            for (int j = 0; j < H; j++)
            {
                state0[j] = c.H0 is null ? 0 : (float)c.H0[(b * H) + j];
                if (lstm)
                {
                    state0[H + j] = c.C0 is null ? 0 : (float)c.C0[(b * H) + j];
                }
            }

            for (int k = 1; k <= K; k++)
            {
                if (k > L)
                {
                    Assert.True(double.IsNaN(report.Hidden.SpectralNorm(k, b)) && double.IsNaN(report.Hidden.FrobeniusNorm(k, b)), $"k={k} > L={L} must be NaN");
                    continue;
                }

                double[] before = ReferenceStateJacobian.Run(p, xs[..((L - k) * I)], state0);
                double[] jacobian = ReferenceStateJacobian.FiniteDifference(p, xs[((L - k) * I)..], before);
                string where = $"k={k}, b={b}, L={L} ({c})";
                AssertNorms(report.Hidden, k, b, ReferenceStateJacobian.Block(jacobian, n, 0, 0, H), H, "hidden " + where);
                AssertNorms(direct.Hidden, k, b, ReferenceStateJacobian.Block(jacobian, n, 0, 0, H), H, "hidden (direct) " + where);
                if (lstm)
                {
                    AssertNorms(report.State!, k, b, jacobian, n, "state " + where);
                    AssertNorms(report.Cell!, k, b, ReferenceStateJacobian.Block(jacobian, n, H, H, H), H, "cell " + where);
                }
            }
        }
    }

    [Property(MaxTest = 60)]
    public void Elman_spectral_norm_at_distance_k_is_at_most_max_f_prime_times_the_weight_norm_to_the_k(int seed)
    {
        var random = new Random(seed);
        int T = random.Next(1, 11), B = random.Next(1, 4), I = random.Next(1, 6), H = random.Next(1, 13);
        Nonlinearity f = s_bounded[random.Next(s_bounded.Length)];
        double scale = new[] { 0.3, 1, 2, 4 }[random.Next(4)];
        var layer = new ElmanLayer(new ParameterStore(), I, H, f, seed: seed);
        Fill(random, layer.WeightHh.Values, scale / Math.Sqrt(H));
        Fill(random, layer.WeightIh.Values, 1);
        Fill(random, layer.BiasIh.Values, 0.5);
        float[] x = AllocationTests.RandomValues(random, T * B * I), h0 = AllocationTests.RandomValues(random, B * H);

        JacobianNormReport report = JacobianNorms.Compute(layer, x, T, B, T, initialHidden: h0, seed: seed);
        double sigma = ReferenceSpectra.SingularValues(Array.ConvertAll(layer.WeightHh.Values.ToArray(), v => (double)v), H, H)[0];
        double log10Gain = Math.Log10(RecurrentWeightSpectra.MaxActivationDerivative(f) * sigma);
        for (int k = 1; k <= T; k++)
        {
            for (int b = 0; b < B; b++)
            {
                double log10Norm = report.Hidden.Log10SpectralNorms[((k - 1) * B) + b];
                Assert.True(log10Norm <= (k * log10Gain) + 1e-9, $"{f}, scale {scale}: log10 ||J_{k}|| = {log10Norm} > {k} * {log10Gain} (b={b}, seed={seed})");
            }
        }
    }

    [Property(MaxTest = 60)]
    public void Frobenius_is_at_least_spectral_which_is_at_least_Frobenius_over_sqrt_n(int seed)
    {
        var random = new Random(seed);
        RnnTestCase c = SmallCase(random, seed, [Nonlinearity.Tanh, Nonlinearity.Sigmoid, Nonlinearity.Relu, Nonlinearity.LeakyRelu], maxT: 8, maxB: 3, maxSize: 12);
        JacobianNormReport report = Compute(c, random.Next(1, c.Shape.T + 1));
        foreach (JacobianNormSeries series in report.Series)
        {
            for (int i = 0; i < series.SpectralNorms.Length; i++)
            {
                double spectral = series.SpectralNorms[i], frobenius = series.FrobeniusNorms[i];
                if (double.IsNaN(spectral))
                {
                    continue;
                }

                Assert.True(frobenius >= spectral * (1 - 1e-12), $"{series.Block}[{i}]: Frobenius {frobenius} < spectral {spectral} ({c})");
                Assert.True(spectral >= frobenius / Math.Sqrt(series.Dimension) * (1 - 1e-9), $"{series.Block}[{i}]: spectral {spectral} < Frobenius/sqrt(n) {frobenius / Math.Sqrt(series.Dimension)} ({c})");
            }
        }
    }

    [Fact]
    public void Means_average_the_sequences_long_enough_for_each_distance()
    {
        var layer = new GruLayer(new ParameterStore(), 2, 3, seed: 5);
        float[] x = AllocationTests.RandomValues(new Random(6), 5 * 3 * 2);
        JacobianNormReport report = JacobianNorms.Compute(layer, x, 5, 3, 5, lengths: [5, 2, 0]);
        Assert.Equal([5, 2, 0], report.Lengths.ToArray());
        Assert.Equal((report.Hidden.SpectralNorm(2, 0) + report.Hidden.SpectralNorm(2, 1)) / 2, report.Hidden.MeanSpectralNorms[1], 1e-15);
        Assert.Equal(report.Hidden.FrobeniusNorm(4, 0), report.Hidden.MeanFrobeniusNorms[3], 1e-15);
        Assert.True(double.IsNaN(report.Hidden.SpectralNorm(1, 2)));
        Assert.Null(report.Cell);
        Assert.Single(report.Series);
    }

    [Fact]
    public void Identity_activation_with_an_orthogonal_weight_keeps_every_singular_value_at_one()
    {
        // J_k = Q^k is orthogonal: ||J_k||_2 = 1 and ||J_k||_F = sqrt(H) at every distance.
        const int H = 6, T = 25;
        var layer = new ElmanLayer(new ParameterStore(), 1, H, Nonlinearity.Identity);
        Rotations([0.3, 1.1, 2.9], 1.0).CopyTo(layer.WeightHh.Values);
        JacobianNormReport report = JacobianNorms.Compute(layer, new float[T], T, 1, T);
        for (int k = 1; k <= T; k++)
        {
            // float rounding leaves Q's singular values within ~1e-7 of 1, so Q^k's within ~k * 1e-7.
            Assert.Equal(1, report.Hidden.SpectralNorm(k, 0), 1e-5);
            Assert.Equal(Math.Sqrt(H), report.Hidden.FrobeniusNorm(k, 0), 3e-5);
        }
    }

    [Fact]
    public void Log10_norms_stay_exact_where_the_norms_underflow()
    {
        // W = 0.001 I with the identity activation: J_k = 0.001^k I, so log10 ||J_k||_2 = -3k, down to 1e-600.
        const int H = 3, T = 200;
        var layer = new ElmanLayer(new ParameterStore(), 1, H, Nonlinearity.Identity);
        Span<float> w = layer.WeightHh.Values;
        w.Clear();
        for (int j = 0; j < H; j++)
        {
            w[(j * H) + j] = 0.001f;
        }

        JacobianNormReport report = JacobianNorms.Compute(layer, new float[T], T, 1, T);
        double log10Entry = Math.Log10(0.001f);
        Assert.Equal(200 * log10Entry, report.Hidden.Log10SpectralNorms[199], 1e-9);
        Assert.Equal((200 * log10Entry) + (0.5 * Math.Log10(H)), report.Hidden.Log10FrobeniusNorms[199], 1e-9);
        Assert.Equal(0, report.Hidden.SpectralNorms[199]);
        Assert.Equal(Math.Pow(0.001f, 10), report.Hidden.SpectralNorm(10, 0), 1e-40);
    }

    [Fact]
    public void Lstm_with_the_forget_gate_saturated_open_preserves_the_cell_Jacobian_at_every_distance()
    {
        const int T = 60, B = 2, I = 3, H = 5;
        LstmLayer layer = SaturatedLstm(I, H, seed: 3);
        float[] x = AllocationTests.RandomValues(new Random(4), T * B * I), h0 = AllocationTests.RandomValues(new Random(5), B * H), c0 = AllocationTests.RandomValues(new Random(6), B * H);
        JacobianNormReport report = JacobianNorms.Compute(layer, x, T, B, T, h0, c0);
        for (int k = 1; k <= T; k++)
        {
            for (int b = 0; b < B; b++)
            {
                Assert.Equal(1, report.Cell!.SpectralNorm(k, b), 1e-6);
                Assert.Equal(Math.Sqrt(H), report.Cell.FrobeniusNorm(k, b), 1e-5);
                Assert.Equal(1, report.ForgetPath!.SpectralNorm(k, b), 1e-9);
                Assert.True(report.State!.SpectralNorm(k, b) >= 1 - 1e-6);
            }
        }

        // The contrast the seeds draw: an Elman tanh layer with PyTorch's initialization loses the gradient geometrically.
        var elman = new ElmanLayer(new ParameterStore(), I, H, seed: 3);
        JacobianNormReport vanishing = JacobianNorms.Compute(elman, x, T, B, T);
        Assert.True(vanishing.Hidden.MeanSpectralNorms[T - 1] < 1e-6, $"Elman ||J_{T}|| = {vanishing.Hidden.MeanSpectralNorms[T - 1]}");
    }

    [Fact]
    public void Gru_with_the_update_gate_saturated_open_copies_the_state()
    {
        // z = 1: h_t = h_{t-1}, so dh_T/dh_{T-k} = I.
        const int T = 30, I = 2, H = 4;
        var layer = new GruLayer(new ParameterStore(), I, H, seed: 8);
        layer.BiasIh.Values.Slice(GruZ * H, H).Fill(40f);
        float[] x = AllocationTests.RandomValues(new Random(9), T * I);
        JacobianNormReport report = JacobianNorms.Compute(layer, x, T, 1, T);
        for (int k = 1; k <= T; k++)
        {
            Assert.Equal(1, report.Hidden.SpectralNorm(k, 0), 1e-9);
            Assert.Equal(Math.Sqrt(H), report.Hidden.FrobeniusNorm(k, 0), 1e-9);
        }
    }

    [Fact]
    public void Bad_arguments_throw_naming_the_argument()
    {
        var elman = new ElmanLayer(new ParameterStore(), 2, 3);
        float[] x = new float[4 * 1 * 2];
        Assert.Equal("maxDistance", Assert.ThrowsAny<ArgumentException>(() => JacobianNorms.Compute(elman, x, 4, 1, 5)).ParamName);
        Assert.Equal("maxDistance", Assert.ThrowsAny<ArgumentException>(() => JacobianNorms.Compute(elman, x, 4, 1, 0)).ParamName);
        Assert.Equal("input", Assert.ThrowsAny<ArgumentException>(() => JacobianNorms.Compute(elman, x.AsSpan(1), 4, 1, 2)).ParamName);
        Assert.Equal("initialCell", Assert.ThrowsAny<ArgumentException>(() => JacobianNorms.Compute(elman, x, 4, 1, 2, initialCell: new float[3])).ParamName);
        Assert.Equal("lengths", Assert.ThrowsAny<ArgumentException>(() => JacobianNorms.Compute(elman, x, 4, 1, 2, lengths: [5])).ParamName);
        Assert.Equal("tolerance", Assert.ThrowsAny<ArgumentException>(() => JacobianNorms.Compute(elman, x, 4, 1, 2, tolerance: 0)).ParamName);
    }

    /// <summary>An LSTM whose forget gate is saturated open (bias +30) and input gate shut (bias -30), small recurrent weights.</summary>
    internal static LstmLayer SaturatedLstm(int inputSize, int hiddenSize, int seed)
    {
        var layer = new LstmLayer(new ParameterStore(), inputSize, hiddenSize, seed: seed);
        layer.BiasIh.Values.Slice(1 * hiddenSize, hiddenSize).Fill(30f);
        layer.BiasIh.Values.Slice(0 * hiddenSize, hiddenSize).Fill(-30f);
        return layer;
    }

    // GRU gate order r, z, n.
    private const int GruZ = 1;

    private static void AssertNorms(JacobianNormSeries series, int k, int b, double[] expected, int n, string where)
    {
        double sigma = ReferenceSpectra.SingularValues(expected, n, n)[0], frobenius = ReferenceSpectra.FrobeniusNorm(expected);

        // Finite differences carry ~1e-10 absolute error per entry.
        Assert.True(Math.Abs(series.SpectralNorm(k, b) - sigma) <= 1e-8 + (1e-6 * sigma), $"spectral {series.SpectralNorm(k, b)} vs SVD {sigma}: {where}");
        Assert.True(Math.Abs(series.FrobeniusNorm(k, b) - frobenius) <= 1e-8 + (1e-6 * frobenius), $"Frobenius {series.FrobeniusNorm(k, b)} vs {frobenius}: {where}");
    }

    private static JacobianNormReport Compute(RnnTestCase c, int maxDistance, int maxIterations = JacobianNorms.DefaultMaxIterations)
    {
        (int T, int B, _, _) = c.Shape;
        RecurrentLayer layer = c.CreateLayer();
        return JacobianNorms.Compute(layer, ToFloat(c.X), T, B, maxDistance, ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), c.Lengths, maxIterations, seed: c.Seed);
    }

    // A random case of a random cell, lengths and direction included, from FastRnn.Testing's case builders.
    private static RnnTestCase SmallCase(Random random, int seed, Nonlinearity[] nonlinearities, int maxT, int maxB, int maxSize)
    {
        var shape = new RnnShape(random.Next(1, maxT + 1), random.Next(1, maxB + 1), random.Next(1, maxSize + 1), random.Next(1, maxSize + 1));
        int[] lengths = new int[shape.B];
        for (int b = 0; b < shape.B; b++)
        {
            lengths[b] = random.Next(3) == 0 ? shape.T : random.Next(0, shape.T + 1);
        }

        bool reverse = random.Next(2) == 0, hasH0 = random.Next(4) != 0, hasC0 = random.Next(4) != 0;
        double weightScale = random.Next(4) == 0 ? 3 : 1;
        return random.Next(3) switch
        {
            0 => RnnTestCase.From(RnnGenerators.CreateElmanCase(shape, nonlinearities[random.Next(nonlinearities.Length)], 0.1, lengths, reverse, hasH0, false, seed)),
            1 => RnnTestCase.From(RnnGenerators.CreateLstmCase(shape, lengths, reverse, hasH0, hasC0, false, false, weightScale, seed)),
            _ => RnnTestCase.From(RnnGenerators.CreateGruCase(shape, lengths, reverse, hasH0, false, weightScale, seed)),
        };
    }

    // The parameters as the float layer holds them.
    private static ReferenceRnnParameters Rounded(ReferenceRnnParameters p)
    {
        ReferenceRnnParameters copy = p switch
        {
            ReferenceLstmParameters lstm => lstm.Clone(),
            ReferenceGruParameters gru => gru.Clone(),
            ReferenceElmanParameters elman => elman.Clone(),
            _ => throw new NotSupportedException(),
        };
        foreach (double[] values in (ReadOnlySpan<double[]>)[copy.WeightIh, copy.WeightHh, copy.BiasIh, copy.BiasHh])
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (float)values[i];
            }
        }

        return copy;
    }

    private static void Fill(Random random, Span<float> values, double bound)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(bound * ((2 * random.NextDouble()) - 1));
        }
    }

    // Block-diagonal 2x2 rotations by the given angles, scaled: [2m, 2m].
    internal static float[] Rotations(double[] angles, double scale)
    {
        int n = 2 * angles.Length;
        float[] matrix = new float[n * n];
        for (int r = 0; r < angles.Length; r++)
        {
            int i = 2 * r;
            matrix[(i * n) + i] = (float)(scale * Math.Cos(angles[r]));
            matrix[(i * n) + i + 1] = (float)(-scale * Math.Sin(angles[r]));
            matrix[((i + 1) * n) + i] = (float)(scale * Math.Sin(angles[r]));
            matrix[((i + 1) * n) + i + 1] = (float)(scale * Math.Cos(angles[r]));
        }

        return matrix;
    }
}
