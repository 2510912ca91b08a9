// Legend: P parameters. Every array is [P].
// The optimizers' update rules in double, plain loops, written from the algorithm boxes of PyTorch's torch.optim
// documentation (not from its code): no float rounding, no fused operations, no shared code with FastRnn.
namespace FastRnn.Testing;

/// <summary>Double-precision reference steps of SGD, RMSprop, Adam and AdamW; each updates its arrays in place.</summary>
public static class ReferenceOptimizers
{
    /// <summary>
    /// SGD: <c>g = grad + wd p</c>; with momentum <c>b = g</c> at step 1, else <c>b = mu b + (1 - tau) g</c>;
    /// <c>g = g + mu b</c> (Nesterov) or <c>g = b</c>; <c>p = p - lr g</c>.
    /// </summary>
    /// <param name="p">Parameters.</param>
    /// <param name="grad">Gradients.</param>
    /// <param name="buffer">Momentum buffer (used when <paramref name="momentum"/> is not 0).</param>
    /// <param name="step">1-based step number.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">mu.</param>
    /// <param name="dampening">tau.</param>
    /// <param name="nesterov">Nesterov momentum.</param>
    /// <param name="weightDecay">wd.</param>
    public static void Sgd(double[] p, double[] grad, double[] buffer, long step, double lr, double momentum, double dampening, bool nesterov, double weightDecay)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double g = grad[i] + (weightDecay * p[i]);
            if (momentum != 0)
            {
                buffer[i] = step == 1 ? g : (momentum * buffer[i]) + ((1 - dampening) * g);
                g = nesterov ? g + (momentum * buffer[i]) : buffer[i];
            }

            p[i] -= lr * g;
        }
    }

    /// <summary>
    /// RMSprop: <c>g = grad + wd p</c>; <c>v = alpha v + (1 - alpha) g^2</c>; centered: <c>m = alpha m + (1 - alpha) g</c>,
    /// <c>d = sqrt(v - m^2) + eps</c>, else <c>d = sqrt(v) + eps</c>; with momentum <c>b = mu b + g / d</c>,
    /// <c>p = p - lr b</c>, else <c>p = p - lr g / d</c>.
    /// </summary>
    /// <param name="p">Parameters.</param>
    /// <param name="grad">Gradients.</param>
    /// <param name="squareAvg">v.</param>
    /// <param name="buffer">b (used when <paramref name="momentum"/> &gt; 0).</param>
    /// <param name="gradAvg">m (used when centered).</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="alpha">Smoothing constant.</param>
    /// <param name="eps">Epsilon.</param>
    /// <param name="weightDecay">wd.</param>
    /// <param name="momentum">mu.</param>
    /// <param name="centered">Centered variant.</param>
    public static void RmsProp(
        double[] p, double[] grad, double[] squareAvg, double[] buffer, double[] gradAvg,
        double lr, double alpha, double eps, double weightDecay, double momentum, bool centered)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double g = grad[i] + (weightDecay * p[i]);
            squareAvg[i] = (alpha * squareAvg[i]) + ((1 - alpha) * g * g);
            double variance = squareAvg[i];
            if (centered)
            {
                gradAvg[i] = (alpha * gradAvg[i]) + ((1 - alpha) * g);
                variance -= gradAvg[i] * gradAvg[i];
            }

            double denominator = Math.Sqrt(variance) + eps;
            if (momentum > 0)
            {
                buffer[i] = (momentum * buffer[i]) + (g / denominator);
                p[i] -= lr * buffer[i];
            }
            else
            {
                p[i] -= lr * g / denominator;
            }
        }
    }

    /// <summary>
    /// Adam / AdamW: decoupled: <c>p = p (1 - lr wd)</c>, else <c>g = grad + wd p</c>; <c>m = b1 m + (1 - b1) g</c>;
    /// <c>v = b2 v + (1 - b2) g^2</c>; AMSGrad: <c>vmax = max(vmax, v)</c>;
    /// <c>p = p - lr (m / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps)</c> with <c>v'</c> = vmax or v.
    /// </summary>
    /// <param name="p">Parameters.</param>
    /// <param name="grad">Gradients.</param>
    /// <param name="m">First moment.</param>
    /// <param name="v">Second moment.</param>
    /// <param name="vMax">Running maximum of v (used with AMSGrad).</param>
    /// <param name="step">t, 1-based.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="beta1">b1.</param>
    /// <param name="beta2">b2.</param>
    /// <param name="eps">Epsilon.</param>
    /// <param name="weightDecay">wd.</param>
    /// <param name="amsgrad">AMSGrad.</param>
    /// <param name="decoupled">AdamW's decoupled weight decay instead of an L2 term in the gradient.</param>
    public static void Adam(
        double[] p, double[] grad, double[] m, double[] v, double[] vMax, long step,
        double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool decoupled)
    {
        double correction1 = 1 - Math.Pow(beta1, step), correction2 = 1 - Math.Pow(beta2, step);
        for (int i = 0; i < p.Length; i++)
        {
            double g = grad[i];
            if (decoupled)
            {
                p[i] *= 1 - (lr * weightDecay);
            }
            else
            {
                g += weightDecay * p[i];
            }

            m[i] = (beta1 * m[i]) + ((1 - beta1) * g);
            v[i] = (beta2 * v[i]) + ((1 - beta2) * g * g);
            double second = v[i];
            if (amsgrad)
            {
                vMax[i] = Math.Max(vMax[i], v[i]);
                second = vMax[i];
            }

            p[i] -= lr * (m[i] / correction1) / (Math.Sqrt(second / correction2) + eps);
        }
    }
}
