// Gradient clipping by global norm and by value.
using FastRnn.Training;
using FsCheck.Xunit;

namespace FastRnn.Tests;

public class ClippingTests
{
    private static double Norm(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values)
        {
            sum += (double)v * v;
        }

        return Math.Sqrt(sum);
    }

    private static float[] RandomGradients(Random random, int n, double scale)
    {
        float[] g = new float[n];
        for (int i = 0; i < n; i++)
        {
            g[i] = (float)(scale * ((2 * random.NextDouble()) - 1));
        }

        return g;
    }

    [Property(MaxTest = 500)]
    public void Global_norm_clipping_bounds_the_norm_and_keeps_the_direction(int seed)
    {
        var random = new Random(seed);
        int n = random.Next(0, 300);
        float[] g = RandomGradients(random, n, Math.Pow(10, random.Next(-4, 5)));
        float[] before = (float[])g.Clone();
        double expected = Norm(g);
        // Around the norm: clipping about half of the time, sometimes to 0.
        float maxNorm = random.Next(10) == 0 ? 0f : (float)(expected * 2 * random.NextDouble());

        double norm = GradientClipping.ClipByGlobalNorm(g, maxNorm);

        Assert.Equal(expected, norm, expected * 1e-12);
        double after = Norm(g);
        Assert.True(after <= maxNorm * (1 + 1e-5), $"norm {after} after clipping to {maxNorm} (was {norm})");
        if (norm + 1e-6 <= maxNorm)
        {
            // PyTorch's coefficient maxNorm / (norm + 1e-6) is >= 1: nothing changes.
            Assert.Equal(before, g);
            return;
        }

        // Scaled to maxNorm * norm / (norm + 1e-6), in the same direction.
        Assert.Equal(maxNorm * norm / (norm + 1e-6), after, (maxNorm * 1e-6) + 1e-30);
        if (after > 0)
        {
            double dot = 0;
            for (int i = 0; i < n; i++)
            {
                dot += (double)before[i] * g[i];
            }

            Assert.True(dot / (norm * after) >= 1 - 1e-6, $"cosine {dot / (norm * after)}");
        }
    }

    [Property(MaxTest = 300)]
    public void Value_clipping_clamps_each_gradient(int seed)
    {
        var random = new Random(seed);
        int n = random.Next(0, 200);
        float[] g = RandomGradients(random, n, Math.Pow(10, random.Next(-2, 3)));
        float[] before = (float[])g.Clone();
        float clip = (float)(random.NextDouble() * Math.Pow(10, random.Next(-2, 3)));

        GradientClipping.ClipByValue(g, clip);

        for (int i = 0; i < n; i++)
        {
            Assert.True(Math.Abs(g[i]) <= clip);
            Assert.Equal(Math.Clamp(before[i], -clip, clip), g[i]);
        }
    }

    [Fact]
    public void The_norm_of_huge_gradients_is_computed_without_overflow()
    {
        // Each square overflows float; the double sum does not: norm = 3e38 * sqrt(100) = 3e39.
        float[] g = Enumerable.Repeat(3e38f, 100).ToArray();
        double norm = GradientClipping.ClipByGlobalNorm(g, 1f);
        Assert.Equal(3e39, norm, 3e39 * 1e-6);
        Assert.Equal(1.0, Norm(g), 1e-5);
        Assert.All(g, v => Assert.Equal(0.1f, v, 1e-6f));
    }

    [Fact]
    public void Tiny_gradients_keep_their_norm()
    {
        // Squares below float's smallest normal (1e-40^2) still count in double.
        float[] g = Enumerable.Repeat(1e-30f, 64).ToArray();
        Assert.Equal(8e-30, GradientClipping.ClipByGlobalNorm(g, 1f), 8e-30 * 1e-6);
        Assert.All(g, v => Assert.Equal(1e-30f, v));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void A_non_finite_norm_is_returned_and_leaves_the_gradients_unchanged(float bad)
    {
        float[] g = [1f, 2f, bad, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f];
        float[] before = (float[])g.Clone();
        double norm = GradientClipping.ClipByGlobalNorm(g, 1f);
        Assert.False(double.IsFinite(norm));
        Assert.Equal(float.IsNaN(bad), double.IsNaN(norm));
        Assert.Equal(before, g);

        ArgumentException e = Assert.Throws<ArgumentException>(() => GradientClipping.ClipByGlobalNorm(g, 1f, errorIfNonfinite: true));
        Assert.Equal("gradients", e.ParamName);
        Assert.Equal(before, g);
    }

    [Fact]
    public void Value_clipping_keeps_nan()
    {
        float[] g = [float.NaN, 5f, -5f, float.PositiveInfinity, float.NegativeInfinity];
        GradientClipping.ClipByValue(g, 2f);
        Assert.True(float.IsNaN(g[0]));
        Assert.Equal([2f, -2f, 2f, -2f], g[1..]);
    }

    [Fact]
    public void Store_overloads_clip_the_gradients_only()
    {
        var store = new ParameterStore();
        store.Add("a", 3);
        store.Add("b", 2, 2);
        store.Values.Fill(7f);
        store.Gradients.Fill(2f);   // norm = 2 * sqrt(7)
        double norm = GradientClipping.ClipByGlobalNorm(store, 1f);
        Assert.Equal(2 * Math.Sqrt(7), norm, 1e-6);
        Assert.Equal(1.0, store.GradientNorm(), 1e-5);
        GradientClipping.ClipByValue(store, 0.1f);
        Assert.All(store.Gradients.ToArray(), v => Assert.Equal(0.1f, v));
        Assert.All(store.Values.ToArray(), v => Assert.Equal(7f, v));
    }

    [Fact]
    public void Bad_bounds_throw_before_anything_is_written()
    {
        float[] g = [3f, 4f];
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm(g, -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm(g, float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByValue(g, -0.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByValue(g, float.NaN));
        Assert.Equal([3f, 4f], g);
        Assert.Throws<ArgumentNullException>(() => GradientClipping.ClipByGlobalNorm((ParameterStore)null!, 1f));

        // Infinite bounds never clip.
        Assert.Equal(5.0, GradientClipping.ClipByGlobalNorm(g, float.PositiveInfinity), 1e-12);
        GradientClipping.ClipByValue(g, float.PositiveInfinity);
        Assert.Equal([3f, 4f], g);
    }
}
