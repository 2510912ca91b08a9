using System.Globalization;

namespace FastRnn.Diagnostics;

/// <summary>The spectrum of one [H, H] gate block of a recurrent weight <c>W_hh</c> and what it predicts for gradient flow.</summary>
/// <param name="Gate">The gate's name: <c>h</c> for an Elman layer's whole <c>W_hh</c>; <c>i</c>, <c>f</c>, <c>g</c>, <c>o</c> for an LSTM; <c>r</c>, <c>z</c>, <c>n</c> for a GRU.</param>
/// <param name="RowOffset">The block's first row in <c>W_hh</c> [G*H, H] (gate index times H).</param>
/// <param name="SpectralRadius">rho: <c>max |lambda|</c> over the block's eigenvalues.</param>
/// <param name="LargestSingularValue">sigma: <c>||block||_2</c>.</param>
/// <param name="MaxActivationDerivative">gamma: the largest derivative of the activation the block feeds (tanh, ReLU 1; sigmoid 0.25; leaky ReLU max(1, slope)).</param>
/// <param name="Reading">The prediction from <c>rho * gamma</c> and <c>sigma * gamma</c>.</param>
public sealed record WeightBlockSpectrum(string Gate, int RowOffset, double SpectralRadius, double LargestSingularValue, double MaxActivationDerivative, GradientFlowReading Reading)
{
    /// <summary><c>rho * gamma</c>: the seeds' quantity; below 1 predicts vanishing, above 1 risks exploding.</summary>
    public double RadiusGain => SpectralRadius * MaxActivationDerivative;

    /// <summary><c>sigma * gamma</c>: an upper bound on the norm of each step's Jacobian through this block.</summary>
    public double SingularValueGain => LargestSingularValue * MaxActivationDerivative;

    /// <summary>One line for reports, e.g. <c>f: rho=0.912 sigma=1.403 gamma=0.25 rho*gamma=0.228 -> VanishingGuaranteed</c>.</summary>
    /// <returns>The line.</returns>
    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Gate}: rho={SpectralRadius:G4} sigma={LargestSingularValue:G4} gamma={MaxActivationDerivative:G4} rho*gamma={RadiusGain:G4} sigma*gamma={SingularValueGain:G4} -> {Reading}");
}
