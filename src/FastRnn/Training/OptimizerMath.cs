// The float32 building blocks of PyTorch's optimizer kernels, in scalar and vector form with identical rounding.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace FastRnn.Training;

internal static class OptimizerMath
{
    /// <summary><c>a * b + c</c> rounded once (torch's CPU <c>add(alpha)</c>, <c>addcmul</c> and <c>lerp</c> are fused).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    /// <inheritdoc cref="Fma(float, float, float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Fma(Vector<float> a, Vector<float> b, Vector<float> c) => Vector.FusedMultiplyAdd(a, b, c);

    /// <summary>
    /// torch's <c>lerp(self, end, weight)</c> (ATen Lerp.h): <c>self + weight * (end - self)</c> when |weight| &lt; 0.5,
    /// else <c>end - (end - self) * (1 - weight)</c>, each one fused multiply-add. <paramref name="coefficient"/> is
    /// <see cref="LerpCoefficient"/> of the weight and <paramref name="weightIsSmall"/> whether |weight| &lt; 0.5, both
    /// decided once per step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Lerp(float self, float end, float coefficient, bool weightIsSmall)
        => Fma(coefficient, end - self, weightIsSmall ? self : end);

    /// <inheritdoc cref="Lerp(float, float, float, bool)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Lerp(Vector<float> self, Vector<float> end, Vector<float> coefficient, bool weightIsSmall)
        => Fma(coefficient, end - self, weightIsSmall ? self : end);

    /// <summary>ATen's <c>is_lerp_weight_small</c>: |weight| &lt; 0.5.</summary>
    public static bool IsSmallLerpWeight(float weight) => MathF.Abs(weight) < 0.5f;

    /// <summary>The multiplier of <c>end - self</c>: the weight when small, else <c>weight - 1</c> (exact for weights in [0.5, 2]).</summary>
    public static float LerpCoefficient(float weight) => IsSmallLerpWeight(weight) ? weight : weight - 1f;
}
