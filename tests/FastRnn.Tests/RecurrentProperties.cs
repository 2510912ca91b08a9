// The properties of design section 4, written once for every cell. Cases are random shapes (sizes 1, 3, 15, 17,
// 33 ..., T = 1, B = 1, zero-length sequences inside a batch), both directions, and each runs at one kernel width.
using FastRnn.Layers;
using FastRnn.Testing;
using static FastRnn.Tests.RnnHarness;

namespace FastRnn.Tests;

internal static class RecurrentProperties
{
    /// <summary>1. The fast forward and every gradient match the double reference.</summary>
    public static void MatchesReference(RnnTestCase c) => AssertMatchesReference(Run(c), c.Reference());

    /// <summary>2. The reference's gradients match centered finite differences of L = sum(dY.Y) + sum(dh_n.h_n) (+ sum(dc_n.c_n)).</summary>
    public static void ReferenceMatchesFiniteDifferences(RnnTestCase c)
    {
        ReferenceResult analytic = c.Reference();

        // Two errors bound the step: rounding noise (~1e-16 |L| / eps; L sums thousands of terms in the larger cases)
        // and truncation (eps^2 L''' / 6 for the 3-point stencil). Both bit: for the GRU case replayed in
        // GruPropertyTests, one direction's error was 2e-11 at eps = 1e-4, 6.6e-10 at 1e-5 and 5e-9 at 3e-6 (rounding);
        // for the case replayed next to it, a db_ih component of 1.25e-4 was off by exactly 0.28 eps^2 for eps from
        // 1e-2 to 3e-5 (truncation, L''' = 1.7: 2.8e-9 at 1e-4, past the 1e-9 that floor * tolerance allows near zero).
        // So the smooth cells use the 5-point stencil at 1e-4: truncation O(eps^4), rounding as at 1e-4.
        // ReLU has a kink at 0, where centered differences are meaningless: probe closer, with the 3-point stencil (it
        // reaches half as far), and skip the rare case with a pre-activation within 1e-5 of the kink. The smaller step
        // raises the noise, so the relative-error floor and the tolerance rise with it (a wrong gradient is off by far
        // more).
        double eps = 1e-4, floor = 1e-4, tolerance = 1e-5;
        FiniteDifferenceScheme scheme = FiniteDifferenceScheme.FourthOrderCentered;
        if (c.Parameters is ReferenceElmanParameters { Nonlinearity: Nonlinearity.Relu or Nonlinearity.LeakyRelu })
        {
            (eps, floor, tolerance, scheme) = (1e-7, 1e-3, 1e-4, FiniteDifferenceScheme.Centered);
            double nearest = double.PositiveInfinity;
            ForEachValid(c, (t, b) =>
            {
                for (int k = 0; k < c.Shape.H; k++)
                {
                    nearest = Math.Min(nearest, Math.Abs(((ReferenceElmanForward)analytic.Forward).PreActivations[(((t * c.Shape.B) + b) * c.Shape.H) + k]));
                }
            });
            if (nearest < 1e-5)
            {
                return;
            }
        }

        double Loss(ReferenceRnnParameters? parameters, double[]? x)
        {
            ReferenceResult r = c.Reference(x: x, parameters: parameters);
            double loss = Dot(c.DOutputs, r.Forward.Outputs) + Dot(c.DhN, r.Forward.HN);
            return r.CN is null ? loss : loss + Dot(c.DcN, r.CN);
        }

        ReferenceRnnParameters p = c.Parameters switch
        {
            ReferenceLstmParameters lstm => lstm.Clone(),
            ReferenceGruParameters gru => gru.Clone(),
            ReferenceElmanParameters elman => elman.Clone(),
            _ => throw new NotSupportedException(),
        };
        var random = new Random(c.Seed);
        foreach ((double[] values, double[] gradient, string name) in (ReadOnlySpan<(double[], double[], string)>)[
            (p.WeightIh, analytic.Gradients.DWeightIh, "dW_ih"), (p.WeightHh, analytic.Gradients.DWeightHh, "dW_hh"),
            (p.BiasIh, analytic.Gradients.DBiasIh, "db_ih"), (p.BiasHh, analytic.Gradients.DBiasHh, "db_hh")])
        {
            GradientCheckReport report = values.Length <= 48
                ? GradientCheck.AllCoordinates(_ => Loss(p, null), values, gradient, eps: eps, floor: floor, scheme: scheme)
                : GradientCheck.AlongRandomDirections(_ => Loss(p, null), values, gradient, directions: 6, random, eps: eps, floor: floor, scheme: scheme);
            Assert.True(report.MaxRelativeError < tolerance, $"{name}: {report} ({c})");
        }

        double[] x = (double[])c.X.Clone();
        GradientCheckReport dx = GradientCheck.AlongRandomDirections(input => Loss(null, input), x, analytic.Gradients.DX, directions: 6, random, eps: eps, floor: floor, scheme: scheme);
        Assert.True(dx.MaxRelativeError < tolerance, $"dX: {dx} ({c})");
    }

    /// <summary>3. Stepping one step at a time with carried state (one workspace per step, backward in reverse order,
    /// each step's dh0 fed as the previous step's dh_n) equals the whole-sequence call.</summary>
    public static void SteppingEqualsWholeSequence(RnnTestCase c)
    {
        if (c.Reverse)
        {
            return; // A reverse pass starts at each sequence's end; stepping from t = 0 does not apply.
        }

        (int T, int B, int I, int H) = c.Shape;
        FastResult whole = Run(c);
        RecurrentLayer layer = c.CreateLayer();
        var workspaces = new RecurrentWorkspace[T];
        float[] x = ToFloat(c.X), dOutputs = ToFloat(c.DOutputs);
        float[] h = ToFloatOrZeros(c.H0, B * H), cell = ToFloatOrZeros(c.C0, B * H);
        float[] output = new float[T * B * H], dX = new float[T * B * I];
        float[] dh = ToFloatOrZeros(c.DhN, B * H), dc = ToFloatOrZeros(c.DcN, B * H);
        using (new WidthLimit(WidthFor(c)))
        {
            for (int t = 0; t < T; t++)
            {
                workspaces[t] = layer.CreateWorkspace(1, B);
                int[] lengths = Array.ConvertAll(c.Lengths, length => t < length ? 1 : 0);
                float[] hNext = new float[B * H], cNext = new float[B * H];
                Forward(layer, workspaces[t], x.AsSpan(t * B * I, B * I), 1, B, output.AsSpan(t * B * H, B * H), h, cell, lengths, hNext, cNext);
                (h, cell) = (hNext, cNext);
            }

            for (int t = T - 1; t >= 0; t--)
            {
                float[] dh0 = new float[B * H], dc0 = new float[B * H];
                Backward(layer, workspaces[t], dOutputs.AsSpan(t * B * H, B * H), dX.AsSpan(t * B * I, B * I), dh0, dc0, dh, dc);
                (dh, dc) = (dh0, dc0);
            }
        }

        AssertSame(Collect(layer, output, h, cell, dX, dh, dc, c.HasCell), whole, relative: 1e-4, absolute: 1e-5);
    }

    /// <summary>4a. Padding is never read: NaN there gives bit-identical results; padded outputs and dX are exactly 0.</summary>
    public static void PaddingIsNeverRead(RnnTestCase c)
    {
        (int T, int B, int I, int H) = c.Shape;
        double[] xNaN = (double[])c.X.Clone(), xZero = (double[])c.X.Clone(), dOutputsNaN = (double[])c.DOutputs.Clone();
        ForEachPadded(c, (t, b) =>
        {
            Array.Fill(xNaN, double.NaN, ((t * B) + b) * I, I);
            Array.Fill(xZero, 0.0, ((t * B) + b) * I, I);
            Array.Fill(dOutputsNaN, double.NaN, ((t * B) + b) * H, H);
        });

        FastResult withNaN = Run(c, x: xNaN, dOutputs: dOutputsNaN);
        AssertBitwiseEqual(withNaN, Run(c, x: xZero));
        ForEachPadded(c, (t, b) =>
        {
            TensorAssert.AllEqual(withNaN.Output.AsSpan(((t * B) + b) * H, H), 0f, $"output[{t},{b}]");
            TensorAssert.AllEqual(withNaN.DX.AsSpan(((t * B) + b) * I, I), 0f, $"dX[{t},{b}]");
        });
    }

    /// <summary>4b. The reverse direction equals the forward pass on each sequence reversed within its length (bit for bit).</summary>
    public static void ReverseEqualsForwardOnReversedSequences(RnnTestCase c)
    {
        (int T, int B, int I, int H) = c.Shape;
        float[] Flip(float[] values, int width)
        {
            float[] flipped = (float[])values.Clone();
            for (int b = 0; b < B; b++)
            {
                for (int t = 0; t < c.Lengths[b]; t++)
                {
                    Array.Copy(values, ((t * B) + b) * width, flipped, (((c.Lengths[b] - 1 - t) * B) + b) * width, width);
                }
            }

            return flipped;
        }

        double[] FlipDouble(double[] values, int width) => Array.ConvertAll(Flip(Array.ConvertAll(values, v => (float)v), width), v => (double)v);

        FastResult reversed = Run(c with { Reverse = true });
        FastResult forward = Run(c with { Reverse = false, X = FlipDouble(c.X, I), DOutputs = FlipDouble(c.DOutputs, H) });
        AssertBitwiseEqual(reversed, forward with { Output = Flip(forward.Output, H), DX = Flip(forward.DX, I) });
    }

    /// <summary>5a. Truncated BPTT with a window of at least T is full BPTT, bit for bit.</summary>
    public static void LongTruncationWindowIsFullBptt(RnnTestCase c)
    {
        if (!c.Reverse)
        {
            AssertBitwiseEqual(Run(c, truncationWindow: c.Shape.T + (c.Seed % 3)), Run(c));
        }
    }

    /// <summary>5b. Truncated BPTT with window k matches the reference and equals chunked calls with carried state.</summary>
    public static void TruncationEqualsChunkedCalls(RnnTestCase c)
    {
        if (c.Reverse)
        {
            return;
        }

        (int T, int B, int I, int H) = c.Shape;
        int k = 1 + (c.Seed % T);
        FastResult whole = Run(c, truncationWindow: k);
        AssertMatchesReference(whole, c.Reference(truncationWindow: k));

        RecurrentLayer layer = c.CreateLayer();
        float[] x = ToFloat(c.X), dOutputs = ToFloat(c.DOutputs), dhN = ToFloatOrZeros(c.DhN, B * H), dcN = ToFloatOrZeros(c.DcN, B * H);
        float[] h = ToFloatOrZeros(c.H0, B * H), cell = ToFloatOrZeros(c.C0, B * H);
        float[] output = new float[T * B * H], dX = new float[T * B * I], dh0First = [], dc0First = [];
        using (new WidthLimit(WidthFor(c)))
        {
            for (int start = 0; start < T; start += k)
            {
                int steps = Math.Min(k, T - start);
                int[] lengths = Array.ConvertAll(c.Lengths, length => Math.Clamp(length - start, 0, steps));
                RecurrentWorkspace workspace = layer.CreateWorkspace(steps, B);
                float[] hNext = new float[B * H], cNext = new float[B * H];
                Forward(layer, workspace, x.AsSpan(start * B * I, steps * B * I), steps, B, output.AsSpan(start * B * H, steps * B * H), h, cell, lengths, hNext, cNext);

                // dh_n (dc_n) enters in the chunk holding each sequence's last step (chunk 0 for a zero-length sequence);
                // every other state is detached at the chunk's end.
                float[] chunkDhN = new float[B * H], chunkDcN = new float[B * H];
                for (int b = 0; b < B; b++)
                {
                    int length = c.Lengths[b];
                    if ((length > start && length <= start + steps) || (length == 0 && start == 0))
                    {
                        dhN.AsSpan(b * H, H).CopyTo(chunkDhN.AsSpan(b * H, H));
                        dcN.AsSpan(b * H, H).CopyTo(chunkDcN.AsSpan(b * H, H));
                    }
                }

                float[] dh0 = new float[B * H], dc0 = new float[B * H];
                Backward(layer, workspace, dOutputs.AsSpan(start * B * H, steps * B * H), dX.AsSpan(start * B * I, steps * B * I), dh0, dc0, chunkDhN, chunkDcN);
                if (start == 0)
                {
                    (dh0First, dc0First) = (dh0, dc0);
                }

                (h, cell) = (hNext, cNext);
            }
        }

        AssertSame(Collect(layer, output, h, cell, dX, dh0First, dc0First, c.HasCell), whole, relative: 1e-4, absolute: 1e-5);
    }

    /// <summary>6. Outputs pre-filled with NaN come back fully written; guard regions around every output are untouched.</summary>
    public static void OutputsAreFullyWrittenWithinTheirBounds(RnnTestCase c)
    {
        (int T, int B, int I, int H) = c.Shape;
        const int Guard = 19;
        const float Sentinel = -12345.5f;
        float[] Guarded(int length)
        {
            float[] buffer = new float[length + (2 * Guard)];
            Array.Fill(buffer, Sentinel);
            Array.Fill(buffer, float.NaN, Guard, length);
            return buffer;
        }

        RecurrentLayer layer = c.CreateLayer();
        RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
        float[] output = Guarded(T * B * H), hN = Guarded(B * H), cN = Guarded(B * H), dX = Guarded(T * B * I), dh0 = Guarded(B * H), dc0 = Guarded(B * H);
        using (new WidthLimit(WidthFor(c)))
        {
            Forward(layer, workspace, ToFloat(c.X), T, B, output.AsSpan(Guard, T * B * H), ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), c.Lengths, hN.AsSpan(Guard, B * H), cN.AsSpan(Guard, B * H));
            Backward(layer, workspace, ToFloat(c.DOutputs), dX.AsSpan(Guard, T * B * I), dh0.AsSpan(Guard, B * H), dc0.AsSpan(Guard, B * H), ToFloatOrEmpty(c.DhN), ToFloatOrEmpty(c.DcN));
        }

        var buffers = new List<(float[], string)> { (output, "output"), (hN, "h_n"), (dX, "dX"), (dh0, "dh0") };
        if (c.HasCell)
        {
            buffers.Add((cN, "c_n"));
            buffers.Add((dc0, "dc0"));
        }

        foreach ((float[] buffer, string name) in buffers)
        {
            TensorAssert.AllEqual(buffer.AsSpan(0, Guard), Sentinel, name + " leading guard");
            TensorAssert.AllEqual(buffer.AsSpan(buffer.Length - Guard), Sentinel, name + " trailing guard");
            for (int i = Guard; i < buffer.Length - Guard; i++)
            {
                Assert.False(float.IsNaN(buffer[i]), $"{name}[{i - Guard}] was not written ({c})");
            }
        }
    }

    private static void ForEachPadded(RnnTestCase c, Action<int, int> action) => ForEach(c, padded: true, action);

    private static void ForEachValid(RnnTestCase c, Action<int, int> action) => ForEach(c, padded: false, action);

    private static void ForEach(RnnTestCase c, bool padded, Action<int, int> action)
    {
        for (int t = 0; t < c.Shape.T; t++)
        {
            for (int b = 0; b < c.Shape.B; b++)
            {
                if ((t >= c.Lengths[b]) == padded)
                {
                    action(t, b);
                }
            }
        }
    }

    private static double Dot(double[]? weights, double[] values)
    {
        double sum = 0;
        for (int i = 0; weights is not null && i < values.Length; i++)
        {
            sum += weights[i] * values[i];
        }

        return sum;
    }
}
