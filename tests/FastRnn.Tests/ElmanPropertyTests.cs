// The properties of design section 4 for the Elman layer, over random shapes (sizes 1, 3, 15, 17, 33 ...,
// T = 1, B = 1, zero-length sequences inside a batch), every nonlinearity, both directions and every SIMD width.
using FastRnn.Layers;
using FastRnn.Testing;
using FsCheck.Xunit;
using static FastRnn.Tests.ElmanHarness;

namespace FastRnn.Tests;

public class ElmanPropertyTests
{
    private const int Cases = 100;

    [Property(MaxTest = Cases, Arbitrary = [typeof(RnnGenerators)])]
    public void Forward_and_every_gradient_match_the_reference(ElmanCase c)
    {
        ReferenceElmanForward forward = c.ReferenceForward();
        ReferenceElmanGradients gradients = ReferenceElman.Backward(forward, c.DOutputs, c.DhN);
        FastElmanResult fast = Run(c);
        AssertClose(fast.Output, forward.Outputs, "output");
        AssertClose(fast.HN, forward.HN, "h_n");
        AssertClose(fast.DX, gradients.DX, "dX");
        AssertClose(fast.DH0, gradients.DH0, "dh0");
        AssertClose(fast.DWeightIh, gradients.DWeightIh, "dW_ih");
        AssertClose(fast.DWeightHh, gradients.DWeightHh, "dW_hh");
        AssertClose(fast.DBiasIh, gradients.DBiasIh, "db_ih");
        AssertClose(fast.DBiasHh, gradients.DBiasHh, "db_hh");
    }

    [Property(MaxTest = Cases, Arbitrary = [typeof(RnnGenerators)])]
    public void Reference_gradients_match_centered_finite_differences(ElmanCase c)
    {
        // L = sum(dOutputs . outputs) + sum(dh_n . h_n), so dL/dtheta is exactly what Backward returns.
        ReferenceElmanGradients analytic = c.ReferenceBackward();
        ReferenceElmanParameters p = c.Parameters.Clone();
        double Loss()
        {
            ReferenceElmanForward f = ReferenceElman.Forward(p, c.Shape.T, c.Shape.B, c.X, c.H0, c.Lengths, c.Reverse);
            double loss = 0;
            for (int i = 0; i < f.Outputs.Length; i++)
            {
                loss += c.DOutputs[i] * f.Outputs[i];
            }

            for (int i = 0; c.DhN is not null && i < f.HN.Length; i++)
            {
                loss += c.DhN[i] * f.HN[i];
            }

            return loss;
        }

        foreach ((double[] values, double[] gradient, string name) in (ReadOnlySpan<(double[], double[], string)>)[
            (p.WeightIh, analytic.DWeightIh, "dW_ih"), (p.WeightHh, analytic.DWeightHh, "dW_hh"),
            (p.BiasIh, analytic.DBiasIh, "db_ih"), (p.BiasHh, analytic.DBiasHh, "db_hh")])
        {
            GradientCheckReport report = values.Length <= 64
                ? GradientCheck.AllCoordinates(_ => Loss(), values, gradient, eps: 1e-5, floor: 1e-4)
                : GradientCheck.AlongRandomDirections(_ => Loss(), values, gradient, directions: 8, new Random(c.Seed), eps: 1e-5, floor: 1e-4);
            Assert.True(report.MaxRelativeError < 1e-5, $"{name}: {report}");
        }

        double[] x = (double[])c.X.Clone();
        double LossOfX(double[] input)
        {
            ReferenceElmanForward f = ReferenceElman.Forward(c.Parameters, c.Shape.T, c.Shape.B, input, c.H0, c.Lengths, c.Reverse);
            double loss = 0;
            for (int i = 0; i < f.Outputs.Length; i++)
            {
                loss += c.DOutputs[i] * f.Outputs[i];
            }

            for (int i = 0; c.DhN is not null && i < f.HN.Length; i++)
            {
                loss += c.DhN[i] * f.HN[i];
            }

            return loss;
        }

        GradientCheckReport dx = GradientCheck.AlongRandomDirections(LossOfX, x, analytic.DX, directions: 8, new Random(c.Seed + 1), eps: 1e-5, floor: 1e-4);
        Assert.True(dx.MaxRelativeError < 1e-5, $"dX: {dx}");
    }

    [Property(MaxTest = Cases, Arbitrary = [typeof(RnnGenerators)])]
    public void Stepping_with_carried_state_equals_the_whole_sequence_call(ElmanCase c)
    {
        if (c.Reverse)
        {
            return; // A reverse pass starts at each sequence's end; stepping from t = 0 does not apply.
        }

        (int T, int B, int I, int H) = c.Shape;
        FastElmanResult whole = Run(c);

        ElmanLayer layer = CreateLayer(c);
        var workspaces = new RecurrentWorkspace[T];
        float[] x = ToFloat(c.X), dOutputs = ToFloat(c.DOutputs);
        float[] state = c.H0 is null ? new float[B * H] : ToFloat(c.H0);
        float[] output = new float[T * B * H], dX = new float[T * B * I];
        int[][] stepLengths = new int[T][];
        using (new WidthLimit(WidthFor(c)))
        {
            for (int t = 0; t < T; t++)
            {
                workspaces[t] = layer.CreateWorkspace(1, B);
                stepLengths[t] = Array.ConvertAll(c.Lengths, length => t < length ? 1 : 0);
                float[] next = new float[B * H];
                layer.Forward(x.AsSpan(t * B * I, B * I), 1, B, output.AsSpan(t * B * H, B * H), workspaces[t], state, stepLengths[t], next);
                state = next;
            }

            // Backward in reverse order; each step's dh0 is the previous step's dh_n.
            float[] carried = c.DhN is null ? new float[B * H] : ToFloat(c.DhN);
            for (int t = T - 1; t >= 0; t--)
            {
                float[] dh0 = new float[B * H];
                layer.Backward(dOutputs.AsSpan(t * B * H, B * H), workspaces[t], dX.AsSpan(t * B * I, B * I), dh0, carried);
                carried = dh0;
            }

            var stepped = new FastElmanResult(output, state, dX, carried, layer.WeightIh.Gradient.ToArray(), layer.WeightHh.Gradient.ToArray(), layer.BiasIh.Gradient.ToArray(), layer.BiasHh.Gradient.ToArray());
            AssertSame(stepped, whole, relative: 1e-4, absolute: 1e-5);
        }
    }

    [Property(MaxTest = Cases, Arbitrary = [typeof(RnnGenerators)])]
    public void Padding_is_never_read_even_when_it_is_NaN(ElmanCase c)
    {
        double[] dOutputsNaN = (double[])c.DOutputs.Clone();
        double[] xZero = (double[])c.X.Clone();
        for (int t = 0; t < c.Shape.T; t++)
        {
            for (int b = 0; b < c.Shape.B; b++)
            {
                if (t >= c.Lengths[b])
                {
                    Array.Fill(dOutputsNaN, double.NaN, ((t * c.Shape.B) + b) * c.Shape.H, c.Shape.H);
                    Array.Fill(xZero, 0.0, ((t * c.Shape.B) + b) * c.Shape.I, c.Shape.I);
                }
            }
        }

        FastElmanResult withNaN = Run(c, x: c.XWithNaNPadding(), dOutputs: dOutputsNaN);
        FastElmanResult withZeros = Run(c, x: xZero);
        foreach ((float[] a, float[] b, string name) in (ReadOnlySpan<(float[], float[], string)>)[
            (withNaN.Output, withZeros.Output, "output"), (withNaN.HN, withZeros.HN, "h_n"), (withNaN.DX, withZeros.DX, "dX"), (withNaN.DH0, withZeros.DH0, "dh0"),
            (withNaN.DWeightIh, withZeros.DWeightIh, "dW_ih"), (withNaN.DWeightHh, withZeros.DWeightHh, "dW_hh"), (withNaN.DBiasIh, withZeros.DBiasIh, "db_ih")])
        {
            AssertBitwiseEqual(a, b, name);
        }

        // Padded outputs and padded input gradients are exactly zero.
        for (int t = 0; t < c.Shape.T; t++)
        {
            for (int b = 0; b < c.Shape.B; b++)
            {
                if (t >= c.Lengths[b])
                {
                    TensorAssert.AllEqual(withNaN.Output.AsSpan(((t * c.Shape.B) + b) * c.Shape.H, c.Shape.H), 0f, $"output[{t},{b}]");
                    TensorAssert.AllEqual(withNaN.DX.AsSpan(((t * c.Shape.B) + b) * c.Shape.I, c.Shape.I), 0f, $"dX[{t},{b}]");
                }
            }
        }
    }

    [Property(MaxTest = Cases, Arbitrary = [typeof(RnnGenerators)])]
    public void Reverse_direction_equals_forward_on_each_sequence_reversed_within_its_length(ElmanCase c)
    {
        (int T, int B, int I, int H) = c.Shape;
        double[] Flip(double[] values, int width)
        {
            double[] flipped = (double[])values.Clone();
            for (int b = 0; b < B; b++)
            {
                for (int t = 0; t < c.Lengths[b]; t++)
                {
                    Array.Copy(values, ((t * B) + b) * width, flipped, (((c.Lengths[b] - 1 - t) * B) + b) * width, width);
                }
            }

            return flipped;
        }

        ElmanCase reversed = c with { Reverse = true };
        ElmanCase forwardOnFlipped = c with { Reverse = false, X = Flip(c.X, I), DOutputs = Flip(c.DOutputs, H) };
        FastElmanResult r = Run(reversed);
        FastElmanResult f = Run(forwardOnFlipped);
        AssertBitwiseEqual(r.Output, ToFloat(Flip(Array.ConvertAll(f.Output, v => (double)v), H)), "output");
        AssertBitwiseEqual(r.DX, ToFloat(Flip(Array.ConvertAll(f.DX, v => (double)v), I)), "dX");
        AssertBitwiseEqual(r.HN, f.HN, "h_n");
        AssertBitwiseEqual(r.DH0, f.DH0, "dh0");
        AssertBitwiseEqual(r.DWeightIh, f.DWeightIh, "dW_ih");
        AssertBitwiseEqual(r.DWeightHh, f.DWeightHh, "dW_hh");
        AssertBitwiseEqual(r.DBiasHh, f.DBiasHh, "db_hh");
    }

    [Property(MaxTest = Cases, Arbitrary = [typeof(RnnGenerators)])]
    public void Truncation_window_of_at_least_T_equals_full_BPTT(ElmanCase c)
    {
        if (c.Reverse)
        {
            return;
        }

        FastElmanResult full = Run(c);
        FastElmanResult truncated = Run(c, truncationWindow: c.Shape.T + (c.Seed % 3));
        AssertSame(truncated, full, relative: 0, absolute: 0);
    }

    [Property(MaxTest = Cases, Arbitrary = [typeof(RnnGenerators)])]
    public void Truncation_window_k_equals_chunked_calls_with_carried_state(ElmanCase c)
    {
        if (c.Reverse)
        {
            return;
        }

        (int T, int B, int I, int H) = c.Shape;
        int k = 1 + (c.Seed % Math.Max(1, T));
        FastElmanResult whole = Run(c, truncationWindow: k);

        // Also against the reference's truncated gradients.
        ReferenceElmanGradients reference = c.ReferenceBackward(k);
        AssertClose(whole.DWeightHh, reference.DWeightHh, "dW_hh (reference, truncated)");
        AssertClose(whole.DH0, reference.DH0, "dh0 (reference, truncated)");
        AssertClose(whole.DX, reference.DX, "dX (reference, truncated)");

        ElmanLayer layer = CreateLayer(c);
        float[] x = ToFloat(c.X), dOutputs = ToFloat(c.DOutputs), dhN = c.DhN is null ? new float[B * H] : ToFloat(c.DhN);
        float[] state = c.H0 is null ? new float[B * H] : ToFloat(c.H0);
        float[] output = new float[T * B * H], dX = new float[T * B * I], dh0First = new float[B * H];
        using (new WidthLimit(WidthFor(c)))
        {
            for (int start = 0; start < T; start += k)
            {
                int steps = Math.Min(k, T - start);
                int[] lengths = Array.ConvertAll(c.Lengths, length => Math.Clamp(length - start, 0, steps));
                RecurrentWorkspace workspace = layer.CreateWorkspace(steps, B);
                float[] next = new float[B * H];
                layer.Forward(x.AsSpan(start * B * I, steps * B * I), steps, B, output.AsSpan(start * B * H, steps * B * H), workspace, state, lengths, next);

                // dh_n enters in the chunk that holds each sequence's last step (chunk 0 for a zero-length sequence);
                // every other sequence's state is detached at the chunk's end.
                float[] chunkDhN = new float[B * H];
                for (int b = 0; b < B; b++)
                {
                    int length = c.Lengths[b];
                    bool endsHere = (length > start && length <= start + steps) || (length == 0 && start == 0);
                    if (endsHere)
                    {
                        dhN.AsSpan(b * H, H).CopyTo(chunkDhN.AsSpan(b * H, H));
                    }
                }

                float[] dh0 = new float[B * H];
                layer.Backward(dOutputs.AsSpan(start * B * H, steps * B * H), workspace, dX.AsSpan(start * B * I, steps * B * I), dh0, chunkDhN);
                if (start == 0)
                {
                    dh0First = dh0;
                }

                state = next;
            }
        }

        var chunked = new FastElmanResult(output, state, dX, dh0First, layer.WeightIh.Gradient.ToArray(), layer.WeightHh.Gradient.ToArray(), layer.BiasIh.Gradient.ToArray(), layer.BiasHh.Gradient.ToArray());
        AssertSame(chunked, whole, relative: 1e-4, absolute: 1e-5);
    }

    [Property(MaxTest = Cases, Arbitrary = [typeof(RnnGenerators)])]
    public void Outputs_prefilled_with_NaN_are_fully_written_and_guards_untouched(ElmanCase c)
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

        ElmanLayer layer = CreateLayer(c);
        RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
        float[] output = Guarded(T * B * H), hN = Guarded(B * H), dX = Guarded(T * B * I), dh0 = Guarded(B * H);
        using (new WidthLimit(WidthFor(c)))
        {
            layer.Forward(ToFloat(c.X), T, B, output.AsSpan(Guard, T * B * H), workspace, ToFloatOrNull(c.H0), c.Lengths, hN.AsSpan(Guard, B * H));
            layer.Backward(ToFloat(c.DOutputs), workspace, dX.AsSpan(Guard, T * B * I), dh0.AsSpan(Guard, B * H), ToFloatOrNull(c.DhN));
        }

        foreach ((float[] buffer, string name) in (ReadOnlySpan<(float[], string)>)[(output, "output"), (hN, "h_n"), (dX, "dX"), (dh0, "dh0")])
        {
            TensorAssert.AllEqual(buffer.AsSpan(0, Guard), Sentinel, name + " leading guard");
            TensorAssert.AllEqual(buffer.AsSpan(buffer.Length - Guard), Sentinel, name + " trailing guard");
            for (int i = Guard; i < buffer.Length - Guard; i++)
            {
                Assert.False(float.IsNaN(buffer[i]), $"{name}[{i - Guard}] was not written ({c})");
            }
        }
    }
}
