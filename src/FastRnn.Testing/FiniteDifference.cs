// Legend: n the number of coordinates of x; f: R^n -> R.
namespace FastRnn.Testing;

/// <summary>Centered finite differences of a scalar function, in double. Truncation error O(eps^2); rounding error about 1e-16 |f| / eps.</summary>
public static class FiniteDifference
{
    /// <summary>
    /// The full gradient by centered differences, <c>g_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)</c>: 2n calls of <paramref name="f"/>.
    /// <paramref name="x"/> is perturbed in place and restored after each probe (also if <paramref name="f"/> throws).
    /// </summary>
    /// <param name="f">The function; it may read <paramref name="x"/> but must not keep or change it.</param>
    /// <param name="x">The point, <c>[n]</c>.</param>
    /// <param name="eps">The step.</param>
    /// <returns>The gradient estimate, <c>[n]</c>.</returns>
    public static double[] Gradient(Func<double[], double> f, double[] x, double eps = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(eps);
        var gradient = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double original = x[i];
            try
            {
                x[i] = original + eps;
                double plus = f(x);
                x[i] = original - eps;
                double minus = f(x);
                gradient[i] = (plus - minus) / (2 * eps);
            }
            finally
            {
                x[i] = original;
            }
        }
        return gradient;
    }

    /// <summary>
    /// The derivative along <paramref name="direction"/> (not normalized: the result estimates <c>grad f(x) . direction</c>),
    /// <c>(f(x + eps d) - f(x - eps d)) / (2 eps)</c>: 2 calls of <paramref name="f"/>.
    /// Like <see cref="Gradient"/>, <paramref name="x"/> is perturbed in place, so <paramref name="f"/> may ignore its argument and read
    /// <paramref name="x"/> through a closure (say, one weight array of a model); it is restored exactly afterwards (also if <paramref name="f"/> throws).
    /// </summary>
    /// <param name="f">The function; it may read <paramref name="x"/> but must not keep or change it.</param>
    /// <param name="x">The point, <c>[n]</c>.</param>
    /// <param name="direction">The direction d, <c>[n]</c>.</param>
    /// <param name="eps">The step along d.</param>
    /// <returns>The directional derivative estimate.</returns>
    public static double DirectionalDerivative(Func<double[], double> f, double[] x, double[] direction, double eps = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(direction);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(eps);
        if (direction.Length != x.Length)
            throw new ArgumentException($"direction has {direction.Length} elements, expected {x.Length}.", nameof(direction));
        // Restore from a copy: x + eps d - eps d need not round back to x.
        var original = (double[])x.Clone();
        try
        {
            for (int i = 0; i < x.Length; i++)
                x[i] = original[i] + (eps * direction[i]);
            double plus = f(x);
            for (int i = 0; i < x.Length; i++)
                x[i] = original[i] - (eps * direction[i]);
            double minus = f(x);
            return (plus - minus) / (2 * eps);
        }
        finally
        {
            original.CopyTo(x, 0);
        }
    }
}
