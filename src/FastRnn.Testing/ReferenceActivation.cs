// Legend: z pre-activation, h = f(z).
namespace FastRnn.Testing;

/// <summary>The scalar nonlinearities of the reference, written from their definitions.</summary>
public static class ReferenceActivation
{
    /// <summary>Computes <c>f(z)</c>.</summary>
    /// <param name="function">The nonlinearity.</param>
    /// <param name="leakySlope">The negative-side slope, used by <see cref="Nonlinearity.LeakyRelu"/> only.</param>
    /// <param name="z">The pre-activation.</param>
    /// <returns><c>f(z)</c>.</returns>
    public static double Apply(Nonlinearity function, double leakySlope, double z) => function switch
    {
        Nonlinearity.Tanh => Math.Tanh(z),
        Nonlinearity.Sigmoid => 1.0 / (1.0 + Math.Exp(-z)),
        Nonlinearity.Relu => z > 0 ? z : 0.0,
        Nonlinearity.LeakyRelu => z > 0 ? z : leakySlope * z,
        Nonlinearity.Identity => z,
        _ => throw new ArgumentOutOfRangeException(nameof(function), function, "Unknown nonlinearity."),
    };

    /// <summary>Computes <c>f'(z)</c>. At <c>z = 0</c>: relu gives 0, leaky relu gives the slope (both as in PyTorch).</summary>
    /// <param name="function">The nonlinearity.</param>
    /// <param name="leakySlope">The negative-side slope, used by <see cref="Nonlinearity.LeakyRelu"/> only.</param>
    /// <param name="z">The pre-activation.</param>
    /// <returns><c>f'(z)</c>.</returns>
    public static double Derivative(Nonlinearity function, double leakySlope, double z)
    {
        switch (function)
        {
            case Nonlinearity.Tanh:
                double t = Math.Tanh(z);
                return 1.0 - (t * t);
            case Nonlinearity.Sigmoid:
                double s = 1.0 / (1.0 + Math.Exp(-z));
                return s * (1.0 - s);
            case Nonlinearity.Relu:
                return z > 0 ? 1.0 : 0.0;
            case Nonlinearity.LeakyRelu:
                return z > 0 ? 1.0 : leakySlope;
            case Nonlinearity.Identity:
                return 1.0;
            default:
                throw new ArgumentOutOfRangeException(nameof(function), function, "Unknown nonlinearity.");
        }
    }
}
