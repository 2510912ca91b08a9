// Legend: n the number of coordinates of x; f: R^n -> R.
namespace FastRnn.Testing;

/// <summary>
/// Centered finite differences of a scalar function, in double. <see cref="FiniteDifferenceScheme.Centered"/>: truncation
/// error O(eps^2), rounding error about 1e-16 |f| / eps; <see cref="FiniteDifferenceScheme.FourthOrderCentered"/>: O(eps^4)
/// for twice the calls.
/// </summary>
public static class FiniteDifference
{
    /// <summary>
    /// The full gradient by centered differences, <c>g_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)</c>: 2n calls of <paramref name="f"/>
    /// (4n and the five-point stencil with <see cref="FiniteDifferenceScheme.FourthOrderCentered"/>).
    /// <paramref name="x"/> is perturbed in place and restored after each probe (also if <paramref name="f"/> throws).
    /// </summary>
    /// <param name="f">The function; it may read <paramref name="x"/> but must not keep or change it.</param>
    /// <param name="x">The point, <c>[n]</c>.</param>
    /// <param name="eps">The step.</param>
    /// <param name="scheme">The stencil.</param>
    /// <returns>The gradient estimate, <c>[n]</c>.</returns>
    public static double[] Gradient(Func<double[], double> f, double[] x, double eps = 1e-6, FiniteDifferenceScheme scheme = FiniteDifferenceScheme.Centered)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(eps);
        CheckScheme(scheme);
        var gradient = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double original = x[i];
            try
            {
                gradient[i] = Stencil(steps =>
                {
                    x[i] = original + (steps * eps);
                    return f(x);
                }, eps, scheme);
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
    /// <c>(f(x + eps d) - f(x - eps d)) / (2 eps)</c>: 2 calls of <paramref name="f"/> (4 and the five-point stencil with
    /// <see cref="FiniteDifferenceScheme.FourthOrderCentered"/>).
    /// Like <see cref="Gradient"/>, <paramref name="x"/> is perturbed in place, so <paramref name="f"/> may ignore its argument and read
    /// <paramref name="x"/> through a closure (say, one weight array of a model); it is restored exactly afterwards (also if <paramref name="f"/> throws).
    /// </summary>
    /// <param name="f">The function; it may read <paramref name="x"/> but must not keep or change it.</param>
    /// <param name="x">The point, <c>[n]</c>.</param>
    /// <param name="direction">The direction d, <c>[n]</c>.</param>
    /// <param name="eps">The step along d.</param>
    /// <param name="scheme">The stencil.</param>
    /// <returns>The directional derivative estimate.</returns>
    public static double DirectionalDerivative(
        Func<double[], double> f, double[] x, double[] direction, double eps = 1e-6, FiniteDifferenceScheme scheme = FiniteDifferenceScheme.Centered)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(direction);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(eps);
        CheckScheme(scheme);
        if (direction.Length != x.Length)
            throw new ArgumentException($"direction has {direction.Length} elements, expected {x.Length}.", nameof(direction));
        // Restore from a copy: x + eps d - eps d need not round back to x.
        var original = (double[])x.Clone();
        try
        {
            return Stencil(steps =>
            {
                for (int i = 0; i < x.Length; i++)
                    x[i] = original[i] + (steps * eps * direction[i]);
                return f(x);
            }, eps, scheme);
        }
        finally
        {
            original.CopyTo(x, 0);
        }
    }

    /// <summary>The derivative at 0 of <c>s -> f(x + s eps)</c>, from <paramref name="at"/>(s) = f at s steps of eps.</summary>
    private static double Stencil(Func<int, double> at, double eps, FiniteDifferenceScheme scheme)
    {
        double one = at(1) - at(-1);
        return scheme == FiniteDifferenceScheme.Centered
            ? one / (2 * eps)
            : ((8 * one) - (at(2) - at(-2))) / (12 * eps);
    }

    private static void CheckScheme(FiniteDifferenceScheme scheme)
    {
        if (scheme is not (FiniteDifferenceScheme.Centered or FiniteDifferenceScheme.FourthOrderCentered))
            throw new ArgumentOutOfRangeException(nameof(scheme), scheme, $"scheme must be {nameof(FiniteDifferenceScheme.Centered)} or {nameof(FiniteDifferenceScheme.FourthOrderCentered)}.");
    }
}
