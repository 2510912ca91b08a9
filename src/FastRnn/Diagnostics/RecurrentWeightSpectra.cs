// Legend: H hidden size, G gates (Elman 1, GRU 3, LSTM 4); W_hh is [G*H, H], gate block k is rows k*H .. (k+1)*H - 1.
using System.Text;
using FastRnn.Layers;

namespace FastRnn.Diagnostics;

/// <summary>
/// Spectral radius and largest singular value of a layer's recurrent weight <c>W_hh</c>, per [H, H] gate block, with the
/// reading of <see cref="GradientFlowReading"/>: an Elman layer's one block is its whole <c>W_hh</c>; an LSTM's blocks are
/// i, f, g, o and a GRU's r, z, n (PyTorch's order).
/// </summary>
/// <remarks>
/// For an Elman layer the reading is the seeds' argument exactly: BPTT multiplies <c>diag(f'(z_t)) W_hh</c> per step.
/// For the gated cells each block's reading describes the path through that gate alone (gamma = 0.25 for the sigmoid
/// gates, 1 for LSTM's g and GRU's n); the LSTM's cell state also carries gradient through <c>c_t = f*c_{t-1} + ...</c>,
/// which involves no <c>W_hh</c> at all, and the GRU's through <c>z*h_{t-1}</c>: use <see cref="JacobianNorms"/> to measure
/// the whole recurrence.
/// </remarks>
public static class RecurrentWeightSpectra
{
    /// <summary>How close to 1 <c>rho * gamma</c> must be to read <see cref="GradientFlowReading.Marginal"/> (float weights hold about 7 digits).</summary>
    public const double MarginalTolerance = 1e-5;

    private static readonly string[] s_lstmGates = ["i", "f", "g", "o"];
    private static readonly string[] s_gruGates = ["r", "z", "n"];

    /// <summary>Analyzes the current values of <paramref name="layer"/>'s <c>W_hh</c>.</summary>
    /// <param name="layer">An <see cref="ElmanLayer"/>, <see cref="LstmLayer"/> or <see cref="GruLayer"/>.</param>
    /// <returns>One <see cref="WeightBlockSpectrum"/> per gate block, and the whole matrix's largest singular value.</returns>
    /// <exception cref="ArgumentException">The weights hold a NaN or an infinity, or the layer type is unknown.</exception>
    public static RecurrentWeightReport Analyze(RecurrentLayer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        int H = layer.HiddenSize;
        (string[] names, double[] gammas) = layer switch
        {
            ElmanLayer elman => (["h"], [MaxActivationDerivative(elman.Nonlinearity, elman.LeakySlope)]),
            LstmLayer => (s_lstmGates, new double[] { 0.25, 0.25, 1, 0.25 }),
            GruLayer => (s_gruGates, new double[] { 0.25, 0.25, 1 }),
            _ => throw new ArgumentException($"no gate layout known for {layer.GetType().Name}", nameof(layer)),
        };

        ReadOnlySpan<float> weight = layer.WeightHh.Values;
        var blocks = new WeightBlockSpectrum[names.Length];
        for (int k = 0; k < names.Length; k++)
        {
            // block k: [H, H], contiguous rows
            ReadOnlySpan<float> block = weight.Slice(k * H * H, H * H);
            double radius = MatrixSpectra.SpectralRadius(block, H);
            double sigma = MatrixSpectra.LargestSingularValue(block, H, H);
            blocks[k] = new WeightBlockSpectrum(names[k], k * H, radius, sigma, gammas[k], Read(radius, sigma, gammas[k]));
        }

        double whole = names.Length == 1 ? blocks[0].LargestSingularValue : MatrixSpectra.LargestSingularValue(weight, names.Length * H, H);
        return new RecurrentWeightReport(layer.WeightHh.Name, H, blocks, whole);
    }

    /// <summary>The reading for a block with spectral radius rho, largest singular value sigma and activation bound gamma.</summary>
    /// <param name="spectralRadius">rho.</param>
    /// <param name="largestSingularValue">sigma (at least rho).</param>
    /// <param name="maxActivationDerivative">gamma.</param>
    /// <returns><see cref="GradientFlowReading.Marginal"/> when <c>|rho*gamma - 1| &lt;= </c><see cref="MarginalTolerance"/>; else
    /// <see cref="GradientFlowReading.VanishingGuaranteed"/> when <c>sigma*gamma &lt; 1</c>, <see cref="GradientFlowReading.VanishingPredicted"/>
    /// when <c>rho*gamma &lt; 1</c>, and <see cref="GradientFlowReading.ExplodingRisk"/> otherwise.</returns>
    public static GradientFlowReading Read(double spectralRadius, double largestSingularValue, double maxActivationDerivative)
    {
        double radiusGain = spectralRadius * maxActivationDerivative;
        return Math.Abs(radiusGain - 1) <= MarginalTolerance ? GradientFlowReading.Marginal
            : largestSingularValue * maxActivationDerivative < 1 ? GradientFlowReading.VanishingGuaranteed
            : radiusGain < 1 ? GradientFlowReading.VanishingPredicted
            : GradientFlowReading.ExplodingRisk;
    }

    /// <summary>gamma = <c>max |f'|</c> of an Elman nonlinearity: 1 for tanh, ReLU and identity, 0.25 for sigmoid, <c>max(1, slope)</c> for leaky ReLU.</summary>
    /// <param name="nonlinearity">f.</param>
    /// <param name="leakySlope">The leaky ReLU's negative-side slope (ignored otherwise).</param>
    /// <returns>gamma.</returns>
    public static double MaxActivationDerivative(Nonlinearity nonlinearity, double leakySlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Sigmoid => 0.25,
        Nonlinearity.LeakyRelu => Math.Max(1, Math.Abs(leakySlope)),
        _ => 1,
    };
}

/// <summary>What <see cref="RecurrentWeightSpectra.Analyze"/> found for one layer's <c>W_hh</c>.</summary>
/// <param name="WeightName">The parameter's name, e.g. <c>weight_hh_l0</c>.</param>
/// <param name="HiddenSize">H.</param>
/// <param name="Blocks">One entry per gate block, in the layout's order.</param>
/// <param name="LargestSingularValue">The largest singular value of the whole [G*H, H] matrix.</param>
public sealed record RecurrentWeightReport(string WeightName, int HiddenSize, IReadOnlyList<WeightBlockSpectrum> Blocks, double LargestSingularValue)
{
    /// <summary>A few lines for reports: the weight's name, then <see cref="WeightBlockSpectrum.Describe"/> per block.</summary>
    /// <returns>The text.</returns>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append(WeightName).Append(" [").Append(Blocks.Count * HiddenSize).Append(", ").Append(HiddenSize).Append(']');
        foreach (WeightBlockSpectrum block in Blocks)
        {
            text.Append('\n').Append("  ").Append(block.Describe());
        }

        return text.ToString();
    }
}
