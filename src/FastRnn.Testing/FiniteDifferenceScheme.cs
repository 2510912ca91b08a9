namespace FastRnn.Testing;

/// <summary>Which centered stencil <see cref="FiniteDifference"/> uses.</summary>
public enum FiniteDifferenceScheme
{
    /// <summary>
    /// <c>(f(x + eps) - f(x - eps)) / (2 eps)</c>: 2 calls of f per probe, truncation error <c>eps^2 f''' / 6</c>,
    /// rounding error about <c>1e-16 |f| / eps</c>.
    /// </summary>
    Centered,

    /// <summary>
    /// <c>(8 (f(x + eps) - f(x - eps)) - (f(x + 2 eps) - f(x - 2 eps))) / (12 eps)</c> (the Richardson extrapolation of
    /// <see cref="Centered"/>): 4 calls of f per probe, truncation error <c>eps^4 f^(5) / 30</c>, rounding error about
    /// <c>1.5e-16 |f| / eps</c>. Use it when the third derivative is large next to the gradient being checked: a
    /// component of 1e-4 with <c>f''' = 1.7</c> is off by 2.8e-9 at eps = 1e-4 with <see cref="Centered"/>, and a
    /// smaller eps trades that for rounding noise.
    /// </summary>
    FourthOrderCentered,
}
