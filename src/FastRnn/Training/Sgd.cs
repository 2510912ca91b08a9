// Legend: P parameters.
// PyTorch 2.x torch/optim/sgd.py, _single_tensor_sgd, per element in float32 (fused where torch's kernels fuse):
//   g = grad
//   if weight_decay != 0:  g = g.add(param, alpha=weight_decay)              g = fma(wd, p, g)
//   if momentum != 0:
//       first step:        buf = clone(g)
//       later steps:       buf.mul_(momentum).add_(g, alpha=1 - dampening)  buf = fma(1 - dampening, g, buf * momentum)
//       nesterov:          g = g.add(buf, alpha=momentum)                   g = fma(momentum, buf, g)
//       else:              g = buf
//   param.add_(g, alpha=-lr)                                                p = fma(-lr, g, p)
using System.Numerics;
using System.Runtime.InteropServices;
using static FastRnn.Training.OptimizerMath;

namespace FastRnn.Training;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay, with PyTorch's
/// <c>torch.optim.SGD</c> update rule. Without momentum it is <c>p -= lr * (g + weightDecay * p)</c> and keeps no state.
/// </summary>
/// <remarks>State: <c>momentum_buffer</c> when momentum is non-zero. The first step sets the buffer to the gradient
/// (after weight decay), as PyTorch does; so a restored state with <see cref="Optimizer.StepCount"/> 0 ignores the
/// buffer's contents.</remarks>
public sealed class Sgd : Optimizer
{
    /// <summary>The state buffer name.</summary>
    public const string MomentumBuffer = "momentum_buffer";

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">Step size, finite and &gt;= 0.</param>
    /// <param name="momentum">Momentum factor, finite and &gt;= 0 (0: plain SGD).</param>
    /// <param name="dampening">Dampening of the gradient's contribution to the momentum buffer, finite.</param>
    /// <param name="nesterov">Nesterov momentum; needs momentum &gt; 0 and dampening 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, finite and &gt;= 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    /// <exception cref="ArgumentException">Nesterov with momentum 0 or non-zero dampening.</exception>
    public Sgd(double learningRate, double momentum = 0, double dampening = 0, bool nesterov = false, double weightDecay = 0)
        : base(learningRate, momentum != 0 ? [MomentumBuffer] : [])
    {
        ValidateNonNegative(momentum, nameof(momentum));
        ValidateNonNegative(weightDecay, nameof(weightDecay));
        if (!double.IsFinite(dampening))
        {
            ThrowHelper.ThrowOutOfRange(nameof(dampening), $"must be finite, was {dampening}");
        }

        if (nesterov && (momentum <= 0 || dampening != 0))
        {
            ThrowHelper.ThrowArgument(nameof(nesterov), $"Nesterov momentum requires momentum > 0 and dampening 0, got momentum {momentum}, dampening {dampening}");
        }

        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
    }

    /// <summary>Momentum factor (0: none).</summary>
    public double Momentum { get; }

    /// <summary>Dampening for momentum.</summary>
    public double Dampening { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public double WeightDecay { get; }

    private protected override void Update(Span<float> values, ReadOnlySpan<float> gradients, long step)
    {
        // Scalars as torch hands them to its float kernels: Python floats rounded to float32.
        float negLr = (float)-LearningRate, wd = (float)WeightDecay, momentum = (float)Momentum, damp = (float)(1 - Dampening);
        bool hasDecay = WeightDecay != 0, hasMomentum = Momentum != 0, first = step == 1, nesterov = Nesterov;
        Span<float> buffer = hasMomentum ? StateBuffer(0) : default;
        ref float p = ref MemoryMarshal.GetReference(values);
        ref float gr = ref MemoryMarshal.GetReference(gradients);
        ref float b = ref MemoryMarshal.GetReference(buffer);
        int n = values.Length, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<float> vNegLr = new(negLr), vWd = new(wd), vMomentum = new(momentum), vDamp = new(damp);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> pv = Vector.LoadUnsafe(ref p, (nuint)i);
                Vector<float> g = Vector.LoadUnsafe(ref gr, (nuint)i);
                if (hasDecay)
                {
                    g = Fma(vWd, pv, g);
                }

                if (hasMomentum)
                {
                    Vector<float> buf = first ? g : Fma(vDamp, g, Vector.LoadUnsafe(ref b, (nuint)i) * vMomentum);
                    buf.StoreUnsafe(ref b, (nuint)i);
                    g = nesterov ? Fma(vMomentum, buf, g) : buf;
                }

                Fma(vNegLr, g, pv).StoreUnsafe(ref p, (nuint)i);
            }
        }

        // The same operations one element at a time (the tail, and the whole buffer without SIMD).
        for (; i < n; i++)
        {
            float pv = values[i], g = gradients[i];
            if (hasDecay)
            {
                g = Fma(wd, pv, g);
            }

            if (hasMomentum)
            {
                float buf = first ? g : Fma(damp, g, buffer[i] * momentum);
                buffer[i] = buf;
                g = nesterov ? Fma(momentum, buf, g) : buf;
            }

            values[i] = Fma(negLr, g, pv);
        }
    }
}
