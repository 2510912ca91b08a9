// Legend: P parameters.
// PyTorch 2.x torch/optim/rmsprop.py, _single_tensor_rmsprop, per element in float32 (fused where torch's kernels fuse):
//   if weight_decay != 0:  g = grad.add(param, alpha=weight_decay)                 g = fma(wd, p, g)
//   square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)                         v = fma((1 - alpha) * g, g, v * alpha)
//   centered:  grad_avg.lerp_(g, 1 - alpha)                                         m = lerp(m, g, 1 - alpha)
//              avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()      avg = sqrt(fma(-m, m, v))
//   else:      avg = square_avg.sqrt()                                             avg = sqrt(v)
//   avg.add_(eps)                                                                  avg = avg + eps
//   momentum > 0:  buf.mul_(momentum).addcdiv_(g, avg)                             buf = buf * momentum + g / avg
//                  param.add_(buf, alpha=-lr)                                      p = fma(-lr, buf, p)
//   else:          param.addcdiv_(g, avg, value=-lr)                               p = p + (-lr * g) / avg
using System.Numerics;
using System.Runtime.InteropServices;
using static FastRnn.Training.OptimizerMath;

namespace FastRnn.Training;

/// <summary>RMSprop with PyTorch's <c>torch.optim.RMSprop</c> update rule: optional L2 weight decay, momentum and the centered variant.</summary>
/// <remarks>State: <c>square_avg</c>; <c>momentum_buffer</c> when momentum &gt; 0; <c>grad_avg</c> when centered.</remarks>
public sealed class RmsProp : Optimizer
{
    /// <summary>The running average of squared gradients.</summary>
    public const string SquareAverage = "square_avg";

    /// <summary>The momentum buffer (momentum &gt; 0).</summary>
    public const string MomentumBuffer = "momentum_buffer";

    /// <summary>The running average of gradients (centered).</summary>
    public const string GradientAverage = "grad_avg";

    /// <summary>Creates the optimizer; the defaults are PyTorch's.</summary>
    /// <param name="learningRate">Step size, finite and &gt;= 0.</param>
    /// <param name="alpha">Smoothing constant, in [0, 1].</param>
    /// <param name="epsilon">Added to the denominator, finite and &gt;= 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, finite and &gt;= 0.</param>
    /// <param name="momentum">Momentum factor, finite and &gt;= 0.</param>
    /// <param name="centered">Normalize by the estimated variance of the gradient instead of its second moment.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    public RmsProp(double learningRate = 1e-2, double alpha = 0.99, double epsilon = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false)
        : base(learningRate, StateNamesFor(momentum, centered))
    {
        if (!(alpha >= 0 && alpha <= 1))
        {
            ThrowHelper.ThrowOutOfRange(nameof(alpha), $"must be in [0, 1], was {alpha}");
        }

        ValidateNonNegative(epsilon, nameof(epsilon));
        ValidateNonNegative(weightDecay, nameof(weightDecay));
        ValidateNonNegative(momentum, nameof(momentum));
        Alpha = alpha;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
    }

    /// <summary>Smoothing constant of the running averages.</summary>
    public double Alpha { get; }

    /// <summary>Added to the denominator.</summary>
    public double Epsilon { get; }

    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>Momentum factor (0: none).</summary>
    public double Momentum { get; }

    /// <summary>Whether the centered variant is used.</summary>
    public bool Centered { get; }

    private protected override void Update(Span<float> values, ReadOnlySpan<float> gradients, long step)
    {
        float negLr = (float)-LearningRate, wd = (float)WeightDecay, alpha = (float)Alpha, oneMinusAlpha = (float)(1 - Alpha);
        float eps = (float)Epsilon, momentum = (float)Momentum;
        float lerpCoefficient = LerpCoefficient(oneMinusAlpha);
        bool small = IsSmallLerpWeight(oneMinusAlpha), hasDecay = WeightDecay != 0, hasMomentum = Momentum > 0, centered = Centered;
        Span<float> squareAvg = StateBuffer(0);
        Span<float> buffer = hasMomentum ? StateBuffer(1) : default;
        Span<float> gradAvg = centered ? StateBuffer(hasMomentum ? 2 : 1) : default;
        ref float p = ref MemoryMarshal.GetReference(values);
        ref float gr = ref MemoryMarshal.GetReference(gradients);
        ref float sq = ref MemoryMarshal.GetReference(squareAvg);
        ref float b = ref MemoryMarshal.GetReference(buffer);
        ref float ga = ref MemoryMarshal.GetReference(gradAvg);
        int n = values.Length, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<float> vNegLr = new(negLr), vWd = new(wd), vAlpha = new(alpha), vOneMinusAlpha = new(oneMinusAlpha);
            Vector<float> vEps = new(eps), vMomentum = new(momentum), vLerp = new(lerpCoefficient);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                nuint at = (nuint)i;
                Vector<float> pv = Vector.LoadUnsafe(ref p, at);
                Vector<float> g = Vector.LoadUnsafe(ref gr, at);
                if (hasDecay)
                {
                    g = Fma(vWd, pv, g);
                }

                Vector<float> v = Fma(vOneMinusAlpha * g, g, Vector.LoadUnsafe(ref sq, at) * vAlpha);
                v.StoreUnsafe(ref sq, at);
                Vector<float> avg;
                if (centered)
                {
                    Vector<float> m = Lerp(Vector.LoadUnsafe(ref ga, at), g, vLerp, small);
                    m.StoreUnsafe(ref ga, at);
                    avg = Vector.SquareRoot(Fma(-m, m, v));
                }
                else
                {
                    avg = Vector.SquareRoot(v);
                }

                avg += vEps;
                if (hasMomentum)
                {
                    Vector<float> buf = (Vector.LoadUnsafe(ref b, at) * vMomentum) + (g / avg);
                    buf.StoreUnsafe(ref b, at);
                    Fma(vNegLr, buf, pv).StoreUnsafe(ref p, at);
                }
                else
                {
                    (pv + (vNegLr * g / avg)).StoreUnsafe(ref p, at);
                }
            }
        }

        for (; i < n; i++)
        {
            float pv = values[i], g = gradients[i];
            if (hasDecay)
            {
                g = Fma(wd, pv, g);
            }

            float v = Fma(oneMinusAlpha * g, g, squareAvg[i] * alpha);
            squareAvg[i] = v;
            float avg;
            if (centered)
            {
                float m = Lerp(gradAvg[i], g, lerpCoefficient, small);
                gradAvg[i] = m;
                avg = MathF.Sqrt(Fma(-m, m, v));
            }
            else
            {
                avg = MathF.Sqrt(v);
            }

            avg += eps;
            if (hasMomentum)
            {
                float buf = (buffer[i] * momentum) + (g / avg);
                buffer[i] = buf;
                values[i] = Fma(negLr, buf, pv);
            }
            else
            {
                values[i] = pv + (negLr * g / avg);
            }
        }
    }

    private static string[] StateNamesFor(double momentum, bool centered) => (momentum > 0, centered) switch
    {
        (false, false) => [SquareAverage],
        (true, false) => [SquareAverage, MomentumBuffer],
        (false, true) => [SquareAverage, GradientAverage],
        (true, true) => [SquareAverage, MomentumBuffer, GradientAverage],
    };
}
