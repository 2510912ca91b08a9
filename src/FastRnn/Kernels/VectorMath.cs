// Vectorized exp, sigmoid and tanh for the cells' pointwise steps, generic over the vector width.
//
// Why not TensorPrimitives.Sigmoid/Tanh: measured here (.NET 10, Zen 4) they cost 0.65 and 0.8 ns per element, which
// made the LSTM's activations a third of its forward pass. These run at a few cycles per 16 lanes.
//
// exp(x): x = n ln2 + r with n = round(x / ln2) and |r| <= ln2/2 (Cody-Waite split of ln2 into a high part exact in
// float and a low correction), e^r by a degree-6 polynomial 1 + r + E2 r^2 + ... + E6 r^6 of our own fit for least
// maximum relative error (docs/fit_exp.py: 3.1e-9 on |r| <= 0.347, where the degree-7 Taylor series it replaced had
// 5e-9), times 2^n: VSCALEFPS with AVX-512 (one instruction for the exponent-field build and the multiply, four), the
// exponent field elsewhere. Inputs are clamped to [-87.3, 88.7] so n stays in exp's range. Both changes took the
// AVX-512 sigmoid from 0.37 to 0.32 ns per element (`activations`), the (64, 16, 64, 128) LSTM forward from 124.5 to
// 127.2 GFLOP/s and the GRU's from 124.2 to 126.2-126.5 (probe A/B, best per process).
// sigmoid(x) = 1 / (1 + exp(-x)): no cancellation; the worst case over VectorMathTests' inputs is 0.29 of the bound
// below (fit_exp.py emulates the kernel in float32).
// tanh(x) = x P(x^2) / Q(x^2) for |x| <= 9, P and Q of degree 4 with P(0) = Q(0) = 1, and sign(x) beyond (1 - tanh 9 =
// 3e-8). The coefficients are our own fit of tanh(sqrt y) / sqrt y on y in [0, 81] for least maximum relative error
// (Lawson-reweighted linear least squares; docs/fit_tanh.py reproduces them): 2.1e-8 relative in exact arithmetic,
// the rest is float rounding, and the worst case over VectorMathTests' inputs is 0.63 of the bound below. It replaced
// sign(x) (1 - 2 / (exp(2|x|) + 1)) with a Taylor series under |x| = 0.3 (~32 vector operations against ~16): on a
// Xeon (Emerald Rapids, AVX-512) 0.59 -> 0.29 ns per element over 32K floats in L1/L2.
// Stated bound, enforced by VectorMathTests over a dense sweep: |error| <= 4e-7 * |f(x)| + 1e-9.
// NaN inputs give NaN (sigmoid: restored explicitly, since the clamps use the hardware min/max, which drop NaN; tanh:
// a NaN fails the saturation test and goes through the rational, which keeps it).
using System.Runtime.CompilerServices;

namespace FastRnn.Kernels;

internal static class VectorMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693145751953125f; // 13 significant bits: n * Ln2High is exact for |n| < 2^11
    private const float Ln2Low = 1.42860682030941723e-6f;
    private const float ExpMin = -87.3f, ExpMax = 88.7f;

    // e^r ~= 1 + r + E2 r^2 + ... + E6 r^6 on |r| <= ln2/2 (see the header; docs/fit_exp.py).
    private const float ExpE2 = 0.4999999403953552f, ExpE3 = 0.1666652113199234f, ExpE4 = 0.04166838899254799f, ExpE5 = 0.008368706330657005f, ExpE6 = 0.0013814551057294011f;

    /// <summary>From this |x| on tanh x is sign(x): 1 - tanh 9 = 3.0e-8, below the bound's 4e-7.</summary>
    private const float TanhSaturation = 9f;

    // tanh x = x P(x^2) / Q(x^2) on |x| <= 9 (see the header), coefficients of y^0..y^4.
    private const float TanhP1 = 0.1338101476430893f, TanhP2 = 0.003495573066174984f, TanhP3 = 2.0608740669558756e-05f, TanhP4 = 1.3354049421820946e-08f;
    private const float TanhQ1 = 0.46714329719543457f, TanhQ2 = 0.025876931846141815f, TanhQ3 = 0.0003285605926066637f, TanhQ4 = 7.776335451126215e-07f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Exp<TOps, TVector>(TVector x)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        x = TOps.MinNative(TOps.MaxNative(x, TOps.Broadcast(ExpMin)), TOps.Broadcast(ExpMax));
        TVector n = TOps.Round(TOps.Multiply(x, TOps.Broadcast(Log2E)));
        TVector r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2High), x);
        r = TOps.MultiplyAdd(n, TOps.Broadcast(-Ln2Low), r);

        // e^r = 1 + r + E2 r^2 + ... + E6 r^6, Horner form
        TVector p = TOps.MultiplyAdd(TOps.Broadcast(ExpE6), r, TOps.Broadcast(ExpE5));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(ExpE4));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(ExpE3));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(ExpE2));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(1f));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(1f));
        return TOps.ScaleByPow2(p, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Sigmoid<TOps, TVector>(TVector x)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        TVector one = TOps.Broadcast(1f);
        TVector y = TOps.Divide(one, TOps.Add(one, Exp<TOps, TVector>(TOps.Subtract(TOps.Zero, x))));
        return TOps.Select(TOps.IsNotNaN(x), y, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Tanh<TOps, TVector>(TVector x)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        TVector one = TOps.Broadcast(1f);
        TVector y = TOps.Multiply(x, x);
        TVector p = TOps.MultiplyAdd(TOps.Broadcast(TanhP4), y, TOps.Broadcast(TanhP3));
        p = TOps.MultiplyAdd(p, y, TOps.Broadcast(TanhP2));
        p = TOps.MultiplyAdd(p, y, TOps.Broadcast(TanhP1));
        p = TOps.MultiplyAdd(p, y, one);
        TVector q = TOps.MultiplyAdd(TOps.Broadcast(TanhQ4), y, TOps.Broadcast(TanhQ3));
        q = TOps.MultiplyAdd(q, y, TOps.Broadcast(TanhQ2));
        q = TOps.MultiplyAdd(q, y, TOps.Broadcast(TanhQ1));
        q = TOps.MultiplyAdd(q, y, one);
        TVector r = TOps.Divide(TOps.Multiply(x, p), q);

        // Past the saturation point (where y may overflow and r be NaN) the sign; 9 < NaN is false, so NaN stays r = NaN.
        return TOps.Select(TOps.LessThan(TOps.Broadcast(TanhSaturation), TOps.Abs(x)), TOps.CopySign(one, x), r);
    }
}
