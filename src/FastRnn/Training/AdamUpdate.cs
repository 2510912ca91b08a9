// Legend: P parameters.
// PyTorch 2.x torch/optim/adam.py, _single_tensor_adam (AdamW is the same with decoupled weight decay), per element in
// float32, fused where torch's kernels fuse; scalars in double as in Python:
//   if weight_decay != 0:
//       decoupled (AdamW):  param.mul_(1 - lr * weight_decay)                      p = p * (1 - lr * wd)
//       L2 (Adam):          g = grad.add(param, alpha=weight_decay)                g = fma(wd, p, g)
//   exp_avg.lerp_(g, 1 - beta1)                                                    m = lerp(m, g, 1 - beta1)
//   exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)                         v = fma((1 - beta2) * g, g, v * beta2)
//   bias_correction1 = 1 - beta1 ** step;  bias_correction2 = 1 - beta2 ** step    (double)
//   step_size = lr / bias_correction1;  bias_correction2_sqrt = sqrt(bias_correction2)  (double)
//   amsgrad: torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)         vmax = max(vmax, v); v' = vmax
//   denom = (v'.sqrt() / bias_correction2_sqrt).add_(eps)                          d = sqrt(v') / bc2sqrt + eps
//   param.addcdiv_(exp_avg, denom, value=-step_size)                               p = p + (-step_size * m) / d
// PyTorch 2.0 updated exp_avg as mul_(beta1).add_(g, alpha=1 - beta1); later 2.x use lerp_, equal up to rounding.
using System.Numerics;
using System.Runtime.InteropServices;
using static FastRnn.Training.OptimizerMath;

namespace FastRnn.Training;

/// <summary>The element-wise Adam / AdamW step shared by <see cref="Adam"/> and <see cref="AdamW"/>.</summary>
internal static class AdamUpdate
{
    internal const string ExpAvg = "exp_avg", ExpAvgSq = "exp_avg_sq", MaxExpAvgSq = "max_exp_avg_sq";

    internal static string[] StateNames(bool amsgrad) => amsgrad ? [ExpAvg, ExpAvgSq, MaxExpAvgSq] : [ExpAvg, ExpAvgSq];

    internal static void ValidateHyperparameters(double beta1, double beta2, double epsilon, double weightDecay)
    {
        if (!(beta1 >= 0 && beta1 < 1))
        {
            ThrowHelper.ThrowOutOfRange(nameof(beta1), $"must be in [0, 1), was {beta1}");
        }

        if (!(beta2 >= 0 && beta2 < 1))
        {
            ThrowHelper.ThrowOutOfRange(nameof(beta2), $"must be in [0, 1), was {beta2}");
        }

        if (!(epsilon >= 0) || double.IsInfinity(epsilon))
        {
            ThrowHelper.ThrowOutOfRange(nameof(epsilon), $"must be finite and >= 0, was {epsilon}");
        }

        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay))
        {
            ThrowHelper.ThrowOutOfRange(nameof(weightDecay), $"must be finite and >= 0, was {weightDecay}");
        }
    }

    /// <param name="values">p: [P].</param>
    /// <param name="gradients">grad: [P].</param>
    /// <param name="expAvg">m: [P].</param>
    /// <param name="expAvgSq">v: [P].</param>
    /// <param name="maxExpAvgSq">vmax: [P], or empty without AMSGrad.</param>
    /// <param name="h">Hyperparameters and the 1-based step.</param>
    internal static void Run(Span<float> values, ReadOnlySpan<float> gradients, Span<float> expAvg, Span<float> expAvgSq, Span<float> maxExpAvgSq, in Hyper h)
    {
        double biasCorrection1 = 1 - Math.Pow(h.Beta1, h.Step);
        double biasCorrection2 = 1 - Math.Pow(h.Beta2, h.Step);
        float negStepSize = (float)-(h.LearningRate / biasCorrection1);
        float bc2Sqrt = (float)Math.Sqrt(biasCorrection2);
        float decay = (float)(1 - (h.LearningRate * h.WeightDecay)), wd = (float)h.WeightDecay;
        float oneMinusBeta1 = (float)(1 - h.Beta1), beta2 = (float)h.Beta2, oneMinusBeta2 = (float)(1 - h.Beta2), eps = (float)h.Epsilon;
        float lerpCoefficient = LerpCoefficient(oneMinusBeta1);
        bool small = IsSmallLerpWeight(oneMinusBeta1);
        bool l2 = h.WeightDecay != 0 && !h.Decoupled, decoupled = h.WeightDecay != 0 && h.Decoupled, amsgrad = !maxExpAvgSq.IsEmpty;
        ref float p = ref MemoryMarshal.GetReference(values);
        ref float gr = ref MemoryMarshal.GetReference(gradients);
        ref float mr = ref MemoryMarshal.GetReference(expAvg);
        ref float vr = ref MemoryMarshal.GetReference(expAvgSq);
        ref float vmr = ref MemoryMarshal.GetReference(maxExpAvgSq);
        int n = values.Length, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<float> vNegStep = new(negStepSize), vBc2Sqrt = new(bc2Sqrt), vDecay = new(decay), vWd = new(wd);
            Vector<float> vBeta2 = new(beta2), vOneMinusBeta2 = new(oneMinusBeta2), vEps = new(eps), vLerp = new(lerpCoefficient);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                nuint at = (nuint)i;
                Vector<float> pv = Vector.LoadUnsafe(ref p, at);
                Vector<float> g = Vector.LoadUnsafe(ref gr, at);
                if (decoupled)
                {
                    pv *= vDecay;
                }
                else if (l2)
                {
                    g = Fma(vWd, pv, g);
                }

                Vector<float> m = Lerp(Vector.LoadUnsafe(ref mr, at), g, vLerp, small);
                m.StoreUnsafe(ref mr, at);
                Vector<float> v = Fma(vOneMinusBeta2 * g, g, Vector.LoadUnsafe(ref vr, at) * vBeta2);
                v.StoreUnsafe(ref vr, at);
                if (amsgrad)
                {
                    v = Vector.Max(Vector.LoadUnsafe(ref vmr, at), v);
                    v.StoreUnsafe(ref vmr, at);
                }

                Vector<float> denom = (Vector.SquareRoot(v) / vBc2Sqrt) + vEps;
                (pv + (vNegStep * m / denom)).StoreUnsafe(ref p, at);
            }
        }

        for (; i < n; i++)
        {
            float pv = values[i], g = gradients[i];
            if (decoupled)
            {
                pv *= decay;
            }
            else if (l2)
            {
                g = Fma(wd, pv, g);
            }

            float m = Lerp(expAvg[i], g, lerpCoefficient, small);
            expAvg[i] = m;
            float v = Fma(oneMinusBeta2 * g, g, expAvgSq[i] * beta2);
            expAvgSq[i] = v;
            if (amsgrad)
            {
                v = MathF.Max(maxExpAvgSq[i], v);
                maxExpAvgSq[i] = v;
            }

            float denom = (MathF.Sqrt(v) / bc2Sqrt) + eps;
            values[i] = pv + (negStepSize * m / denom);
        }
    }

    /// <summary>The scalars of one step.</summary>
    internal readonly record struct Hyper(double LearningRate, double Beta1, double Beta2, double Epsilon, double WeightDecay, bool Decoupled, long Step);
}
