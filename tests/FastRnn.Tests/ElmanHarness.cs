// Runs the fast Elman layer on a reference test case (FastRnn.Testing.ElmanCase) and collects every result in float.
using FastRnn.Kernels;
using FastRnn.Layers;
using FastRnn.Testing;

namespace FastRnn.Tests;

internal sealed record FastElmanResult(float[] Output, float[] HN, float[] DX, float[] DH0, float[] DWeightIh, float[] DWeightHh, float[] DBiasIh, float[] DBiasHh);

internal static class ElmanHarness
{
    private static readonly VectorWidth[] s_widths = [VectorWidth.Scalar, VectorWidth.W128, VectorWidth.W256, VectorWidth.W512];

    /// <summary>Each case runs at one of the four kernel widths, chosen by its seed, so properties cover every SIMD path.</summary>
    public static VectorWidth WidthFor(ElmanCase c) => s_widths[c.Seed & 3];

    public static float[] ToFloat(double[] values) => Array.ConvertAll(values, v => (float)v);

    public static float[]? ToFloatOrNull(double[]? values) => values is null ? null : ToFloat(values);

    public static ElmanLayer CreateLayer(ElmanCase c, bool? reverse = null)
    {
        ReferenceElmanParameters p = c.Parameters;
        var layer = new ElmanLayer(new ParameterStore(), p.InputSize, p.HiddenSize, p.Nonlinearity, (float)p.LeakySlope, reverse: reverse ?? c.Reverse);
        ToFloat(p.WeightIh).CopyTo(layer.WeightIh.Values);
        ToFloat(p.WeightHh).CopyTo(layer.WeightHh.Values);
        ToFloat(p.BiasIh).CopyTo(layer.BiasIh.Values);
        ToFloat(p.BiasHh).CopyTo(layer.BiasHh.Values);
        return layer;
    }

    /// <summary>Forward, then backward with the case's output gradients, on a fresh layer; gradients start at 0.</summary>
    public static FastElmanResult Run(ElmanCase c, int truncationWindow = 0, double[]? x = null, double[]? dOutputs = null)
    {
        (int T, int B, int I, int H) = c.Shape;
        ElmanLayer layer = CreateLayer(c);
        RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
        float[] output = new float[T * B * H], hN = new float[B * H], dX = new float[T * B * I], dh0 = new float[B * H];
        using (new WidthLimit(WidthFor(c)))
        {
            layer.Forward(ToFloat(x ?? c.X), T, B, output, workspace, ToFloatOrNull(c.H0), c.Lengths, hN);
            layer.Backward(ToFloat(dOutputs ?? c.DOutputs), workspace, dX, dh0, ToFloatOrNull(c.DhN), truncationWindow);
        }

        return new FastElmanResult(output, hN, dX, dh0, layer.WeightIh.Gradient.ToArray(), layer.WeightHh.Gradient.ToArray(), layer.BiasIh.Gradient.ToArray(), layer.BiasHh.Gradient.ToArray());
    }

    /// <summary>float32 tolerance: relative 2e-4, absolute 2e-5 scaled by the tensor's largest magnitude.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, string name, double relative = 2e-4, double absolute = 2e-5)
    {
        double scale = 1;
        foreach (double value in expected)
        {
            scale = Math.Max(scale, Math.Abs(value));
        }

        TensorAssert.Close(actual, expected, relative, absolute * scale, name);
    }

    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, string name, double relative = 2e-4, double absolute = 2e-5)
    {
        double[] asDouble = new double[expected.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            asDouble[i] = expected[i];
        }

        AssertClose(actual, asDouble, name, relative, absolute);
    }

    public static void AssertSame(FastElmanResult actual, FastElmanResult expected, double relative, double absolute)
    {
        AssertClose(actual.Output, expected.Output, "output", relative, absolute);
        AssertClose(actual.HN, expected.HN, "h_n", relative, absolute);
        AssertClose(actual.DX, expected.DX, "dX", relative, absolute);
        AssertClose(actual.DH0, expected.DH0, "dh0", relative, absolute);
        AssertClose(actual.DWeightIh, expected.DWeightIh, "dW_ih", relative, absolute);
        AssertClose(actual.DWeightHh, expected.DWeightHh, "dW_hh", relative, absolute);
        AssertClose(actual.DBiasIh, expected.DBiasIh, "db_ih", relative, absolute);
        AssertClose(actual.DBiasHh, expected.DBiasHh, "db_hh", relative, absolute);
    }

    public static void AssertBitwiseEqual(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(expected[i]))
            {
                Assert.Fail($"{name}[{i}] = {actual[i]:R}, expected exactly {expected[i]:R}");
            }
        }
    }
}
