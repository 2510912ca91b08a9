// Initializers: the generator, bounds, statistics, orthogonality, reproducibility, layer recipes and validation.
using FastRnn.Layers;
using FastRnn.Training;
using FsCheck.Xunit;

namespace FastRnn.Tests;

public class InitializerTests
{
    /// <summary>gram[i, j] = sum_k W[k, i] W[k, j] over columns (columnwise: W^T W) or over rows (W W^T).</summary>
    private static double[,] Gram(ReadOnlySpan<float> w, int rows, int columns, bool ofColumns)
    {
        int n = ofColumns ? columns : rows, k = ofColumns ? rows : columns;
        var gram = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int s = 0; s < k; s++)
                {
                    double a = ofColumns ? w[(s * columns) + i] : w[(i * columns) + s];
                    double b = ofColumns ? w[(s * columns) + j] : w[(j * columns) + s];
                    sum += a * b;
                }

                gram[i, j] = sum;
            }
        }

        return gram;
    }

    /// <summary>The orthonormal side of W (columns when tall or square, rows when wide) has Gram matrix gain^2 I.</summary>
    private static void AssertOrthogonal(ReadOnlySpan<float> w, int rows, int columns, double gain, string what)
    {
        double[,] gram = Gram(w, rows, columns, ofColumns: rows >= columns);
        int n = gram.GetLength(0);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double expected = i == j ? gain * gain : 0;
                Assert.True(Math.Abs(gram[i, j] - expected) <= 1e-5 * Math.Max(1, gain * gain), $"{what} [{rows}x{columns}] gram[{i},{j}] = {gram[i, j]}, expected {expected}");
            }
        }
    }

    [Fact]
    public void The_generator_matches_an_independent_implementation()
    {
        // xoshiro256** seeded by SplitMix64, reimplemented in Python (python3.11):
        //   M = (1 << 64) - 1
        //   def splitmix(x):
        //       x = (x + 0x9E3779B97F4A7C15) & M; z = x
        //       z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M; z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        //       return x, z ^ (z >> 31)
        //   def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
        //   def xoshiro(seed):
        //       x = seed & M; s = []
        //       for _ in range(4): x, z = splitmix(x); s.append(z)
        //       while True:
        //           r = (rotl((s[1] * 5) & M, 7) * 9) & M; t = (s[1] << 17) & M
        //           s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)
        //           yield r
        //   splitmix(0)[1] -> 0xe220a8397b1dcdaf (SplitMix64's published first output for seed 0)
        //   g = xoshiro(-7); [hex(next(g)) for _ in range(3)]
        //   g = xoshiro(12345); [np.float32(-0.5 + 1.5 * ((next(g) >> 11) * (1.0 / (1 << 53)))) for _ in range(6)]
        var seeder = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, seeder.Next());
        var random = new SeededRandom(-7);
        Assert.Equal(0xF305399B3B63F2C2UL, random.NextUInt64());
        Assert.Equal(0xD693DD0A37AE5BDCUL, random.NextUInt64());
        Assert.Equal(0x736E8338A3F226B9UL, random.NextUInt64());

        float[] values = new float[6];
        Initializers.Uniform(values, -0.5, 1.0, seed: 12345);
        Assert.Equal([0.6157122f, -0.3049317f, 0.9450017f, -0.42748982f, 0.33277428f, -0.48398292f], values);
    }

    [Property(MaxTest = 100)]
    public void Orthogonal_matrices_have_orthonormal_columns_or_rows(int seed)
    {
        var random = new Random(seed);
        int rows = random.Next(1, 41), columns = random.Next(1, 41);
        double gain = random.Next(3) switch { 0 => 1, 1 => 0.5, _ => 5.0 / 3 };
        float[] w = new float[rows * columns];
        Initializers.Orthogonal(w, rows, columns, seed, gain);
        AssertOrthogonal(w, rows, columns, gain, "orthogonal");
    }

    [Property(MaxTest = 60)]
    public void Per_gate_blocks_are_each_orthogonal(int seed)
    {
        var random = new Random(seed);
        int gates = random.Next(1, 5), hidden = random.Next(1, 25), columns = random.Next(1, 31);
        float[] w = new float[gates * hidden * columns];
        Initializers.OrthogonalPerBlock(w, gates, hidden, columns, seed);
        for (int g = 0; g < gates; g++)
        {
            AssertOrthogonal(w.AsSpan(g * hidden * columns, hidden * columns), hidden, columns, 1, $"gate {g}");
        }
    }

    [Fact]
    public void Whole_and_per_gate_orthogonal_on_a_recurrent_weight()
    {
        var store = new ParameterStore();
        var lstm = new LstmLayer(store, 3, 7);
        // Whole [4H, H]: the H columns are orthonormal, the gate blocks are not orthogonal on their own.
        Initializers.Orthogonal(lstm.WeightHh, seed: 5);
        AssertOrthogonal(lstm.WeightHh.Values, 28, 7, 1, "whole");
        Assert.ThrowsAny<Exception>(() => AssertOrthogonal(lstm.WeightHh.Values[..49], 7, 7, 1, "first block"));

        Initializers.OrthogonalPerGate(lstm.WeightHh, gateCount: 4, seed: 5, gain: 2);
        for (int g = 0; g < 4; g++)
        {
            AssertOrthogonal(lstm.WeightHh.Values.Slice(g * 49, 49), 7, 7, 2, $"gate {g}");
        }
    }

    [Theory]
    [InlineData(7, 4)]
    [InlineData(5, 5)]
    [InlineData(3, 6)]
    public void Orthogonal_is_the_sign_corrected_q_of_its_gaussian_draw(int rows, int columns)
    {
        // Normal(seed) draws the same standard normals, in the same row-major order, as Orthogonal(seed) uses for A.
        // Tall: A = Q R, so R = W^T A; wide: A^T = Q R with W = Q^T, so R = W A^T. R must be upper triangular with a
        // positive diagonal (torch multiplies Q by sign(diag(R))).
        float[] a = new float[rows * columns], w = new float[rows * columns];
        Initializers.Normal(a, 0, 1, seed: 11);
        Initializers.Orthogonal(w, rows, columns, seed: 11);
        bool tall = rows >= columns;
        int n = Math.Min(rows, columns), m = Math.Max(rows, columns);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double r = 0;
                for (int k = 0; k < m; k++)
                {
                    r += tall ? (double)w[(k * columns) + i] * a[(k * columns) + j] : (double)w[(i * columns) + k] * a[(j * columns) + k];
                }

                if (i > j)
                {
                    Assert.True(Math.Abs(r) < 1e-5, $"R[{i},{j}] = {r} below the diagonal");
                }
                else if (i == j)
                {
                    Assert.True(r > 0, $"R[{i},{i}] = {r} not positive");
                }
            }
        }
    }

    [Property(MaxTest = 100)]
    public void Uniform_schemes_stay_within_their_bound(int seed)
    {
        var random = new Random(seed);
        int fanIn = random.Next(1, 50), fanOut = random.Next(1, 50);
        float[] w = new float[fanIn * fanOut];
        double gain = 0.5 + random.NextDouble();
        void Check(double bound, string what)
        {
            float limit = (float)bound;
            Assert.All(w, v => Assert.True(Math.Abs(v) <= limit, $"{what}: |{v}| > {limit}"));
        }

        Initializers.XavierUniform(w, fanIn, fanOut, seed, gain);
        Check(gain * Math.Sqrt(6.0 / (fanIn + fanOut)), "xavier");
        Initializers.KaimingUniform(w, fanIn, seed, Nonlinearity.LeakyRelu, 0.2);
        Check(Math.Sqrt(2 / 1.04) * Math.Sqrt(3.0 / fanIn), "kaiming");
        Initializers.RecurrentDefault(w, fanOut, seed);
        Check(1 / Math.Sqrt(fanOut), "recurrent default");
    }

    public static TheoryData<string> Schemes => ["Uniform", "Normal", "RecurrentDefault", "XavierUniform", "XavierNormal", "KaimingUniform", "KaimingNormal"];

    /// <summary>Fills w by <paramref name="scheme"/>; returns the distribution's mean, standard deviation and whether it is normal.</summary>
    private static (double Mean, double Std, bool IsNormal) Fill(string scheme, float[] w, int fanIn, int fanOut, int seed) => scheme switch
    {
        "Uniform" => Run(() => Initializers.Uniform(w, -1, 3, seed), 1, 4 / Math.Sqrt(12), false),
        "Normal" => Run(() => Initializers.Normal(w, 0.5, 2, seed), 0.5, 2, true),
        "RecurrentDefault" => Run(() => Initializers.RecurrentDefault(w, fanOut, seed), 0, 1 / Math.Sqrt(3.0 * fanOut), false),
        "XavierUniform" => Run(() => Initializers.XavierUniform(w, fanIn, fanOut, seed, 5.0 / 3), 0, 5.0 / 3 * Math.Sqrt(2.0 / (fanIn + fanOut)), false),
        "XavierNormal" => Run(() => Initializers.XavierNormal(w, fanIn, fanOut, seed), 0, Math.Sqrt(2.0 / (fanIn + fanOut)), true),
        "KaimingUniform" => Run(() => Initializers.KaimingUniform(w, fanIn, seed), 0, Math.Sqrt(2.0 / fanIn), false),
        "KaimingNormal" => Run(() => Initializers.KaimingNormal(w, fanIn, seed, Nonlinearity.Tanh), 0, 5.0 / 3 / Math.Sqrt(fanIn), true),
        _ => throw new ArgumentOutOfRangeException(nameof(scheme)),
    };

    private static (double, double, bool) Run(Action fill, double mean, double std, bool isNormal)
    {
        fill();
        return (mean, std, isNormal);
    }

    [Theory]
    [MemberData(nameof(Schemes))]
    public void Statistics_match_the_distribution(string scheme)
    {
        // 10^6 draws from a fixed seed (deterministic). Tolerances are many standard errors wide: the mean's is std/1000,
        // the variance's about 0.1% (uniform) and 0.14% (normal) relative, the 1-sigma fraction's 0.05%.
        const int fanIn = 1000, fanOut = 1000;
        float[] w = new float[fanIn * fanOut];
        (double mean, double std, bool isNormal) = Fill(scheme, w, fanIn, fanOut, seed: 2024);
        double sum = 0, squares = 0;
        int withinOneStd = 0;
        foreach (float v in w)
        {
            sum += v;
            squares += (double)v * v;
            withinOneStd += Math.Abs(v - mean) <= std ? 1 : 0;
        }

        double sampleMean = sum / w.Length, sampleVariance = (squares / w.Length) - (sampleMean * sampleMean);
        Assert.True(Math.Abs(sampleMean - mean) <= 6 * std / 1000, $"{scheme}: mean {sampleMean}, expected {mean}");
        Assert.True(Math.Abs((sampleVariance / (std * std)) - 1) <= 0.01, $"{scheme}: variance {sampleVariance}, expected {std * std}");
        // P(|x - mean| <= std): 0.6827 for a normal, 1/sqrt(3) = 0.5774 for a uniform.
        double fraction = (double)withinOneStd / w.Length, expectedFraction = isNormal ? 0.682689 : 1 / Math.Sqrt(3);
        Assert.True(Math.Abs(fraction - expectedFraction) <= 0.005, $"{scheme}: {fraction} within one std, expected {expectedFraction}");
    }

    [Theory]
    [MemberData(nameof(Schemes))]
    public void The_same_seed_gives_the_same_values(string scheme)
    {
        float[] a = new float[300], b = new float[300], c = new float[300];
        Fill(scheme, a, 20, 15, seed: 9);
        Fill(scheme, b, 20, 15, seed: 9);
        Fill(scheme, c, 20, 15, seed: 10);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Orthogonal_is_reproducible_by_seed()
    {
        float[] a = new float[60], b = new float[60], c = new float[60];
        Initializers.OrthogonalPerBlock(a, 3, 4, 5, seed: 1);
        Initializers.OrthogonalPerBlock(b, 3, 4, 5, seed: 1);
        Initializers.OrthogonalPerBlock(c, 3, 4, 5, seed: 2);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        // Blocks are independent draws, not copies.
        Assert.NotEqual(a[..20], a[20..40]);
    }

    [Fact]
    public void Gains_are_pytorch_s()
    {
        Assert.Equal(1, Initializers.Gain(Nonlinearity.Identity));
        Assert.Equal(1, Initializers.Gain(Nonlinearity.Sigmoid));
        Assert.Equal(5.0 / 3, Initializers.Gain(Nonlinearity.Tanh));
        Assert.Equal(Math.Sqrt(2), Initializers.Gain(Nonlinearity.Relu));
        Assert.Equal(Math.Sqrt(2 / 1.0001), Initializers.Gain(Nonlinearity.LeakyRelu), 1e-15);
        Assert.Equal(Math.Sqrt(2 / 1.25), Initializers.Gain(Nonlinearity.LeakyRelu, 0.5), 1e-15);
    }

    [Fact]
    public void Tensor_overloads_take_pytorch_s_fans_from_the_shape()
    {
        // weight [out = 6, in = 10]: fan_in 10, fan_out 6.
        var store = new ParameterStore();
        ParameterTensor t = store.Add("w", 6, 10);
        float[] expected = new float[60];

        Initializers.XavierUniform(t, seed: 3, gain: 2);
        Initializers.XavierUniform(expected, 10, 6, seed: 3, gain: 2);
        Assert.Equal(expected, t.Values.ToArray());
        Initializers.XavierNormal(t, seed: 3);
        Initializers.XavierNormal(expected, 10, 6, seed: 3);
        Assert.Equal(expected, t.Values.ToArray());
        Initializers.KaimingUniform(t, seed: 3);
        Initializers.KaimingUniform(expected, 10, seed: 3);
        Assert.Equal(expected, t.Values.ToArray());
        Initializers.KaimingNormal(t, seed: 3, FanMode.FanOut);
        Initializers.KaimingNormal(expected, 6, seed: 3);
        Assert.Equal(expected, t.Values.ToArray());

        // [out, in, k]: the receptive field multiplies both fans, as in PyTorch.
        ParameterTensor conv = store.Add("conv", 4, 3, 5);
        float[] convExpected = new float[60];
        Initializers.XavierUniform(conv, seed: 4);
        Initializers.XavierUniform(convExpected, 15, 20, seed: 4);
        Assert.Equal(convExpected, conv.Values.ToArray());
    }

    [Fact]
    public void The_forget_gate_bias_sets_the_second_block()
    {
        const int H = 3;
        var store = new ParameterStore();
        var lstm = new LstmLayer(store, 2, H, seed: 4);
        float[] ih = lstm.BiasIh.Values.ToArray(), hh = lstm.BiasHh.Values.ToArray();
        Initializers.SetForgetGateBias(lstm, 1f);
        for (int k = 0; k < 4 * H; k++)
        {
            bool forget = k >= H && k < 2 * H;
            Assert.Equal(forget ? 1f : ih[k], lstm.BiasIh.Values[k]);
            Assert.Equal(forget ? 0f : hh[k], lstm.BiasHh.Values[k]);
        }

        // Leaving bias_hh alone.
        lstm.BiasHh.Values.Fill(0.25f);
        Initializers.SetForgetGateBias(lstm, 2f, hiddenBiasValue: null);
        Assert.All(lstm.BiasHh.Values.ToArray(), v => Assert.Equal(0.25f, v));
        Assert.Equal(2f, lstm.BiasIh.Values[H]);
    }

    [Fact]
    public void A_layer_initialized_xavier_orthogonal_with_a_forget_bias()
    {
        const int I = 5, H = 6;
        var store = new ParameterStore();
        var lstm = new LstmLayer(store, I, H);
        RecurrentInitialization recipe = RecurrentInitialization.XavierOrthogonal with { ForgetGateBias = 1 };
        Initializers.Initialize(lstm, recipe, seed: 8);

        float bound = (float)Math.Sqrt(6.0 / (I + (4 * H)));
        Assert.All(lstm.WeightIh.Values.ToArray(), v => Assert.True(Math.Abs(v) <= bound));
        for (int g = 0; g < 4; g++)
        {
            AssertOrthogonal(lstm.WeightHh.Values.Slice(g * H * H, H * H), H, H, 1, $"gate {g}");
        }

        for (int k = 0; k < 4 * H; k++)
        {
            Assert.Equal(k >= H && k < 2 * H ? 1f : 0f, lstm.BiasIh.Values[k]);
            Assert.Equal(0f, lstm.BiasHh.Values[k]);
        }

        float[] first = store.Values.ToArray();
        Initializers.Initialize(lstm, recipe, seed: 8);
        Assert.Equal(first, store.Values.ToArray());
    }

    [Theory]
    [InlineData(WeightInitialization.PyTorchDefault)]
    [InlineData(WeightInitialization.XavierNormal)]
    [InlineData(WeightInitialization.KaimingUniform)]
    [InlineData(WeightInitialization.KaimingNormal)]
    [InlineData(WeightInitialization.Orthogonal)]
    [InlineData(WeightInitialization.Zeros)]
    public void Every_scheme_initializes_a_gru_layer(WeightInitialization scheme)
    {
        const int I = 4, H = 5;
        var store = new ParameterStore();
        var gru = new GruLayer(store, I, H);
        store.Values.Fill(float.NaN);
        Initializers.Initialize(gru, new RecurrentInitialization { InputWeights = scheme, RecurrentWeights = scheme }, seed: 3);
        Assert.All(store.Values.ToArray(), v => Assert.True(float.IsFinite(v)));
        float biasBound = (float)(1 / Math.Sqrt(H));
        Assert.All(gru.BiasIh.Values.ToArray(), v => Assert.True(Math.Abs(v) <= biasBound));
        switch (scheme)
        {
            case WeightInitialization.PyTorchDefault:
                Assert.All(gru.WeightHh.Values.ToArray(), v => Assert.True(Math.Abs(v) <= biasBound));
                break;
            case WeightInitialization.Orthogonal:
                AssertOrthogonal(gru.WeightHh.Values, 3 * H, H, 1, "weight_hh");
                AssertOrthogonal(gru.WeightIh.Values, 3 * H, I, 1, "weight_ih");
                break;
            case WeightInitialization.Zeros:
                Assert.All(gru.WeightIh.Values.ToArray(), v => Assert.Equal(0f, v));
                break;
        }
    }

    [Fact]
    public void Bad_arguments_throw_before_anything_is_written()
    {
        float[] w = new float[12];
        Assert.Throws<ArgumentException>(() => Initializers.Orthogonal(w, 3, 5, seed: 1));
        Assert.Throws<ArgumentException>(() => Initializers.OrthogonalPerBlock(w, 2, 3, 3, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Orthogonal(w, 0, 12, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Orthogonal(w, 3, 4, seed: 1, gain: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.XavierUniform(w, 0, 4, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.XavierNormal(w, 3, 4, seed: 1, gain: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.KaimingNormal(w, -3, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Normal(w, 0, -1, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Uniform(w, 1, 0, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Uniform(w, 0, double.PositiveInfinity, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.RecurrentDefault(w, 0, seed: 1));
        Assert.Throws<ArgumentException>(() => Initializers.SetForgetGateBias(w, 4, 1f));
        Assert.All(w, v => Assert.Equal(0f, v));

        var store = new ParameterStore();
        ParameterTensor bias = store.Add("b", 8);
        ParameterTensor weight = store.Add("w", 6, 2);
        Assert.Throws<ArgumentException>(() => Initializers.XavierUniform(bias, seed: 1));
        Assert.Throws<ArgumentException>(() => Initializers.Orthogonal(bias, seed: 1));
        Assert.Throws<ArgumentException>(() => Initializers.OrthogonalPerGate(weight, gateCount: 4, seed: 1));

        var gru = new GruLayer(store, 2, 3);
        store.Values.Clear();
        Assert.Throws<ArgumentException>(() => Initializers.Initialize(gru, RecurrentInitialization.PyTorchDefault with { ForgetGateBias = 1 }, seed: 1));
        Assert.Throws<ArgumentException>(() => Initializers.Initialize(gru, RecurrentInitialization.XavierOrthogonal with { Gain = -1 }, seed: 1));
        Assert.Throws<ArgumentException>(() => Initializers.Initialize(gru, new RecurrentInitialization { RecurrentWeights = (WeightInitialization)99 }, seed: 1));
        Assert.All(store.Values.ToArray(), v => Assert.Equal(0f, v));
    }
}
