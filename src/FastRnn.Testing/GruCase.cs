// Legend: T time steps, B batch, I input size, H hidden size.
using System.Globalization;

namespace FastRnn.Testing;

/// <summary>
/// One random GRU test case: shape, parameters, inputs and output gradients, all derived from <see cref="Seed"/>
/// (see <see cref="RnnGenerators.GruCases"/> and <see cref="RnnGenerators.CreateGruCase"/>).
/// </summary>
/// <param name="Shape">The sizes.</param>
/// <param name="Parameters">The weights, uniform in <c>[-s/sqrt(H), s/sqrt(H)]</c> with s = <paramref name="WeightScale"/> (s = 1 is PyTorch's initialization).</param>
/// <param name="X">The input, <c>[T, B, I]</c>, uniform in [-1, 1] everywhere (padding included; see <see cref="XWithNaNPadding"/>).</param>
/// <param name="H0">The initial state, <c>[B, H]</c>, or <see langword="null"/> for zeros.</param>
/// <param name="Lengths">The sequence lengths, <c>[B]</c>, each in <c>0..T</c>.</param>
/// <param name="Reverse">Whether the direction is reversed.</param>
/// <param name="DOutputs">dL/d outputs, <c>[T, B, H]</c>, uniform in [-1, 1] (padding included: it must be ignored).</param>
/// <param name="DhN">dL/dh_n, <c>[B, H]</c>, or <see langword="null"/> for zeros.</param>
/// <param name="WeightScale">s: 1 normally, larger (3) to saturate the gates.</param>
/// <param name="Seed">The seed the arrays were drawn from.</param>
public sealed record GruCase(
    RnnShape Shape,
    ReferenceGruParameters Parameters,
    double[] X,
    double[]? H0,
    int[] Lengths,
    bool Reverse,
    double[] DOutputs,
    double[]? DhN,
    double WeightScale,
    int Seed)
{
    /// <summary>Runs <see cref="ReferenceGru.Forward"/> on this case.</summary>
    /// <returns>The reference forward result.</returns>
    public ReferenceGruForward ReferenceForward() =>
        ReferenceGru.Forward(Parameters, Shape.T, Shape.B, X, H0, Lengths, Reverse);

    /// <summary>Runs <see cref="ReferenceGru.Forward"/> and <see cref="ReferenceGru.Backward"/> with <see cref="DOutputs"/> and <see cref="DhN"/>.</summary>
    /// <param name="truncationWindow">0 for full BPTT, else the TBPTT window (forward direction only).</param>
    /// <returns>The reference gradients.</returns>
    public ReferenceGruGradients ReferenceBackward(int truncationWindow = 0) =>
        ReferenceGru.Backward(ReferenceForward(), DOutputs, DhN, truncationWindow);

    /// <summary>A copy of <see cref="X"/> with NaN at every padded step (<c>t &gt;= Lengths[b]</c>), to check that padding is never read.</summary>
    /// <returns>The copy, <c>[T, B, I]</c>.</returns>
    public double[] XWithNaNPadding() => RnnGenerators.WithNaNPadding(Shape, Lengths, X);

    /// <summary>A one-line summary for counterexample reports (the arrays follow from <see cref="Seed"/>).</summary>
    /// <returns>The summary.</returns>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"GruCase {{ T = {Shape.T}, B = {Shape.B}, I = {Shape.I}, H = {Shape.H}, lengths = [{string.Join(", ", Lengths)}], reverse = {Reverse}, " +
        $"h0 = {RnnGenerators.Describe(H0)}, dhN = {RnnGenerators.Describe(DhN)}, weightScale = {WeightScale}, seed = {Seed} }}");
}
