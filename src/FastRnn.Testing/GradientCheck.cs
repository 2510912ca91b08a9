// Legend: n the number of coordinates of x; f: R^n -> R; g the analytic gradient; fd the finite-difference estimate.
namespace FastRnn.Testing;

/// <summary>
/// Compares an analytic gradient with centered finite differences. Error measure, per probe with analytic value a and estimate fd:
/// <c>|fd - a| / max(floor, |fd| + |a|)</c>, which lies in [0, 1] and is about half the usual relative error when both are close.
/// Below the floor the measure is absolute (scaled by 1/floor): centered differences carry a rounding noise of about
/// <c>1e-16 |f| / eps</c>, so components much smaller than that cannot be checked relatively; raise the floor for large losses.
/// Use <see cref="AllCoordinates"/> on small cases and <see cref="AlongRandomDirections"/> (2 calls of f per direction, 4 with <see cref="FiniteDifferenceScheme.FourthOrderCentered"/>) on large ones.
/// </summary>
public static class GradientCheck
{
    /// <summary>The default denominator floor of <see cref="RelativeError"/>, so that two tiny values (finite-difference noise) do not count as a large error.</summary>
    public const double RelativeErrorFloor = 1e-8;

    /// <summary><c>|fd - a| / max(floor, |fd| + |a|)</c>.</summary>
    /// <param name="finiteDifference">The finite-difference estimate.</param>
    /// <param name="analytic">The analytic value.</param>
    /// <param name="floor">The denominator floor.</param>
    /// <returns>The relative error, in [0, 1] (NaN if either value is NaN).</returns>
    public static double RelativeError(double finiteDifference, double analytic, double floor = RelativeErrorFloor) =>
        Math.Abs(finiteDifference - analytic) / Math.Max(floor, Math.Abs(finiteDifference) + Math.Abs(analytic));

    /// <summary>
    /// Probes <paramref name="directions"/> random unit directions d (Gaussian components, normalized) and compares
    /// <see cref="FiniteDifference.DirectionalDerivative"/> with <c>g . d</c>.
    /// </summary>
    /// <param name="f">The function.</param>
    /// <param name="x">The point, <c>[n]</c>; perturbed in place and restored (so <paramref name="f"/> may read it through a closure).</param>
    /// <param name="analyticGradient">g at x, <c>[n]</c>.</param>
    /// <param name="directions">How many directions to probe.</param>
    /// <param name="rng">The source of the directions (seed it for reproducible failures).</param>
    /// <param name="eps">The step along each unit direction.</param>
    /// <param name="floor">The denominator floor of <see cref="RelativeError"/>.</param>
    /// <param name="scheme">The finite-difference stencil.</param>
    /// <returns>The worst probe.</returns>
    public static GradientCheckReport AlongRandomDirections(
        Func<double[], double> f, double[] x, double[] analyticGradient, int directions, Random rng, double eps = 1e-6, double floor = RelativeErrorFloor,
        FiniteDifferenceScheme scheme = FiniteDifferenceScheme.Centered)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(analyticGradient);
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfNegative(directions);
        CheckLength(analyticGradient, x.Length);
        var worst = new Accumulator(floor);
        var d = new double[x.Length];
        for (int probe = 0; probe < directions && x.Length > 0; probe++)
        {
            RandomUnitVector(rng, d);
            double analytic = 0;
            for (int i = 0; i < x.Length; i++)
                analytic += analyticGradient[i] * d[i];
            worst.Add(probe, FiniteDifference.DirectionalDerivative(f, x, d, eps, scheme), analytic);
        }
        return worst.Report(x.Length == 0 ? 0 : directions);
    }

    /// <summary>Compares every coordinate of <see cref="FiniteDifference.Gradient"/> with <paramref name="analyticGradient"/> (2n calls of f).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">The point, <c>[n]</c>; perturbed in place and restored (so <paramref name="f"/> may read it through a closure).</param>
    /// <param name="analyticGradient">g at x, <c>[n]</c>.</param>
    /// <param name="eps">The step.</param>
    /// <param name="floor">The denominator floor of <see cref="RelativeError"/>.</param>
    /// <param name="scheme">The finite-difference stencil.</param>
    /// <returns>The worst coordinate.</returns>
    public static GradientCheckReport AllCoordinates(
        Func<double[], double> f, double[] x, double[] analyticGradient, double eps = 1e-6, double floor = RelativeErrorFloor,
        FiniteDifferenceScheme scheme = FiniteDifferenceScheme.Centered)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(analyticGradient);
        CheckLength(analyticGradient, x.Length);
        double[] fd = FiniteDifference.Gradient(f, x, eps, scheme);
        var worst = new Accumulator(floor);
        for (int i = 0; i < x.Length; i++)
            worst.Add(i, fd[i], analyticGradient[i]);
        return worst.Report(x.Length);
    }

    private static void RandomUnitVector(Random rng, double[] d)
    {
        double norm2 = 0;
        while (norm2 == 0)
        {
            for (int i = 0; i < d.Length; i++)
            {
                // Box-Muller: Gaussian components make the direction uniform on the sphere.
                double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
                d[i] = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
                norm2 += d[i] * d[i];
            }
        }
        double inv = 1.0 / Math.Sqrt(norm2);
        for (int i = 0; i < d.Length; i++)
            d[i] *= inv;
    }

    private static void CheckLength(double[] analyticGradient, int expected)
    {
        if (analyticGradient.Length != expected)
            throw new ArgumentException($"analyticGradient has {analyticGradient.Length} elements, expected {expected}.", nameof(analyticGradient));
    }

    private struct Accumulator
    {
        private readonly double _floor;
        private double _maxRelative;
        private double _maxAbsolute;
        private int _worst;
        private double _worstFd;
        private double _worstAnalytic;

        public Accumulator(double floor)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(floor);
            _floor = floor;
            _worst = -1;
        }

        public void Add(int probe, double fd, double analytic)
        {
            double relative = RelativeError(fd, analytic, _floor);
            _maxAbsolute = Math.Max(_maxAbsolute, Math.Abs(fd - analytic));
            // NaN counts as the worst possible error; the first NaN is kept.
            bool worse = _worst < 0 || (!double.IsNaN(_maxRelative) && (double.IsNaN(relative) || relative > _maxRelative));
            if (worse)
            {
                _maxRelative = relative;
                _worst = probe;
                _worstFd = fd;
                _worstAnalytic = analytic;
            }
        }

        public readonly GradientCheckReport Report(int probes) =>
            new(probes, _maxRelative, _maxAbsolute, _worst, _worstFd, _worstAnalytic);
    }
}
