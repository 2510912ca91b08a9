// Runs a fast layer (Elman, LSTM or GRU) on a reference test case from FastRnn.Testing and collects every result in
// float, so one set of property checks covers all three cells.
using FastRnn.Kernels;
using FastRnn.Layers;
using FastRnn.Testing;

namespace FastRnn.Tests;

/// <summary>Everything one forward + backward produces; CN and DC0 only for the LSTM.</summary>
internal sealed record FastResult(float[] Output, float[] HN, float[]? CN, float[] DX, float[] DH0, float[]? DC0, float[] DWeightIh, float[] DWeightHh, float[] DBiasIh, float[] DBiasHh);

/// <summary>The reference's answers for a case: forward, gradients, and for the LSTM c_n and dc0.</summary>
internal sealed record ReferenceResult(ReferenceRnnForward Forward, ReferenceRnnGradients Gradients, double[]? CN, double[]? DC0);

/// <summary>One random case of any cell, as the three FastRnn.Testing case records describe it.</summary>
internal sealed record RnnTestCase(
    object Source, ReferenceRnnParameters Parameters, RnnShape Shape, double[] X, double[]? H0, double[]? C0, int[] Lengths, bool Reverse,
    double[] DOutputs, double[]? DhN, double[]? DcN, int Seed)
{
    public bool HasCell => Parameters is ReferenceLstmParameters;

    public static RnnTestCase From(ElmanCase c) => new(c, c.Parameters, c.Shape, c.X, c.H0, null, c.Lengths, c.Reverse, c.DOutputs, c.DhN, null, c.Seed);

    public static RnnTestCase From(LstmCase c) => new(c, c.Parameters, c.Shape, c.X, c.H0, c.C0, c.Lengths, c.Reverse, c.DOutputs, c.DhN, c.DcN, c.Seed);

    public static RnnTestCase From(GruCase c) => new(c, c.Parameters, c.Shape, c.X, c.H0, null, c.Lengths, c.Reverse, c.DOutputs, c.DhN, null, c.Seed);

    /// <summary>The reference forward and backward, optionally with other inputs, parameters or a truncation window.</summary>
    public ReferenceResult Reference(double[]? x = null, double[]? dOutputs = null, int truncationWindow = 0, ReferenceRnnParameters? parameters = null, bool? reverse = null)
    {
        (int T, int B, _, _) = Shape;
        x ??= X;
        dOutputs ??= DOutputs;
        bool r = reverse ?? Reverse;
        switch (parameters ?? Parameters)
        {
            case ReferenceLstmParameters p:
                ReferenceLstmForward lstm = ReferenceLstm.Forward(p, T, B, x, H0, C0, Lengths, r);
                ReferenceLstmGradients lstmGradients = ReferenceLstm.Backward(lstm, dOutputs, DhN, DcN, truncationWindow);
                return new ReferenceResult(lstm, lstmGradients, lstm.CN, lstmGradients.DC0);
            case ReferenceGruParameters p:
                ReferenceGruForward gru = ReferenceGru.Forward(p, T, B, x, H0, Lengths, r);
                return new ReferenceResult(gru, ReferenceGru.Backward(gru, dOutputs, DhN, truncationWindow), null, null);
            case ReferenceElmanParameters p:
                ReferenceElmanForward elman = ReferenceElman.Forward(p, T, B, x, H0, Lengths, r);
                return new ReferenceResult(elman, ReferenceElman.Backward(elman, dOutputs, DhN, truncationWindow), null, null);
            default:
                throw new NotSupportedException(Parameters.GetType().Name);
        }
    }

    /// <summary>A fresh fast layer holding this case's parameters (rounded to float); its gradients start at 0.</summary>
    public RecurrentLayer CreateLayer(bool? reverse = null)
    {
        ReferenceRnnParameters p = Parameters;
        bool r = reverse ?? Reverse;
        var store = new ParameterStore();
        RecurrentLayer layer = p switch
        {
            ReferenceLstmParameters => new LstmLayer(store, p.InputSize, p.HiddenSize, reverse: r),
            ReferenceGruParameters => new GruLayer(store, p.InputSize, p.HiddenSize, reverse: r),
            ReferenceElmanParameters e => new ElmanLayer(store, p.InputSize, p.HiddenSize, e.Nonlinearity, (float)e.LeakySlope, reverse: r),
            _ => throw new NotSupportedException(p.GetType().Name),
        };
        RnnHarness.ToFloat(p.WeightIh).CopyTo(layer.WeightIh.Values);
        RnnHarness.ToFloat(p.WeightHh).CopyTo(layer.WeightHh.Values);
        RnnHarness.ToFloat(p.BiasIh).CopyTo(layer.BiasIh.Values);
        RnnHarness.ToFloat(p.BiasHh).CopyTo(layer.BiasHh.Values);
        return layer;
    }

    public override string ToString() => Source.ToString() ?? string.Empty;
}

internal static class RnnHarness
{
    private static readonly VectorWidth[] s_widths = [VectorWidth.Scalar, VectorWidth.W128, VectorWidth.W256, VectorWidth.W512];

    /// <summary>Each case runs at one of the four kernel widths, chosen by its seed, so properties cover every SIMD path.</summary>
    public static VectorWidth WidthFor(RnnTestCase c) => s_widths[c.Seed & 3];

    public static float[] ToFloat(double[] values) => Array.ConvertAll(values, v => (float)v);

    public static float[] ToFloatOrZeros(double[]? values, int count) => values is null ? new float[count] : ToFloat(values);

    public static float[] ToFloatOrEmpty(double[]? values) => values is null ? [] : ToFloat(values);

    /// <summary>Forward through any layer; the LSTM also takes c0 and returns c_n.</summary>
    public static void Forward(RecurrentLayer layer, RecurrentWorkspace workspace, ReadOnlySpan<float> x, int T, int B, Span<float> output, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, ReadOnlySpan<int> lengths, Span<float> hN, Span<float> cN)
    {
        if (layer is LstmLayer lstm)
        {
            lstm.Forward(x, T, B, output, workspace, h0, c0, lengths, hN, cN);
        }
        else
        {
            layer.Forward(x, T, B, output, workspace, h0, lengths, hN);
        }
    }

    /// <summary>Backward through any layer; the LSTM also takes dc_n and returns dc0.</summary>
    /// <summary>With <paramref name="input"/> or <paramref name="output"/>, through the overloads that take them again (RecurrentWorkspace.CopiesInputAndOutput off).</summary>
    public static void Backward(RecurrentLayer layer, RecurrentWorkspace workspace, ReadOnlySpan<float> dOutput, Span<float> dX, Span<float> dh0, Span<float> dc0, ReadOnlySpan<float> dhN, ReadOnlySpan<float> dcN, int truncationWindow = 0, ReadOnlySpan<float> input = default, ReadOnlySpan<float> output = default)
    {
        bool withInput = !input.IsEmpty || !output.IsEmpty;
        if (layer is LstmLayer lstm)
        {
            if (withInput)
            {
                lstm.Backward(input, output, dOutput, workspace, dX, dh0, dc0, dhN, dcN, truncationWindow);
            }
            else
            {
                lstm.Backward(dOutput, workspace, dX, dh0, dc0, dhN, dcN, truncationWindow);
            }
        }
        else if (withInput)
        {
            layer.Backward(input, output, dOutput, workspace, dX, dh0, dhN, truncationWindow);
        }
        else
        {
            layer.Backward(dOutput, workspace, dX, dh0, dhN, truncationWindow);
        }
    }

    public static FastResult Collect(RecurrentLayer layer, float[] output, float[] hN, float[] cN, float[] dX, float[] dh0, float[] dc0, bool hasCell) =>
        new(output, hN, hasCell ? cN : null, dX, dh0, hasCell ? dc0 : null,
            layer.WeightIh.Gradient.ToArray(), layer.WeightHh.Gradient.ToArray(), layer.BiasIh.Gradient.ToArray(), layer.BiasHh.Gradient.ToArray());

    /// <summary>Forward, then backward with the case's output gradients, on a fresh layer.</summary>
    public static FastResult Run(RnnTestCase c, int truncationWindow = 0, double[]? x = null, double[]? dOutputs = null)
    {
        (int T, int B, int I, int H) = c.Shape;
        RecurrentLayer layer = c.CreateLayer();
        RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
        float[] output = new float[T * B * H], hN = new float[B * H], cN = new float[B * H], dX = new float[T * B * I], dh0 = new float[B * H], dc0 = new float[B * H];
        using (new WidthLimit(WidthFor(c)))
        {
            Forward(layer, workspace, ToFloat(x ?? c.X), T, B, output, ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), c.Lengths, hN, cN);
            Backward(layer, workspace, ToFloat(dOutputs ?? c.DOutputs), dX, dh0, dc0, ToFloatOrEmpty(c.DhN), ToFloatOrEmpty(c.DcN), truncationWindow);
        }

        return Collect(layer, output, hN, cN, dX, dh0, dc0, c.HasCell);
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
        => AssertClose(actual, Array.ConvertAll(expected.ToArray(), v => (double)v), name, relative, absolute);

    public static void AssertMatchesReference(FastResult fast, ReferenceResult reference)
    {
        AssertClose(fast.Output, reference.Forward.Outputs, "output");
        AssertClose(fast.HN, reference.Forward.HN, "h_n");
        AssertClose(fast.DX, reference.Gradients.DX, "dX");
        AssertClose(fast.DH0, reference.Gradients.DH0, "dh0");
        AssertClose(fast.DWeightIh, reference.Gradients.DWeightIh, "dW_ih");
        AssertClose(fast.DWeightHh, reference.Gradients.DWeightHh, "dW_hh");
        AssertClose(fast.DBiasIh, reference.Gradients.DBiasIh, "db_ih");
        AssertClose(fast.DBiasHh, reference.Gradients.DBiasHh, "db_hh");
        if (reference.CN is not null)
        {
            AssertClose(fast.CN!, reference.CN, "c_n");
            AssertClose(fast.DC0!, reference.DC0!, "dc0");
        }
    }

    public static void AssertSame(FastResult actual, FastResult expected, double relative, double absolute)
    {
        foreach ((float[]? a, float[]? e, string name) in Pairs(actual, expected))
        {
            AssertClose(a!, e!, name, relative, absolute);
        }
    }

    public static void AssertBitwiseEqual(FastResult actual, FastResult expected)
    {
        foreach ((float[]? a, float[]? e, string name) in Pairs(actual, expected))
        {
            AssertBitwiseEqual(a!, e!, name);
        }
    }

    private static IEnumerable<(float[]?, float[]?, string)> Pairs(FastResult a, FastResult e)
    {
        yield return (a.Output, e.Output, "output");
        yield return (a.HN, e.HN, "h_n");
        yield return (a.DX, e.DX, "dX");
        yield return (a.DH0, e.DH0, "dh0");
        yield return (a.DWeightIh, e.DWeightIh, "dW_ih");
        yield return (a.DWeightHh, e.DWeightHh, "dW_hh");
        yield return (a.DBiasIh, e.DBiasIh, "db_ih");
        yield return (a.DBiasHh, e.DBiasHh, "db_hh");
        if (e.CN is not null)
        {
            yield return (a.CN, e.CN, "c_n");
            yield return (a.DC0, e.DC0, "dc0");
        }
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
