// Legend: T time steps, B batch, I input size, H hidden size.
using System.Globalization;

namespace FastRnn.Testing;

/// <summary>
/// One random Elman test case: shape, parameters, inputs and output gradients, all derived from <see cref="Seed"/>
/// (see <see cref="RnnGenerators.ElmanCases"/>).
/// </summary>
/// <param name="Shape">The sizes.</param>
/// <param name="Parameters">The weights (uniform in <c>[-1/sqrt(H), 1/sqrt(H)]</c>, PyTorch's initialization), nonlinearity and slope.</param>
/// <param name="X">The input, <c>[T, B, I]</c>, uniform in [-1, 1] everywhere (padding included; see <see cref="XWithNaNPadding"/>).</param>
/// <param name="H0">The initial state, <c>[B, H]</c>, or <see langword="null"/> for zeros.</param>
/// <param name="Lengths">The sequence lengths, <c>[B]</c>, each in <c>0..T</c>.</param>
/// <param name="Reverse">Whether the direction is reversed.</param>
/// <param name="DOutputs">dL/d outputs, <c>[T, B, H]</c>, uniform in [-1, 1] (padding included: it must be ignored).</param>
/// <param name="DhN">dL/dh_n, <c>[B, H]</c>, or <see langword="null"/> for zeros.</param>
/// <param name="Seed">The seed the arrays were drawn from.</param>
public sealed record ElmanCase(
    RnnShape Shape,
    ReferenceElmanParameters Parameters,
    double[] X,
    double[]? H0,
    int[] Lengths,
    bool Reverse,
    double[] DOutputs,
    double[]? DhN,
    int Seed)
{
    /// <summary>The nonlinearity (from <see cref="Parameters"/>).</summary>
    public Nonlinearity Nonlinearity => Parameters.Nonlinearity;

    /// <summary>The leaky relu slope (from <see cref="Parameters"/>).</summary>
    public double LeakySlope => Parameters.LeakySlope;

    /// <summary>Runs <see cref="ReferenceElman.Forward"/> on this case.</summary>
    /// <returns>The reference forward result.</returns>
    public ReferenceElmanForward ReferenceForward() =>
        ReferenceElman.Forward(Parameters, Shape.T, Shape.B, X, H0, Lengths, Reverse);

    /// <summary>Runs <see cref="ReferenceElman.Forward"/> and <see cref="ReferenceElman.Backward"/> with <see cref="DOutputs"/> and <see cref="DhN"/>.</summary>
    /// <param name="truncationWindow">0 for full BPTT, else the TBPTT window (forward direction only).</param>
    /// <returns>The reference gradients.</returns>
    public ReferenceElmanGradients ReferenceBackward(int truncationWindow = 0) =>
        ReferenceElman.Backward(ReferenceForward(), DOutputs, DhN, truncationWindow);

    /// <summary>A copy of <see cref="X"/> with NaN at every padded step (<c>t &gt;= Lengths[b]</c>), to check that padding is never read.</summary>
    /// <returns>The copy, <c>[T, B, I]</c>.</returns>
    public double[] XWithNaNPadding() => RnnGenerators.WithNaNPadding(Shape, Lengths, X);

    /// <summary>A one-line summary for counterexample reports (the arrays follow from <see cref="Seed"/>).</summary>
    /// <returns>The summary.</returns>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"ElmanCase {{ T = {Shape.T}, B = {Shape.B}, I = {Shape.I}, H = {Shape.H}, {Nonlinearity}" +
        $"{(Nonlinearity == Nonlinearity.LeakyRelu ? $"({LeakySlope})" : "")}, lengths = [{string.Join(", ", Lengths)}], " +
        $"reverse = {Reverse}, h0 = {RnnGenerators.Describe(H0)}, dhN = {RnnGenerators.Describe(DhN)}, seed = {Seed} }}");
}
