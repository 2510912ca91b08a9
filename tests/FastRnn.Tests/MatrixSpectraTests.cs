// Eigenvalues, spectral radius and largest singular value on matrices with known spectra (diagonal, rotations with
// complex eigenvalues, a cyclic permutation, Jordan blocks), random matrices against independent references (traces of
// powers, Gelfand's formula, Jacobi SVD), and the per-gate reading of a layer's W_hh.
using System.Numerics;
using FastRnn.Diagnostics;
using FastRnn.Layers;
using FastRnn.Testing;
using FsCheck.Xunit;

namespace FastRnn.Tests;

public class MatrixSpectraTests
{
    [Fact]
    public void Diagonal_matrix_has_its_diagonal_as_eigenvalues()
    {
        double[] d = [0.5, -2.5, 1.25, 0, -0.75];
        double[] a = Diagonal(d);
        AssertSameSpectrum(d.Select(v => new Complex(v, 0)), MatrixSpectra.Eigenvalues(a, d.Length), 1e-15);
        Assert.Equal(2.5, MatrixSpectra.SpectralRadius(a, d.Length), 1e-15);
        Assert.Equal(2.5, MatrixSpectra.LargestSingularValue(a, d.Length, d.Length), 1e-14);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(1.5707963267948966)]
    [InlineData(3.0)]
    public void Rotation_has_radius_one_and_the_complex_pair_e_to_the_plus_minus_i_theta(double theta)
    {
        double[] a = [Math.Cos(theta), -Math.Sin(theta), Math.Sin(theta), Math.Cos(theta)];
        Complex[] eigenvalues = MatrixSpectra.Eigenvalues(a, 2);
        AssertSameSpectrum([Complex.FromPolarCoordinates(1, theta), Complex.FromPolarCoordinates(1, -theta)], eigenvalues, 1e-15);
        Assert.Equal(1, MatrixSpectra.SpectralRadius(a, 2), 1e-15);
        Assert.Equal(1, MatrixSpectra.LargestSingularValue(a, 2, 2), 1e-15);
    }

    [Fact]
    public void Scaled_rotations_hidden_by_a_similarity_keep_their_eigenvalues()
    {
        // S^-1 diag(0.9 R(0.4), 1.2 R(2.0), -0.3) S: eigenvalues 0.9 e^{+-0.4i}, 1.2 e^{+-2i}, -0.3; non-normal, non-symmetric.
        const int n = 5;
        double[] block = new double[n * n];
        (double radius, double angle)[] pairs = [(0.9, 0.4), (1.2, 2.0)];
        for (int r = 0; r < pairs.Length; r++)
        {
            int i = 2 * r;
            (double c, double s) = (pairs[r].radius * Math.Cos(pairs[r].angle), pairs[r].radius * Math.Sin(pairs[r].angle));
            block[(i * n) + i] = c;
            block[(i * n) + i + 1] = -s;
            block[((i + 1) * n) + i] = s;
            block[((i + 1) * n) + i + 1] = c;
        }

        block[(4 * n) + 4] = -0.3;
        double[] similarity = UnitUpperTriangular(n, new Random(1)), inverse = InverseUnitUpperTriangular(similarity, n);
        double[] a = ReferenceSpectra.Multiply(ReferenceSpectra.Multiply(inverse, block, n), similarity, n);

        Complex[] expected =
        [
            Complex.FromPolarCoordinates(0.9, 0.4), Complex.FromPolarCoordinates(0.9, -0.4),
            Complex.FromPolarCoordinates(1.2, 2.0), Complex.FromPolarCoordinates(1.2, -2.0), -0.3,
        ];
        AssertSameSpectrum(expected, MatrixSpectra.Eigenvalues(a, n), 1e-12);
        Assert.Equal(1.2, MatrixSpectra.SpectralRadius(a, n), 1e-12);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(16)]
    public void Cyclic_permutation_has_the_roots_of_unity_as_eigenvalues(int n)
    {
        // Every eigenvalue has modulus 1: plain QR without exceptional shifts stalls on this matrix.
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            a[(i * n) + ((i + 1) % n)] = 1;
        }

        AssertSameSpectrum(Enumerable.Range(0, n).Select(k => Complex.FromPolarCoordinates(1, 2 * Math.PI * k / n)), MatrixSpectra.Eigenvalues(a, n), 1e-12);
        Assert.Equal(1, MatrixSpectra.SpectralRadius(a, n), 1e-13);
        Assert.Equal(1, MatrixSpectra.LargestSingularValue(a, n, n), 1e-13);
    }

    [Theory]
    [InlineData(2, 1e-7)]
    [InlineData(3, 1e-4)]
    [InlineData(5, 1e-2)]
    public void Jordan_block_radius_is_its_eigenvalue_to_within_its_conditioning(int m, double tolerance)
    {
        // A defective eigenvalue of multiplicity m moves by ~eps^(1/m) under rounding: the tolerance is that, not a bug.
        const double Lambda = 0.9;
        double[] a = new double[m * m];
        for (int i = 0; i < m; i++)
        {
            a[(i * m) + i] = Lambda;
            if (i + 1 < m)
            {
                a[(i * m) + i + 1] = 1;
            }
        }

        Assert.Equal(Lambda, MatrixSpectra.SpectralRadius(a, m), tolerance);
        foreach (Complex lambda in MatrixSpectra.Eigenvalues(a, m))
        {
            Assert.True(Complex.Abs(lambda - Lambda) <= tolerance, $"{lambda}");
        }

        // Far above the radius: the non-normal part dominates the norm. For m = 2, sigma^2 = (1 + 2 l^2 + sqrt(1 + 4 l^2)) / 2.
        if (m == 2)
        {
            double sigma = Math.Sqrt((1 + (2 * Lambda * Lambda) + Math.Sqrt(1 + (4 * Lambda * Lambda))) / 2);
            Assert.Equal(sigma, MatrixSpectra.LargestSingularValue(a, 2, 2), 1e-14);
        }

        Assert.Equal(ReferenceSpectra.SingularValues(a, m, m)[0], MatrixSpectra.LargestSingularValue(a, m, m), 1e-13);
    }

    [Fact]
    public void Rank_one_matrix_has_largest_singular_value_the_product_of_the_norms()
    {
        double[] u = [1, -2, 0.5], v = [3, 0, -1, 2, 0.25];
        double[] a = new double[3 * 5];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                a[(i * 5) + j] = u[i] * v[j];
            }
        }

        double expected = Math.Sqrt(u.Sum(x => x * x)) * Math.Sqrt(v.Sum(x => x * x));
        Assert.Equal(expected, MatrixSpectra.LargestSingularValue(a, 3, 5), 1e-13);
        Assert.Equal(expected, MatrixSpectra.LargestSingularValue(Transpose(a, 3, 5), 5, 3), 1e-13);
    }

    [Fact]
    public void Degenerate_sizes_and_non_finite_values()
    {
        Assert.Empty(MatrixSpectra.Eigenvalues(ReadOnlySpan<double>.Empty, 0));
        Assert.Equal(0, MatrixSpectra.SpectralRadius(new double[9], 3));
        Assert.Equal(-4, MatrixSpectra.Eigenvalues([-4.0], 1)[0].Real);
        Assert.Equal(0, MatrixSpectra.LargestSingularValue(ReadOnlySpan<double>.Empty, 0, 4));
        Assert.Equal("matrix", Assert.Throws<ArgumentException>(() => MatrixSpectra.SpectralRadius([1.0, double.NaN, 0, 1], 2)).ParamName);
        Assert.Equal("matrix", Assert.Throws<ArgumentException>(() => MatrixSpectra.SpectralRadius(new double[5], 2)).ParamName);
        Assert.Equal("matrix", Assert.Throws<ArgumentException>(() => MatrixSpectra.LargestSingularValue(new double[5], 2, 3)).ParamName);
    }

    [Property(MaxTest = 100)]
    public void Random_matrix_eigenvalues_have_the_traces_of_its_powers_as_power_sums(int seed)
    {
        var random = new Random(seed);
        int n = random.Next(1, 31);
        double[] a = RandomMatrix(random, n, n, 1 / Math.Sqrt(n));
        Complex[] eigenvalues = MatrixSpectra.Eigenvalues(a, n);
        Assert.Equal(n, eigenvalues.Length);

        // sum_i lambda_i^p = trace(A^p) for p = 1..n determines the spectrum (Newton's identities); rounding in either
        // side grows like p ||A||^p.
        double[] traces = ReferenceSpectra.TracesOfPowers(a, n, n);
        double sigma = ReferenceSpectra.SingularValues(a, n, n)[0];
        for (int p = 1; p <= n; p++)
        {
            Complex sum = Complex.Zero;
            foreach (Complex lambda in eigenvalues)
            {
                sum += Complex.Pow(lambda, p);
            }

            double tolerance = 1e-11 * p * n * Math.Max(1, Math.Pow(sigma, p));
            Assert.True(Complex.Abs(sum - traces[p - 1]) <= tolerance, $"p={p}: sum lambda^p = {sum}, trace = {traces[p - 1]} (n={n}, seed={seed})");
        }

        // Conjugate pairs: the spectrum of a real matrix is closed under conjugation.
        AssertSameSpectrum(eigenvalues, eigenvalues.Select(Complex.Conjugate), 1e-9);

        Assert.Equal(ReferenceSpectra.GelfandSpectralRadius(a, n, 40), MatrixSpectra.SpectralRadius(a, n), 1e-8);
        Assert.Equal(sigma, MatrixSpectra.LargestSingularValue(a, n, n), 1e-12);
    }

    [Property(MaxTest = 50)]
    public void Random_rectangular_largest_singular_value_matches_Jacobi_SVD(int seed)
    {
        var random = new Random(seed);
        int rows = random.Next(1, 25), cols = random.Next(1, 25);
        double[] a = RandomMatrix(random, rows, cols, 3);
        Assert.Equal(ReferenceSpectra.SingularValues(a, rows, cols)[0], MatrixSpectra.LargestSingularValue(a, rows, cols), 1e-12 * (1 + (3 * Math.Max(rows, cols))));
    }

    [Fact]
    public void Elman_weight_readings_follow_radius_singular_value_and_activation()
    {
        // 0.5 I with tanh: rho = sigma = 0.5, gamma = 1.
        WeightBlockSpectrum half = ElmanBlock(Nonlinearity.Tanh, Diagonal([0.5, 0.5, 0.5, 0.5]));
        Assert.Equal("h", half.Gate);
        Assert.Equal(0.5, half.SpectralRadius, 1e-7);
        Assert.Equal(0.5, half.LargestSingularValue, 1e-7);
        Assert.Equal(GradientFlowReading.VanishingGuaranteed, half.Reading);

        // Rotations (orthogonal) with tanh: rho * gamma = 1.
        Assert.Equal(GradientFlowReading.Marginal, ElmanBlock(Nonlinearity.Tanh, Widen(JacobianNormTests.Rotations([0.7, 2.2], 1.0))).Reading);

        // 1.5 x rotations with ReLU: rho * gamma = 1.5.
        WeightBlockSpectrum growing = ElmanBlock(Nonlinearity.Relu, Widen(JacobianNormTests.Rotations([0.7, 2.2], 1.5)));
        Assert.Equal(1.5, growing.RadiusGain, 1e-6);
        Assert.Equal(GradientFlowReading.ExplodingRisk, growing.Reading);

        // Non-normal: rho = 0.5 but sigma > 3, so vanishing is predicted, not guaranteed (transient growth).
        WeightBlockSpectrum transient = ElmanBlock(Nonlinearity.Tanh, [0.5, 3, 0, 0.5]);
        Assert.Equal(0.5, transient.SpectralRadius, 1e-6);
        Assert.True(transient.LargestSingularValue > 3);
        Assert.Equal(GradientFlowReading.VanishingPredicted, transient.Reading);

        // Sigmoid's gamma = 0.25: 2 I reads as vanishing, 5 I as exploding.
        Assert.Equal(GradientFlowReading.VanishingGuaranteed, ElmanBlock(Nonlinearity.Sigmoid, Diagonal([2, 2, 2])).Reading);
        WeightBlockSpectrum sigmoid5 = ElmanBlock(Nonlinearity.Sigmoid, Diagonal([5, -5, 5]));
        Assert.Equal(0.25, sigmoid5.MaxActivationDerivative);
        Assert.Equal(GradientFlowReading.ExplodingRisk, sigmoid5.Reading);
        Assert.Contains("ExplodingRisk", sigmoid5.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Gated_layers_report_one_block_per_named_gate()
    {
        const int H = 3;
        var lstm = new LstmLayer(new ParameterStore(), 2, H);
        Span<float> w = lstm.WeightHh.Values;
        w.Clear();
        double[] scales = [0.5, 3, 2, 1];
        for (int gate = 0; gate < 4; gate++)
        {
            for (int j = 0; j < H; j++)
            {
                w[(((gate * H) + j) * H) + j] = (float)scales[gate];
            }
        }

        RecurrentWeightReport report = RecurrentWeightSpectra.Analyze(lstm);
        Assert.Equal(["i", "f", "g", "o"], report.Blocks.Select(b => b.Gate));
        Assert.Equal([0, H, 2 * H, 3 * H], report.Blocks.Select(b => b.RowOffset));
        Assert.Equal([0.25, 0.25, 1, 0.25], report.Blocks.Select(b => b.MaxActivationDerivative));
        Assert.Equal(scales, report.Blocks.Select(b => Math.Round(b.SpectralRadius, 6)));
        Assert.Equal(GradientFlowReading.VanishingGuaranteed, report.Blocks[1].Reading);
        Assert.Equal(GradientFlowReading.ExplodingRisk, report.Blocks[2].Reading);
        Assert.Equal(Math.Sqrt(scales.Sum(s => s * s)), report.LargestSingularValue, 1e-6);
        Assert.Contains("weight_hh_l0", report.Describe(), StringComparison.Ordinal);

        var gru = new GruLayer(new ParameterStore(), 2, H, seed: 3);
        RecurrentWeightReport gruReport = RecurrentWeightSpectra.Analyze(gru);
        Assert.Equal(["r", "z", "n"], gruReport.Blocks.Select(b => b.Gate));
        for (int gate = 0; gate < 3; gate++)
        {
            double[] block = Widen(gru.WeightHh.Values.Slice(gate * H * H, H * H).ToArray());
            Assert.Equal(ReferenceSpectra.SingularValues(block, H, H)[0], gruReport.Blocks[gate].LargestSingularValue, 1e-12);
            Assert.Equal(ReferenceSpectra.GelfandSpectralRadius(block, H, 40), gruReport.Blocks[gate].SpectralRadius, 1e-6);
        }
    }

    private static WeightBlockSpectrum ElmanBlock(Nonlinearity nonlinearity, double[] weight)
    {
        int h = (int)Math.Sqrt(weight.Length);
        var layer = new ElmanLayer(new ParameterStore(), 1, h, nonlinearity);
        for (int i = 0; i < weight.Length; i++)
        {
            layer.WeightHh.Values[i] = (float)weight[i];
        }

        RecurrentWeightReport report = RecurrentWeightSpectra.Analyze(layer);
        return Assert.Single(report.Blocks);
    }

    // Every expected eigenvalue matched to a distinct actual one within the tolerance (greedy nearest).
    private static void AssertSameSpectrum(IEnumerable<Complex> expected, IEnumerable<Complex> actual, double tolerance)
    {
        List<Complex> remaining = [.. actual];
        Complex[] wanted = [.. expected];
        Assert.Equal(wanted.Length, remaining.Count);
        foreach (Complex e in wanted)
        {
            int best = 0;
            for (int i = 1; i < remaining.Count; i++)
            {
                if (Complex.Abs(remaining[i] - e) < Complex.Abs(remaining[best] - e))
                {
                    best = i;
                }
            }

            Assert.True(Complex.Abs(remaining[best] - e) <= tolerance, $"expected eigenvalue {e}, nearest {remaining[best]}; spectrum [{string.Join(", ", actual)}]");
            remaining.RemoveAt(best);
        }
    }

    private static double[] Diagonal(double[] d)
    {
        double[] a = new double[d.Length * d.Length];
        for (int i = 0; i < d.Length; i++)
        {
            a[(i * d.Length) + i] = d[i];
        }

        return a;
    }

    private static double[] RandomMatrix(Random random, int rows, int cols, double scale)
    {
        double[] a = new double[rows * cols];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = scale * ((2 * random.NextDouble()) - 1);
        }

        return a;
    }

    private static double[] UnitUpperTriangular(int n, Random random)
    {
        double[] s = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            s[(i * n) + i] = 1;
            for (int j = i + 1; j < n; j++)
            {
                s[(i * n) + j] = (2 * random.NextDouble()) - 1;
            }
        }

        return s;
    }

    // Back substitution, column by column: S X = I.
    private static double[] InverseUnitUpperTriangular(double[] s, int n)
    {
        double[] x = new double[n * n];
        for (int col = 0; col < n; col++)
        {
            for (int i = n - 1; i >= 0; i--)
            {
                double sum = i == col ? 1 : 0;
                for (int k = i + 1; k < n; k++)
                {
                    sum -= s[(i * n) + k] * x[(k * n) + col];
                }

                x[(i * n) + col] = sum;
            }
        }

        return x;
    }

    private static double[] Transpose(double[] a, int rows, int cols)
    {
        double[] t = new double[rows * cols];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                t[(j * rows) + i] = a[(i * cols) + j];
            }
        }

        return t;
    }

    private static double[] Widen(float[] values) => Array.ConvertAll(values, v => (double)v);
}
