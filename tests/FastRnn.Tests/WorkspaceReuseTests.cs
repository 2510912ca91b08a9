// A workspace keeps the previous call's activations, gate gradients and packed weights. Nothing of that may leak into
// the next call: a pass on a used workspace must give, bit for bit, what it gives on a fresh one. The batches cover
// both the all-rows input products (B < 16) and the per-step ones (B >= 16), whose buffers are overwritten step by step.
using FastRnn.Layers;
using FastRnn.Testing;
using static FastRnn.Tests.RnnHarness;

namespace FastRnn.Tests;

public class WorkspaceReuseTests
{
    [Theory]
    [InlineData(0, 3)]
    [InlineData(0, 16)]
    [InlineData(1, 5)]
    [InlineData(1, 20)]
    [InlineData(2, 2)]
    [InlineData(2, 17)]
    public void A_used_workspace_gives_the_results_of_a_fresh_one(int cell, int B)
    {
        const int T = 6, I = 9, H = 40;
        RnnTestCase c = Case(cell, T, B, I, H, seed: 1, fullLengths: false);

        // The earlier call: other inputs (scaled up, so every buffer holds large values) and every sequence full length.
        RnnTestCase earlier = Case(cell, T, B, I, H, seed: 2, fullLengths: true);
        FastResult fresh = Run(c);

        RecurrentLayer layer = c.CreateLayer();
        RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
        float[] output = new float[T * B * H], hN = new float[B * H], cN = new float[B * H], dX = new float[T * B * I], dh0 = new float[B * H], dc0 = new float[B * H];
        using (new WidthLimit(WidthFor(c)))
        {
            float[] earlierX = ToFloat(earlier.X), earlierDOutputs = ToFloat(earlier.DOutputs);
            for (int i = 0; i < earlierX.Length; i++)
            {
                earlierX[i] *= 50f;
            }

            Forward(layer, workspace, earlierX, T, B, output, ToFloatOrEmpty(earlier.H0), ToFloatOrEmpty(earlier.C0), earlier.Lengths, hN, cN);
            Backward(layer, workspace, earlierDOutputs, dX, dh0, dc0, ToFloatOrEmpty(earlier.DhN), ToFloatOrEmpty(earlier.DcN));
            layer.WeightIh.Gradient.Clear();
            layer.WeightHh.Gradient.Clear();
            layer.BiasIh.Gradient.Clear();
            layer.BiasHh.Gradient.Clear();

            Forward(layer, workspace, ToFloat(c.X), T, B, output, ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), c.Lengths, hN, cN);
            Backward(layer, workspace, ToFloat(c.DOutputs), dX, dh0, dc0, ToFloatOrEmpty(c.DhN), ToFloatOrEmpty(c.DcN));
        }

        AssertBitwiseEqual(Collect(layer, output, hN, cN, dX, dh0, dc0, c.HasCell), fresh);
    }

    private static RnnTestCase Case(int cell, int T, int B, int I, int H, int seed, bool fullLengths)
    {
        var random = new Random(seed);
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            lengths[b] = fullLengths ? T : (b % 4 == 1 ? 0 : random.Next(1, T + 1));
        }

        // Each case draws its own weights; only the first case's layer is ever created.
        return cell switch
        {
            0 => RnnTestCase.From(RnnGenerators.CreateLstmCase(new RnnShape(T, B, I, H), lengths, false, true, true, true, true, 1.0, 7 + (seed * 1000))),
            1 => RnnTestCase.From(RnnGenerators.CreateGruCase(new RnnShape(T, B, I, H), lengths, true, true, true, 1.0, 7 + (seed * 1000))),
            _ => RnnTestCase.From(RnnGenerators.CreateElmanCase(new RnnShape(T, B, I, H), Nonlinearity.Tanh, 0, lengths, false, true, true, 7 + (seed * 1000))),
        };
    }
}
