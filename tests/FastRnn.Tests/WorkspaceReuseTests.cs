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
    public void A_used_workspace_gives_the_results_of_a_fresh_one(int cell, int B) => AssertReuseGivesFreshBits(cell, B, earlierBatch: B);

    /// <summary>
    /// A smaller batch first (B = 8: all-rows input product, GRU's recurrent projection written for all three gates),
    /// then one of 20, whose fused step product leaves that projection's r and z blocks unwritten: stale values there
    /// must not be read.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void A_workspace_used_by_a_smaller_batch_gives_the_results_of_a_fresh_one(int cell) => AssertReuseGivesFreshBits(cell, 20, earlierBatch: 8);

    private static void AssertReuseGivesFreshBits(int cell, int B, int earlierBatch)
    {
        const int T = 6, I = 9, H = 40;
        RnnTestCase c = Case(cell, T, B, I, H, seed: 1, fullLengths: false);

        // The earlier call: other inputs (scaled up, so every buffer holds large values) and every sequence full length.
        RnnTestCase earlier = Case(cell, T, earlierBatch, I, H, seed: 2, fullLengths: true);
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

            int earlierStates = earlierBatch * H;
            Forward(layer, workspace, earlierX, T, earlierBatch, output.AsSpan(0, T * earlierStates), ToFloatOrEmpty(earlier.H0), ToFloatOrEmpty(earlier.C0), earlier.Lengths, hN.AsSpan(0, earlierStates), cN.AsSpan(0, earlierStates));
            Backward(layer, workspace, earlierDOutputs, dX.AsSpan(0, T * earlierBatch * I), dh0.AsSpan(0, earlierStates), dc0.AsSpan(0, earlierStates), ToFloatOrEmpty(earlier.DhN), ToFloatOrEmpty(earlier.DcN));
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

    /// <summary>
    /// From B = 16 the gate gradients (and GRU's hidden-side ones) take a ring of whole 256-row blocks plus one batch of
    /// tail rows instead of all T * B rows: for the LSTM at T = 200, B = 32, I = H = 64, the ring is 5 blocks (4 waiting
    /// to be added plus 3 steps' rows, rounded up), 1280 + 32 rows of [4H] instead of 6400; the GRU saves it twice.
    /// Below B = 16 every row is kept (dX is one product over all of them).
    /// </summary>
    [Theory]
    [InlineData(4, 1)]
    [InlineData(3, 2)]
    public void From_B_16_a_workspace_keeps_a_ring_of_gate_gradient_rows(int gateCount, int gateGradientBuffers)
    {
        const int T = 200, B = 32, I = 64, H = 64;
        var ring = new RecurrentWorkspace(T, B, I, H, gateCount);
        var whole = new RecurrentWorkspace(T, B, I, H, gateCount, holdAllGateGradients: true);
        Assert.Equal(1280, ring.GateGradientPeriod);
        Assert.Equal((long)gateGradientBuffers * ((T * B) - (1280 + B)) * gateCount * H * sizeof(float), whole.SizeInBytes - ring.SizeInBytes);

        var small = new RecurrentWorkspace(T, 15, I, H, gateCount);
        Assert.Equal(T * 15, small.GateGradientPeriod);
        Assert.Equal(new RecurrentWorkspace(T, 15, I, H, gateCount, holdAllGateGradients: true).SizeInBytes, small.SizeInBytes);
    }
}
