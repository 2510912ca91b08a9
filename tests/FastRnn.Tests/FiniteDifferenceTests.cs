// The stencils' exact error terms on polynomials: at x = 0, (f(h) - f(-h)) / 2h of x^3 is h^2 (f''' h^2 / 6), and the
// five-point stencil of x^5 is -4 h^4 (-f^(5) h^4 / 30) while it is exact on x^3.
using FastRnn.Testing;

namespace FastRnn.Tests;

public class FiniteDifferenceTests
{
    private static double Cube(double[] x) => x[0] * x[0] * x[0];

    private static double Fifth(double[] x) => Math.Pow(x[0], 5);

    [Theory]
    [InlineData(1e-1)]
    [InlineData(1e-2)]
    public void Centered_stencil_has_the_eps_squared_truncation_error(double eps)
    {
        double[] gradient = FiniteDifference.Gradient(Cube, [0.0], eps);
        Assert.Equal(eps * eps, gradient[0], 1e-15);
    }

    [Theory]
    [InlineData(1e-1)]
    [InlineData(1e-2)]
    public void Fourth_order_stencil_is_exact_on_a_cubic_and_has_the_eps_to_the_fourth_error_on_a_quintic(double eps)
    {
        Assert.Equal(3 * 0.25, FiniteDifference.Gradient(Cube, [0.5], eps, FiniteDifferenceScheme.FourthOrderCentered)[0], 1e-12);
        double quintic = FiniteDifference.Gradient(Fifth, [0.0], eps, FiniteDifferenceScheme.FourthOrderCentered)[0];
        Assert.Equal(-4 * Math.Pow(eps, 4), quintic, 1e-15);
    }

    [Fact]
    public void Directional_derivative_uses_the_same_stencils_and_restores_x_exactly()
    {
        // f = x0^3 + 2 x1 along d = (1, 1) at (0.1, 0.3): the derivative is 3 x0^2 + 2 = 2.03.
        double[] x = [0.1, 0.3], before = (double[])x.Clone();
        double F(double[] p) => (p[0] * p[0] * p[0]) + (2 * p[1]);
        double centered = FiniteDifference.DirectionalDerivative(F, x, [1.0, 1.0], 1e-2);
        double fourth = FiniteDifference.DirectionalDerivative(F, x, [1.0, 1.0], 1e-2, FiniteDifferenceScheme.FourthOrderCentered);
        Assert.Equal(2.03 + 1e-4, centered, 1e-12);
        Assert.Equal(2.03, fourth, 1e-12);
        Assert.Equal(before, x);
    }

    [Fact]
    public void Gradient_check_with_the_fourth_order_stencil_passes_where_the_centered_one_is_off_by_truncation()
    {
        // A tiny gradient (1e-4) next to a large third derivative (6): the centered stencil's eps^2 error is as large as
        // the component at eps = 1e-2, the five-point stencil's is zero on a cubic.
        double F(double[] p) => (1e-4 * p[0]) + (p[0] * p[0] * p[0]);
        double[] x = [0.0];
        GradientCheckReport centered = GradientCheck.AllCoordinates(F, x, [1e-4], eps: 1e-2);
        GradientCheckReport fourth = GradientCheck.AllCoordinates(F, x, [1e-4], eps: 1e-2, scheme: FiniteDifferenceScheme.FourthOrderCentered);
        Assert.InRange(centered.MaxRelativeError, 0.3, 0.4); // |2e-4 - 1e-4| / 3e-4
        Assert.True(fourth.MaxRelativeError < 1e-10, fourth.ToString());
    }

    [Fact]
    public void An_undefined_scheme_is_rejected_by_name()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => FiniteDifference.Gradient(Cube, [0.0], 1e-3, (FiniteDifferenceScheme)7));
        Assert.Equal("scheme", e.ParamName);
    }
}
