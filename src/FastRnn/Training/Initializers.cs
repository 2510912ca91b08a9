// Legend: H hidden size, G gates (Elman 1, GRU 3, LSTM 4 in order i, f, g, o), I input size; a weight is [rows, columns]
// = [out, in], row-major, so fan_in = columns and fan_out = rows (PyTorch's _calculate_fan_in_and_fan_out for 2-D).
// Random draws come from SeededRandom (xoshiro256**, seeded by SplitMix64), not System.Random, so a seed gives the same
// values whatever .NET's Random does; values are drawn in row-major order of the destination.
using System.Numerics.Tensors;
using FastRnn.Cells;
using FastRnn.Layers;

namespace FastRnn.Training;

/// <summary>
/// Seeded, reproducible parameter initializations with PyTorch's definitions (<c>torch.nn.init</c>): uniform, normal,
/// Xavier/Glorot, Kaiming/He, orthogonal (whole matrix or per gate block), constants, the LSTM forget-gate bias, and
/// <see cref="Initialize"/> for a whole recurrent layer.
/// </summary>
/// <remarks>
/// The same seed gives the same values: uniform draws are bitwise reproducible on every platform; normal draws (and so
/// orthogonal matrices) use <see cref="Math.Log(double)"/>, whose last-bit rounding may differ between platforms' math
/// libraries, which is almost never visible after rounding to float. The values differ from PyTorch's for the same seed
/// (another generator); the distributions are the same. Not for hot paths: orthogonal initialization allocates scratch.
/// </remarks>
public static class Initializers
{
    /// <summary>Sets every value to 0.</summary>
    /// <param name="values">The tensor, any shape.</param>
    public static void Zeros(Span<float> values) => values.Clear();

    /// <summary>Sets every value to <paramref name="value"/>.</summary>
    /// <param name="values">The tensor, any shape.</param>
    /// <param name="value">The constant.</param>
    public static void Constant(Span<float> values, float value) => values.Fill(value);

    /// <summary>Uniform in <c>[low, high)</c> (after rounding to float, <c>[low, high]</c>), as <c>nn.init.uniform_</c>.</summary>
    /// <param name="values">The tensor, any shape.</param>
    /// <param name="low">Lower bound, finite.</param>
    /// <param name="high">Upper bound, finite and &gt;= <paramref name="low"/>.</param>
    /// <param name="seed">Seed.</param>
    public static void Uniform(Span<float> values, double low, double high, int seed)
    {
        ValidateRange(low, high);
        var random = new SeededRandom(seed);
        FillUniform(values, low, high, ref random);
    }

    /// <summary>Normal with the given mean and standard deviation, as <c>nn.init.normal_</c>.</summary>
    /// <param name="values">The tensor, any shape.</param>
    /// <param name="mean">Mean, finite.</param>
    /// <param name="std">Standard deviation, finite and &gt;= 0.</param>
    /// <param name="seed">Seed.</param>
    public static void Normal(Span<float> values, double mean, double std, int seed)
    {
        ValidateNormal(mean, std);
        var random = new SeededRandom(seed);
        FillNormal(values, mean, std, ref random);
    }

    /// <summary>PyTorch's default for recurrent layers (and <c>nn.Linear</c>'s bias): uniform in <c>[-1/sqrt(H), 1/sqrt(H)]</c>.</summary>
    /// <param name="values">The tensor, any shape.</param>
    /// <param name="hiddenSize">H (for a linear layer: its fan in).</param>
    /// <param name="seed">Seed.</param>
    public static void RecurrentDefault(Span<float> values, int hiddenSize, int seed)
    {
        ThrowHelper.ThrowIfNotPositive(hiddenSize);
        var random = new SeededRandom(seed);
        double bound = 1 / Math.Sqrt(hiddenSize);
        FillUniform(values, -bound, bound, ref random);
    }

    /// <summary>PyTorch's <c>nn.init.calculate_gain</c>: the factor that keeps activations' variance stable through the nonlinearity.</summary>
    /// <param name="nonlinearity">The nonlinearity (<see cref="Nonlinearity.Identity"/> is PyTorch's <c>linear</c>).</param>
    /// <param name="negativeSlope">The leaky ReLU slope (PyTorch's default 0.01); ignored otherwise.</param>
    /// <returns>1 for identity and sigmoid, 5/3 for tanh, <c>sqrt(2)</c> for ReLU, <c>sqrt(2 / (1 + slope^2))</c> for leaky ReLU.</returns>
    public static double Gain(Nonlinearity nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Identity or Nonlinearity.Sigmoid => 1,
        Nonlinearity.Tanh => 5.0 / 3,
        Nonlinearity.Relu => Math.Sqrt(2),
        Nonlinearity.LeakyRelu => Math.Sqrt(2 / (1 + (negativeSlope * negativeSlope))),
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "unknown nonlinearity"),
    };

    /// <summary>Xavier/Glorot uniform: <c>U(-a, a)</c> with <c>a = gain * sqrt(6 / (fanIn + fanOut))</c>.</summary>
    /// <param name="values">The tensor.</param>
    /// <param name="fanIn">Inputs per unit (a weight's columns), &gt; 0.</param>
    /// <param name="fanOut">Outputs (a weight's rows), &gt; 0.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="gain">Scale, finite and &gt;= 0.</param>
    public static void XavierUniform(Span<float> values, int fanIn, int fanOut, int seed, double gain = 1)
    {
        double bound = Math.Sqrt(3) * XavierStd(fanIn, fanOut, gain);
        var random = new SeededRandom(seed);
        FillUniform(values, -bound, bound, ref random);
    }

    /// <summary>Xavier/Glorot normal: <c>N(0, std^2)</c> with <c>std = gain * sqrt(2 / (fanIn + fanOut))</c>.</summary>
    /// <param name="values">The tensor.</param>
    /// <param name="fanIn">Inputs per unit, &gt; 0.</param>
    /// <param name="fanOut">Outputs, &gt; 0.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="gain">Scale, finite and &gt;= 0.</param>
    public static void XavierNormal(Span<float> values, int fanIn, int fanOut, int seed, double gain = 1)
    {
        double std = XavierStd(fanIn, fanOut, gain);
        var random = new SeededRandom(seed);
        FillNormal(values, 0, std, ref random);
    }

    /// <summary>Xavier uniform with the fans of a weight tensor <c>[out, in, ...]</c> (fan in = in * receptive field, fan out = out * receptive field).</summary>
    /// <param name="tensor">A tensor of at least two dimensions.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="gain">Scale.</param>
    public static void XavierUniform(ParameterTensor tensor, int seed, double gain = 1)
    {
        (int fanIn, int fanOut) = Fans(tensor);
        XavierUniform(tensor.Values, fanIn, fanOut, seed, gain);
    }

    /// <summary>Xavier normal with the fans of a weight tensor <c>[out, in, ...]</c>.</summary>
    /// <param name="tensor">A tensor of at least two dimensions.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="gain">Scale.</param>
    public static void XavierNormal(ParameterTensor tensor, int seed, double gain = 1)
    {
        (int fanIn, int fanOut) = Fans(tensor);
        XavierNormal(tensor.Values, fanIn, fanOut, seed, gain);
    }

    /// <summary>Kaiming/He uniform: <c>U(-b, b)</c> with <c>b = gain * sqrt(3 / fan)</c>, <c>gain = </c><see cref="Gain"/>.</summary>
    /// <param name="values">The tensor.</param>
    /// <param name="fan">The fan whose variance is preserved (usually fan in), &gt; 0.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="nonlinearity">The nonlinearity that follows; PyTorch's default (leaky ReLU with slope 0) is <see cref="Nonlinearity.Relu"/>.</param>
    /// <param name="negativeSlope">The leaky ReLU slope (PyTorch's <c>a</c>).</param>
    public static void KaimingUniform(Span<float> values, int fan, int seed, Nonlinearity nonlinearity = Nonlinearity.Relu, double negativeSlope = 0)
    {
        double bound = Math.Sqrt(3) * KaimingStd(fan, Gain(nonlinearity, negativeSlope));
        var random = new SeededRandom(seed);
        FillUniform(values, -bound, bound, ref random);
    }

    /// <summary>Kaiming/He normal: <c>N(0, std^2)</c> with <c>std = gain / sqrt(fan)</c>.</summary>
    /// <param name="values">The tensor.</param>
    /// <param name="fan">The fan whose variance is preserved, &gt; 0.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="nonlinearity">The nonlinearity that follows.</param>
    /// <param name="negativeSlope">The leaky ReLU slope.</param>
    public static void KaimingNormal(Span<float> values, int fan, int seed, Nonlinearity nonlinearity = Nonlinearity.Relu, double negativeSlope = 0)
    {
        double std = KaimingStd(fan, Gain(nonlinearity, negativeSlope));
        var random = new SeededRandom(seed);
        FillNormal(values, 0, std, ref random);
    }

    /// <summary>Kaiming uniform on a weight tensor <c>[out, in, ...]</c>.</summary>
    /// <param name="tensor">A tensor of at least two dimensions.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="mode">Which fan to use.</param>
    /// <param name="nonlinearity">The nonlinearity that follows.</param>
    /// <param name="negativeSlope">The leaky ReLU slope.</param>
    public static void KaimingUniform(ParameterTensor tensor, int seed, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.Relu, double negativeSlope = 0)
    {
        (int fanIn, int fanOut) = Fans(tensor);
        KaimingUniform(tensor.Values, mode == FanMode.FanIn ? fanIn : fanOut, seed, nonlinearity, negativeSlope);
    }

    /// <summary>Kaiming normal on a weight tensor <c>[out, in, ...]</c>.</summary>
    /// <param name="tensor">A tensor of at least two dimensions.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="mode">Which fan to use.</param>
    /// <param name="nonlinearity">The nonlinearity that follows.</param>
    /// <param name="negativeSlope">The leaky ReLU slope.</param>
    public static void KaimingNormal(ParameterTensor tensor, int seed, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.Relu, double negativeSlope = 0)
    {
        (int fanIn, int fanOut) = Fans(tensor);
        KaimingNormal(tensor.Values, mode == FanMode.FanIn ? fanIn : fanOut, seed, nonlinearity, negativeSlope);
    }

    /// <summary>
    /// A (semi-)orthogonal matrix times <paramref name="gain"/>, as <c>nn.init.orthogonal_</c>: the Q factor of a Gaussian
    /// matrix's QR decomposition with R's diagonal made positive. Tall or square (rows &gt;= columns): orthonormal
    /// columns, <c>W^T W = gain^2 I</c>. Wide: orthonormal rows, <c>W W^T = gain^2 I</c>.
    /// </summary>
    /// <param name="values">W: [rows, columns], row-major.</param>
    /// <param name="rows">Rows, &gt; 0.</param>
    /// <param name="columns">Columns, &gt; 0.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="gain">Scale, finite and &gt;= 0.</param>
    public static void Orthogonal(Span<float> values, int rows, int columns, int seed, double gain = 1)
        => OrthogonalBlocks(values, 1, rows, columns, seed, gain);

    /// <summary>
    /// An independent <see cref="Orthogonal(Span{float}, int, int, int, double)"/> matrix in each of
    /// <paramref name="blocks"/> stacked row blocks, drawn one after the other from one seeded stream. For a recurrent
    /// weight <c>[G*H, H]</c> with <c>blocks = G</c>, each gate's <c>[H, H]</c> recurrence is orthogonal (the usual practice:
    /// an orthogonal initialization of the whole <c>[G*H, H]</c> matrix only makes its columns orthonormal).
    /// </summary>
    /// <param name="values">W: [blocks * rows, columns], row-major.</param>
    /// <param name="blocks">Number of row blocks (G), &gt; 0.</param>
    /// <param name="rows">Rows per block (H), &gt; 0.</param>
    /// <param name="columns">Columns, &gt; 0.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="gain">Scale, finite and &gt;= 0.</param>
    public static void OrthogonalPerBlock(Span<float> values, int blocks, int rows, int columns, int seed, double gain = 1)
        => OrthogonalBlocks(values, blocks, rows, columns, seed, gain);

    /// <summary>Orthogonal initialization of a tensor <c>[rows, ...]</c> viewed as <c>[rows, numel / rows]</c>, as <c>nn.init.orthogonal_</c>.</summary>
    /// <param name="tensor">A tensor of at least two dimensions.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="gain">Scale.</param>
    public static void Orthogonal(ParameterTensor tensor, int seed, double gain = 1)
    {
        int rows = MatrixRows(tensor);
        Orthogonal(tensor.Values, rows, tensor.Length / rows, seed, gain);
    }

    /// <summary>Per-gate orthogonal initialization of a gate-stacked weight <c>[G*H, X]</c>: each <c>[H, X]</c> block gets its own orthogonal matrix.</summary>
    /// <param name="tensor">A tensor of at least two dimensions whose first dimension is a multiple of <paramref name="gateCount"/>.</param>
    /// <param name="gateCount">G.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="gain">Scale.</param>
    public static void OrthogonalPerGate(ParameterTensor tensor, int gateCount, int seed, double gain = 1)
    {
        int rows = MatrixRows(tensor);
        ThrowHelper.ThrowIfNotPositive(gateCount);
        if (rows % gateCount != 0)
        {
            ThrowHelper.ThrowArgument(nameof(gateCount), $"{tensor.Name}{tensor.ShapeText} has {rows} rows, not a multiple of G={gateCount}");
        }

        OrthogonalPerBlock(tensor.Values, gateCount, rows / gateCount, tensor.Length / rows, seed, gain);
    }

    /// <summary>Sets the forget gate's block <c>[H, 2H)</c> of an LSTM bias <c>[4H]</c> (gate order i, f, g, o) to <paramref name="value"/>.</summary>
    /// <param name="bias">An LSTM bias vector: [4H].</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="value">The forget-gate bias, e.g. 1.</param>
    public static void SetForgetGateBias(Span<float> bias, int hiddenSize, float value)
    {
        ThrowHelper.ThrowIfNotPositive(hiddenSize);
        ThrowHelper.ThrowIfLengthMismatch(bias, nameof(bias), new Dims("G", LstmCell.GateCount, "H", hiddenSize));
        bias.Slice(LstmCell.F * hiddenSize, hiddenSize).Fill(value);
    }

    /// <summary>
    /// Sets an LSTM layer's forget-gate biases: the f block of <c>bias_ih</c> to <paramref name="inputBiasValue"/> and, unless
    /// null, that of <c>bias_hh</c> to <paramref name="hiddenBiasValue"/>. The gate sees their sum; the default (0 for
    /// <c>bias_hh</c>) makes it exactly <paramref name="inputBiasValue"/>.
    /// </summary>
    /// <param name="layer">The LSTM layer.</param>
    /// <param name="inputBiasValue">The value for <c>bias_ih</c>'s f block, e.g. 1.</param>
    /// <param name="hiddenBiasValue">The value for <c>bias_hh</c>'s f block, or null to leave it.</param>
    public static void SetForgetGateBias(LstmLayer layer, float inputBiasValue, float? hiddenBiasValue = 0f)
    {
        ArgumentNullException.ThrowIfNull(layer);
        SetForgetGateBias(layer.BiasIh.Values, layer.HiddenSize, inputBiasValue);
        if (hiddenBiasValue is float hidden)
        {
            SetForgetGateBias(layer.BiasHh.Values, layer.HiddenSize, hidden);
        }
    }

    /// <summary>
    /// Initializes a recurrent layer's four tensors by <paramref name="recipe"/>, drawing <c>weight_ih</c>, <c>weight_hh</c>,
    /// <c>bias_ih</c>, <c>bias_hh</c> in that order from one stream seeded by <paramref name="seed"/> (what a scheme draws
    /// depends on the schemes before it).
    /// </summary>
    /// <param name="layer">The layer.</param>
    /// <param name="recipe">The schemes; <see cref="RecurrentInitialization.PyTorchDefault"/> reproduces PyTorch's distribution.</param>
    /// <param name="seed">Seed.</param>
    /// <exception cref="ArgumentException">A forget-gate bias is asked for a layer that is not an LSTM, the gain is negative or
    /// not finite, or a scheme is unknown. Nothing is written.</exception>
    public static void Initialize(RecurrentLayer layer, RecurrentInitialization recipe, int seed)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(recipe);
        if (recipe.ForgetGateBias is not null && layer is not LstmLayer)
        {
            ThrowHelper.ThrowArgument(nameof(recipe), $"a forget-gate bias applies to LSTM layers, not {layer.GetType().Name}");
        }

        if (recipe.Gain is double g && (!double.IsFinite(g) || g < 0))
        {
            ThrowHelper.ThrowArgument(nameof(recipe), $"the gain must be finite and >= 0, was {g}");
        }

        if (!Enum.IsDefined(recipe.InputWeights) || !Enum.IsDefined(recipe.RecurrentWeights))
        {
            ThrowHelper.ThrowArgument(nameof(recipe), $"unknown weight initialization ({recipe.InputWeights}, {recipe.RecurrentWeights})");
        }

        var random = new SeededRandom(seed);
        int gh = layer.GateCount * layer.HiddenSize;
        FillWeight(layer.WeightIh.Values, recipe.InputWeights, layer, gh, layer.InputSize, recipe.Gain, ref random);
        FillWeight(layer.WeightHh.Values, recipe.RecurrentWeights, layer, gh, layer.HiddenSize, recipe.Gain, ref random);
        double bound = 1 / Math.Sqrt(layer.HiddenSize);
        foreach (ParameterTensor bias in (ReadOnlySpan<ParameterTensor>)[layer.BiasIh, layer.BiasHh])
        {
            if (recipe.Bias is float constant)
            {
                bias.Values.Fill(constant);
            }
            else
            {
                FillUniform(bias.Values, -bound, bound, ref random);
            }
        }

        if (recipe.ForgetGateBias is float forget)
        {
            SetForgetGateBias((LstmLayer)layer, forget);
        }
    }

    private static void FillWeight(Span<float> values, WeightInitialization scheme, RecurrentLayer layer, int rows, int columns, double? gain, ref SeededRandom random)
    {
        // values: [G*H, X]; fan in X, fan out G*H.
        switch (scheme)
        {
            case WeightInitialization.PyTorchDefault:
                double bound = 1 / Math.Sqrt(layer.HiddenSize);
                FillUniform(values, -bound, bound, ref random);
                break;
            case WeightInitialization.XavierUniform:
                double xavierBound = Math.Sqrt(3) * XavierStd(columns, rows, gain ?? 1);
                FillUniform(values, -xavierBound, xavierBound, ref random);
                break;
            case WeightInitialization.XavierNormal:
                FillNormal(values, 0, XavierStd(columns, rows, gain ?? 1), ref random);
                break;
            case WeightInitialization.KaimingUniform:
                double kaimingBound = Math.Sqrt(3) * KaimingStd(columns, gain ?? Math.Sqrt(2));
                FillUniform(values, -kaimingBound, kaimingBound, ref random);
                break;
            case WeightInitialization.KaimingNormal:
                FillNormal(values, 0, KaimingStd(columns, gain ?? Math.Sqrt(2)), ref random);
                break;
            case WeightInitialization.Orthogonal:
                FillOrthogonal(values, 1, rows, columns, gain ?? 1, ref random);
                break;
            case WeightInitialization.OrthogonalPerGate:
                FillOrthogonal(values, layer.GateCount, layer.HiddenSize, columns, gain ?? 1, ref random);
                break;
            case WeightInitialization.Zeros:
                values.Clear();
                break;
            default:
                ThrowHelper.ThrowOutOfRange(nameof(scheme), $"unknown weight initialization {scheme}");
                break;
        }
    }

    private static void OrthogonalBlocks(Span<float> values, int blocks, int rows, int columns, int seed, double gain)
    {
        ThrowHelper.ThrowIfNotPositive(blocks);
        ThrowHelper.ThrowIfNotPositive(rows);
        ThrowHelper.ThrowIfNotPositive(columns);
        ThrowHelper.ThrowIfLengthMismatch(values, nameof(values), new Dims("blocks", blocks, "rows", rows, "columns", columns));
        ValidateGain(gain);
        var random = new SeededRandom(seed);
        FillOrthogonal(values, blocks, rows, columns, gain, ref random);
    }

    /// <summary>
    /// values: [blocks * rows, columns]. Per block: A [rows, columns] Gaussian, row-major; M = A (tall) or A^T (wide), so
    /// M is [m, n] with m &gt;= n; Q from modified Gram-Schmidt in double with one re-orthogonalization pass ("twice is
    /// enough", Giraud et al. 2005). Gram-Schmidt makes every R_jj = ||q_j|| positive, so Q is exactly torch's
    /// sign-corrected Householder Q (the QR factorization with a positive diagonal is unique).
    /// </summary>
    private static void FillOrthogonal(Span<float> values, int blocks, int rows, int columns, double gain, ref SeededRandom random)
    {
        bool wide = rows < columns;
        int m = wide ? columns : rows, n = wide ? rows : columns;
        double[] a = new double[rows * columns];
        double[] q = new double[n * m]; // q: [n, m], row j is column j of M
        for (int block = 0; block < blocks; block++)
        {
            for (int i = 0; i < a.Length; i++)
            {
                a[i] = random.NextGaussian();
            }

            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < columns; c++)
                {
                    // M[i, j] = A[r, c] with (i, j) = (r, c) when tall, (c, r) when wide (M = A^T); stored as q[j, i].
                    int i = wide ? c : r, j = wide ? r : c;
                    q[(j * m) + i] = a[(r * columns) + c];
                }
            }

            for (int j = 0; j < n; j++)
            {
                Span<double> qj = q.AsSpan(j * m, m);
                for (int pass = 0; pass < 2; pass++)
                {
                    for (int k = 0; k < j; k++)
                    {
                        ReadOnlySpan<double> qk = q.AsSpan(k * m, m);
                        TensorPrimitives.MultiplyAdd(qk, -TensorPrimitives.Dot(qk, qj), qj, qj);
                    }
                }

                double norm = TensorPrimitives.Norm((ReadOnlySpan<double>)qj);
                if (!(norm > 0))
                {
                    // A Gaussian matrix is rank-deficient with probability 0; fail loudly rather than write NaN.
                    throw new InvalidOperationException($"orthogonal initialization drew a degenerate matrix (column {j} has norm {norm})");
                }

                TensorPrimitives.Multiply(qj, 1 / norm, qj);
            }

            // W[r, c] = gain * Q[r, c] (tall) or gain * Q^T[r, c] = gain * Q[c, r] (wide); Q[i, j] = q[j, i].
            Span<float> w = values.Slice(block * rows * columns, rows * columns);
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < columns; c++)
                {
                    int i = wide ? c : r, j = wide ? r : c;
                    w[(r * columns) + c] = (float)(gain * q[(j * m) + i]);
                }
            }
        }
    }

    private static void FillUniform(Span<float> values, double low, double high, ref SeededRandom random)
    {
        double width = high - low;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(low + (width * random.NextDouble()));
        }
    }

    private static void FillNormal(Span<float> values, double mean, double std, ref SeededRandom random)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(mean + (std * random.NextGaussian()));
        }
    }

    private static double XavierStd(int fanIn, int fanOut, double gain)
    {
        ThrowHelper.ThrowIfNotPositive(fanIn);
        ThrowHelper.ThrowIfNotPositive(fanOut);
        ValidateGain(gain);
        return gain * Math.Sqrt(2.0 / ((double)fanIn + fanOut));
    }

    private static double KaimingStd(int fan, double gain)
    {
        ThrowHelper.ThrowIfNotPositive(fan);
        ValidateGain(gain);
        return gain / Math.Sqrt(fan);
    }

    private static (int FanIn, int FanOut) Fans(ParameterTensor tensor)
    {
        int rows = MatrixRows(tensor);
        ReadOnlySpan<int> shape = tensor.Shape;
        int receptive = tensor.Length / (rows * shape[1]);
        return (shape[1] * receptive, rows * receptive);
    }

    /// <summary>The first dimension of a tensor of at least two dimensions (PyTorch refuses fans of a vector).</summary>
    private static int MatrixRows(ParameterTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Shape.Length < 2)
        {
            ThrowHelper.ThrowArgument(nameof(tensor), $"{tensor.Name}{tensor.ShapeText} has fewer than two dimensions; fans and matrix shape need a weight [out, in, ...]");
        }

        return tensor.Shape[0];
    }

    private static void ValidateGain(double gain)
    {
        if (!double.IsFinite(gain) || gain < 0)
        {
            ThrowHelper.ThrowOutOfRange(nameof(gain), $"must be finite and >= 0, was {gain}");
        }
    }

    private static void ValidateRange(double low, double high)
    {
        if (!double.IsFinite(low) || !double.IsFinite(high) || !(low <= high))
        {
            ThrowHelper.ThrowOutOfRange(nameof(high), $"need finite low <= high, got [{low}, {high}]");
        }
    }

    private static void ValidateNormal(double mean, double std)
    {
        if (!double.IsFinite(mean) || !double.IsFinite(std) || std < 0)
        {
            ThrowHelper.ThrowOutOfRange(nameof(std), $"need finite mean and std >= 0, got mean {mean}, std {std}");
        }
    }
}
