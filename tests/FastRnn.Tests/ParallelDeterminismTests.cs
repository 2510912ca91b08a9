// Legend: T time steps, B batch, I input size, H hidden size.
// The multi-core contract: outputs and every gradient are bitwise identical on 1, 2, 3 and 4 workers, and from run to
// run. Random shapes (H not a multiple of 16 or 32, B = 1, zero lengths, both directions, TBPTT, LSTM c states, every
// SIMD width), with the test hook that gives every 16 hidden units a worker so that small shapes split too.
using FastRnn.Cells;
using FastRnn.Kernels;
using FastRnn.Layers;
using FastRnn.Testing;
using FastRnn.Threading;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static FastRnn.Tests.RnnHarness;

namespace FastRnn.Tests;

/// <summary>Pools of 2, 3 and 4 workers shared by a test class, disposed after it.</summary>
public sealed class PoolFixture : IDisposable
{
    private readonly WorkerPool[] _pools = [new(2), new(3), new(4)];

    /// <summary>The pool with <paramref name="threads"/> workers (2..4).</summary>
    internal WorkerPool Get(int threads) => _pools[threads - 2];

    public void Dispose()
    {
        foreach (WorkerPool pool in _pools)
        {
            pool.Dispose();
        }
    }
}

/// <summary>Cases with hidden sizes up to 80 (so up to five 16-unit slices) and short sequences.</summary>
public static class ParallelGenerators
{
    public static Arbitrary<ElmanCase> ElmanCaseArbitrary() => Arb.From(RnnGenerators.ElmanCases(maxT: 9, maxB: 5, maxSize: 80));

    public static Arbitrary<LstmCase> LstmCaseArbitrary() => Arb.From(RnnGenerators.LstmCases(maxT: 9, maxB: 5, maxSize: 80));

    public static Arbitrary<GruCase> GruCaseArbitrary() => Arb.From(RnnGenerators.GruCases(maxT: 9, maxB: 5, maxSize: 80));
}

public class ParallelDeterminismTests(PoolFixture pools) : IClassFixture<PoolFixture>
{
    [Property(MaxTest = 60, Arbitrary = [typeof(ParallelGenerators)])]
    public void Elman_results_are_bitwise_identical_on_1_to_4_workers(ElmanCase c) => AssertSameOnEveryWorkerCount(RnnTestCase.From(c));

    [Property(MaxTest = 60, Arbitrary = [typeof(ParallelGenerators)])]
    public void Lstm_results_are_bitwise_identical_on_1_to_4_workers(LstmCase c) => AssertSameOnEveryWorkerCount(RnnTestCase.From(c));

    [Property(MaxTest = 60, Arbitrary = [typeof(ParallelGenerators)])]
    public void Gru_results_are_bitwise_identical_on_1_to_4_workers(GruCase c) => AssertSameOnEveryWorkerCount(RnnTestCase.From(c));

    /// <summary>
    /// From B = 16 the passes project inputs (forward) and dX (backward) step by step, inside the time loop, in the time
    /// between a worker's arrival at a step's barrier and its wait on it. Random cells, shapes with B in 16..24, lengths
    /// with zeros, both directions and TBPTT windows, against one thread.
    /// </summary>
    [Property(MaxTest = 30)]
    public void Results_on_the_per_step_path_are_bitwise_identical_on_1_to_4_workers(int seed)
    {
        var rng = new Random(seed);
        int T = rng.Next(1, 8), B = rng.Next(SequenceDriver.PerStepProjectionMinBatch, 25), I = rng.Next(1, 41), H = rng.Next(1, 81);
        int[] lengths = Enumerable.Range(0, B).Select(_ => rng.Next(4) switch { 0 => 0, 1 => rng.Next(1, T + 1), _ => T }).ToArray();
        AssertSameOnEveryWorkerCount(CaseFor(rng.Next(3), new RnnShape(T, B, I, H), lengths, rng.Next(2) == 1, seed));
    }

    /// <summary>
    /// The forward split by sequences (each worker runs its own sorted sequences through every step, with no barrier):
    /// random cells and shapes, B in 1..24 with zero and ragged lengths (so shares of 1 to 24 rows, edge tiles of any
    /// height), both directions, the cached step block on, off or by rule, on 2..4 workers against one thread.
    /// </summary>
    [Property(MaxTest = 40)]
    public void The_forward_split_by_sequences_is_bitwise_identical_on_1_to_4_workers(int seed)
    {
        var rng = new Random(seed);
        int T = rng.Next(1, 8), B = rng.Next(1, 25), I = rng.Next(1, 41), H = rng.Next(1, 81);
        int[] lengths = Enumerable.Range(0, B).Select(_ => rng.Next(4) switch { 0 => 0, 1 => rng.Next(1, T + 1), _ => T }).ToArray();
        RnnTestCase c = CaseFor(rng.Next(3), new RnnShape(T, B, I, H), lengths, rng.Next(2) == 1, seed);
        bool? stepGates = rng.Next(3) switch { 0 => null, 1 => true, _ => false };
        FastResult single = RunOn(c, null, useAllWorkers: false, truncationWindow: 0, out _, useStepGates: stepGates);
        for (int threads = 2; threads <= 4; threads++)
        {
            int expected = B < 2 ? 1 : Math.Min(threads, B);
            FastResult parallel = RunOn(
                c, pools.Get(threads), useAllWorkers: false, truncationWindow: 0, out _, useStepGates: stepGates, splitBySequences: true,
                inspect: ws => Assert.Equal(expected, ParallelSequenceDriver.PlanRowWorkers(ws, ws.GateCount, B)));
            AssertBitwiseEqual(parallel, single);
        }
    }

    /// <summary>The default plan splits both passes by sequences from 8 per worker while W_ih and W_hh fit in 2 MiB, else not.</summary>
    [Theory]
    [InlineData(16, 64, 128, 1, 2)]
    [InlineData(16, 128, 128, 4, 2)]
    [InlineData(15, 64, 128, 1, 1)]
    [InlineData(64, 256, 512, 1, 2)]
    [InlineData(64, 256, 512, 4, 1)]
    [InlineData(32, 128, 256, 4, 2)]
    [InlineData(32, 520, 512, 1, 1)]
    [InlineData(32, 128, 256, 1, 2)]
    [InlineData(32, 128, 256, 3, 2)]
    public void The_default_plan_splits_the_forward_by_sequences_for_small_weights(int B, int I, int H, int gates, int expected)
    {
        var workspace = new RecurrentWorkspace(4, B, I, H, gates) { Pool = pools.Get(2) };
        Assert.Equal(expected, ParallelSequenceDriver.PlanRowWorkers(workspace, gates, B));
    }

    /// <summary>Shapes the default plan itself splits (no test hook): H a multiple of 32 and not, B = 1, long enough T.</summary>
    [Theory]
    [InlineData(0, 12, 8, 24, 128, false)]
    [InlineData(1, 9, 6, 40, 100, true)]
    [InlineData(2, 7, 1, 33, 256, false)]
    [InlineData(1, 5, 16, 64, 96, false)]
    [InlineData(0, 6, 3, 17, 200, true)]
    public void Default_plan_splits_large_shapes_with_identical_results(int cell, int T, int B, int I, int H, bool reverse)
    {
        var random = new Random((cell * 1000) + H);
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            lengths[b] = b % 3 == 1 ? 0 : random.Next(1, T + 1);
        }

        lengths[0] = T;
        RnnTestCase c = CaseFor(cell, new RnnShape(T, B, I, H), lengths, reverse, seed: H);

        FastResult single = RunOn(c, null, useAllWorkers: false, truncationWindow: 0, out _);
        FastResult parallel = RunOn(c, pools.Get(2), useAllWorkers: false, truncationWindow: 0, out int workers);
        Assert.Equal(2, workers);
        AssertBitwiseEqual(parallel, single);
    }

    /// <summary>
    /// At B >= 16 the passes multiply by W_ih step by step: the forward's input projection and the backward's dX, on one
    /// thread over all columns and on each worker over its own columns (the gate columns of its units forward, a block of
    /// the I columns of dX backward). Both must match the double reference and each other bit for bit, with lengths that shrink the batch from step to step (including zero lengths), in both
    /// directions, and with I or G*H past one 256-long K block (I = 257, 300; LSTM H = 80, GRU H = 96). The last two
    /// shapes have weights past L2 on each of two workers, so every per-step product asks for its next panel ahead.
    /// </summary>
    [Theory]
    [InlineData(0, 9, 16, 256, 64, true)]
    [InlineData(0, 6, 17, 5, 80, false)]
    [InlineData(1, 8, 19, 33, 96, false)]
    [InlineData(1, 7, 16, 64, 64, true)]
    [InlineData(2, 10, 33, 64, 64, true)]
    [InlineData(2, 5, 20, 100, 48, false)]
    [InlineData(1, 4, 16, 257, 64, false)]
    [InlineData(0, 5, 18, 300, 64, true)]
    [InlineData(2, 6, 15, 40, 64, false)]
    [InlineData(0, 4, 16, 192, 384, false)]
    [InlineData(1, 3, 24, 256, 448, true)]
    public void The_per_step_input_projection_equals_the_hoisted_one(int cell, int T, int B, int I, int H, bool reverse)
    {
        if (H >= 384)
        {
            // Each of two workers packs its G * H / 2 columns of W_hh and W_ih forward, and its G * H / 2 rows of W_hh
            // and I / 2 columns of W_ih backward: G * (H / 2) * (I + H) floats either way.
            int gates = cell switch { 0 => 4, 1 => 3, _ => 1 };
            Assert.True(Gemm.StepWeightsStream((long)gates * (H / 2) * (I + H)), "each worker's weights stream");
        }

        var random = new Random((cell * 7919) + (B * 31) + I);
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            lengths[b] = b % 5 == 2 ? 0 : random.Next(1, T + 1);
        }

        lengths[1] = T;
        RnnTestCase c = CaseFor(cell, new RnnShape(T, B, I, H), lengths, reverse, seed: B + I);

        Assert.Equal(B >= SequenceDriver.PerStepProjectionMinBatch, SequenceDriver.ProjectsInputsPerStep(B));
        FastResult single = RunOn(c, null, useAllWorkers: false, truncationWindow: 0, out _);
        AssertMatchesReference(single, c.Reference());
        FastResult parallel = RunOn(c, pools.Get(2), useAllWorkers: true, truncationWindow: 0, out int workers);
        Assert.Equal(2, workers);
        AssertBitwiseEqual(parallel, single);
    }

    /// <summary>
    /// From 1.5 MiB of W_ih and W_hh (exactly: the (512, 64, 256, 512) Elman's and the (256, 32, 128, 256) LSTM's) a
    /// step's weights stream from L3: the forward multiplies x and h apart instead of in one pair product, each product
    /// asking for its next panels (and the LSTM's backward cell for the next row's lines). On one thread, split by
    /// sequences over two workers (each with all the weights, so each streams) and split by hidden units (whose per-gate
    /// products and projections are other code), both directions, it must match the double reference and be the same
    /// bit for bit.
    /// </summary>
    [Theory]
    [InlineData(2, 256, 512, false)]
    [InlineData(2, 256, 512, true)]
    [InlineData(0, 128, 256, false)]
    public void Weights_from_1_5_MiB_stream_with_the_step_products_apart(int cell, int I, int H, bool reverse)
    {
        var random = new Random(reverse ? 3 : 4 + cell);
        const int T = 3, B = 16;
        int gates = cell == 0 ? 4 : 1;
        var shapeOnly = new RecurrentWorkspace(T, B, I, H, gates);
        Assert.Equal(3L << 19, shapeOnly.WeightBytes(gates));
        Assert.True(Gemm.StepWeightsStream(shapeOnly.WeightBytes(gates) / sizeof(float)), "1.5 MiB of weights stream");
        Assert.False(cell == 0 ? SequenceDriver.FusesStepProducts<LstmCell>(shapeOnly, B) : SequenceDriver.FusesStepProducts<ElmanCell<TanhActivation>>(shapeOnly, B), "the step's products apart");

        int[] lengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            lengths[b] = random.Next(1, T + 1);
        }

        lengths[0] = T;
        RnnTestCase c = CaseFor(cell, new RnnShape(T, B, I, H), lengths, reverse, seed: 11 + cell);
        FastResult single = RunOn(c, null, useAllWorkers: false, truncationWindow: 0, out _);
        AssertMatchesReference(single, c.Reference());
        FastResult bySequences = RunOn(c, pools.Get(2), useAllWorkers: false, truncationWindow: 0, out int workers, splitBySequences: true);
        Assert.Equal(2, workers);
        AssertBitwiseEqual(bySequences, single);
        FastResult byUnits = RunOn(c, pools.Get(2), useAllWorkers: true, truncationWindow: 0, out workers);
        Assert.Equal(2, workers);
        AssertBitwiseEqual(byUnits, single);
    }

    /// <summary>
    /// The weight gradients are added inside the backward loop in blocks of 256 packed rows, last block first
    /// (WeightGradientBlocks), completed blocks four at a time. With N past one block and past several groups (a group
    /// left over at step 0), blocks that start or end inside a step, a step wider than a block (B = 300), I or H past
    /// one 512-column GEMM panel block (with H = 520, groups whose packed slots pass L2, so their products ask for their
    /// next panels), ragged and zero lengths, both directions and TBPTT, they must match the double reference, be bit
    /// for bit the same on 1 to 4 workers, and the same as adding every block on its own.
    /// </summary>
    [Theory]
    [InlineData(0, 40, 13, 24, 40, false, 0)]
    [InlineData(0, 29, 17, 36, 48, true, 0)]
    [InlineData(1, 30, 21, 17, 48, true, 0)]
    [InlineData(1, 45, 12, 20, 32, false, 4)]
    [InlineData(2, 70, 9, 520, 20, false, 0)]
    [InlineData(2, 6, 300, 8, 24, true, 0)]
    [InlineData(2, 60, 24, 16, 520, false, 3)]
    [InlineData(0, 64, 48, 12, 24, false, 0)]
    [InlineData(1, 50, 44, 10, 32, false, 5)]
    [InlineData(2, 41, 52, 9, 16, true, 0)]
    public void Weight_gradients_added_in_row_blocks_match_the_reference_on_1_to_4_workers(int cell, int T, int B, int I, int H, bool reverse, int truncationWindow)
    {
        var random = new Random((cell * 131) + (T * 17) + B);
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            lengths[b] = b % 4 == 3 ? 0 : random.Next((T / 2) + 1, T + 1);
        }

        lengths[B / 2] = T;
        RnnTestCase c = CaseFor(cell, new RnnShape(T, B, I, H), lengths, reverse, seed: T + B);

        Assert.True(lengths.Sum() > WeightGradientBlocks.Rows, "more than one block of packed rows");
        if (H > Gemm.NC)
        {
            // Three blocks or more, whose first pass packs xPacked's chunk and hPrev's first NC columns: KC x (32 + 512)
            // floats a block, past L2, so the group's products ask for their next panels.
            Assert.True(lengths.Sum() > 2 * WeightGradientBlocks.Rows, "three blocks or more");
            Assert.True(Gemm.StepWeightsStream(3L * Gemm.KC * (Gemm.RoundUpToPanel(I) + Gemm.NC)), "a group of three blocks' slots stream");
        }

        FastResult single = RunOn(c, null, useAllWorkers: true, truncationWindow, out _);
        if (truncationWindow == 0)
        {
            AssertMatchesReference(single, c.Reference());
        }

        for (int threads = 2; threads <= 4; threads++)
        {
            FastResult parallel = RunOn(c, pools.Get(threads), useAllWorkers: true, truncationWindow, out int workers);
            Assert.Equal(Math.Min(threads, (H + UnitSlice.Alignment - 1) / UnitSlice.Alignment), workers);
            AssertBitwiseEqual(parallel, single);
        }

        AssertBitwiseEqual(RunOn(c, null, useAllWorkers: true, truncationWindow, out _, groupBlocks: 1), single);
        AssertBitwiseEqual(RunOn(c, pools.Get(2), useAllWorkers: true, truncationWindow, out _, groupBlocks: 3), single);

        // Split by sequences: the workers meet at every group of blocks (of 1, 3 or 4) to add it and the bias sums.
        for (int threads = 2; threads <= 4; threads++)
        {
            AssertBitwiseEqual(RunOn(c, pools.Get(threads), useAllWorkers: false, truncationWindow, out _, groupBlocks: threads == 3 ? null : threads - 1, splitBySequences: true), single);
        }
    }

    /// <summary>
    /// From B = 16 a workspace keeps the backward's gate gradients in a ring of RecurrentWorkspace.GateGradientPeriod
    /// rows (whole 256-row weight-gradient blocks) plus a tail for the step that wraps, instead of all N rows. With N
    /// past the period and steps that wrap it (B = 17, 20, 33 and a step wider than a block, B = 300), ragged and zero
    /// lengths, both directions, TBPTT, and a batch of 15 on a workspace made for 20 (dX then goes step by step, since
    /// the rows are not all kept), the results must match the double reference and be bit for bit those of a workspace
    /// that keeps every row, on 1 to 4 workers.
    /// </summary>
    [Theory]
    [InlineData(0, 120, 17, 10, 24, false, 0, 17)]
    [InlineData(1, 123, 20, 9, 20, true, 0, 20)]
    [InlineData(2, 100, 33, 7, 48, false, 5, 33)]
    [InlineData(2, 12, 300, 6, 40, true, 0, 300)]
    [InlineData(1, 150, 15, 8, 24, false, 0, 20)]
    [InlineData(0, 140, 15, 5, 32, false, 3, 16)]
    public void The_gate_gradient_ring_gives_the_bits_of_keeping_every_row(int cell, int T, int B, int I, int H, bool reverse, int truncationWindow, int workspaceBatch)
    {
        var random = new Random((cell * 389) + (T * 7) + B);
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            lengths[b] = b % 7 == 3 ? 0 : random.Next(((3 * T) / 4) + 1, T + 1);
        }

        lengths[B / 3] = T;
        RnnTestCase c = CaseFor(cell, new RnnShape(T, B, I, H), lengths, reverse, seed: T + I);

        bool wraps = false;
        void CheckRing(RecurrentWorkspace ws)
        {
            Assert.False(ws.HoldsAllGateGradients);
            for (int s = 0; s < ws.Steps; s++)
            {
                wraps |= ws.GateGradientRow(ws.RowStart[s]) + ws.BatchAt[s] > ws.GateGradientPeriod;
            }
        }

        FastResult whole = RunOn(c, null, useAllWorkers: true, truncationWindow, out _, workspaceBatch: workspaceBatch, holdAllGateGradients: true);
        FastResult ring = RunOn(c, null, useAllWorkers: true, truncationWindow, out _, workspaceBatch: workspaceBatch, inspect: CheckRing);
        Assert.True(wraps, "a step's rows wrap around the ring");
        if (truncationWindow == 0)
        {
            AssertMatchesReference(ring, c.Reference());
        }

        AssertBitwiseEqual(ring, whole);
        for (int threads = 2; threads <= 4; threads++)
        {
            AssertBitwiseEqual(RunOn(c, pools.Get(threads), useAllWorkers: true, truncationWindow, out int workers, workspaceBatch: workspaceBatch, inspect: CheckRing), whole);
            Assert.True(workers > 1);

            // Split by sequences: each worker wraps its own rows of a step, and the bias sums read the ring at the groups.
            AssertBitwiseEqual(RunOn(c, pools.Get(threads), useAllWorkers: false, truncationWindow, out _, workspaceBatch: workspaceBatch, inspect: CheckRing, splitBySequences: true), whole);
        }
    }

    /// <summary>
    /// From 8 MiB of saved gate rows on, the forward's step GEMMs write into a cached [B, G*H] block that is then copied
    /// to the saved rows (SequenceDriver.UsesStepGates; one thread only). Forced on for small shapes: the double
    /// reference, and the same bits as without it and as the parallel forward on 2-4 workers.
    /// </summary>
    [Theory]
    [InlineData(0, 9, 16, 24, 48, false)]
    [InlineData(0, 7, 19, 40, 64, true)]
    [InlineData(1, 8, 17, 33, 48, false)]
    [InlineData(1, 6, 33, 20, 80, true)]
    public void The_cached_step_block_gives_the_same_bits(int cell, int T, int B, int I, int H, bool reverse)
    {
        var random = new Random((cell * 977) + (B * 13) + H);
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            lengths[b] = b % 5 == 4 ? 0 : random.Next(1, T + 1);
        }

        lengths[0] = T;
        RnnTestCase c = CaseFor(cell, new RnnShape(T, B, I, H), lengths, reverse, seed: B + H);

        FastResult plain = RunOn(c, null, useAllWorkers: true, truncationWindow: 0, out _, useStepGates: false);
        FastResult cached = RunOn(c, null, useAllWorkers: true, truncationWindow: 0, out _, useStepGates: true);
        AssertMatchesReference(cached, c.Reference());
        AssertBitwiseEqual(cached, plain);
        for (int threads = 2; threads <= 4; threads++)
        {
            AssertBitwiseEqual(RunOn(c, pools.Get(threads), useAllWorkers: true, truncationWindow: 0, out int workers, useStepGates: true), plain);
            Assert.True(workers > 1);
        }
    }

    /// <summary>A 2-layer bidirectional stack with dropout, whose layers all split (H = 112, B = 6): with and without a pool.</summary>
    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Elman)]
    public void A_stack_on_a_pool_gives_identical_results(CellKind cell)
    {
        const int T = 7, B = 6, I = 20, H = 112, L = 2, D = 2;
        var random = new Random(11);
        float[] x = AllocationTests.RandomValues(random, T * B * I), dOutput = AllocationTests.RandomValues(random, T * B * D * H);
        int[] lengths = [7, 0, 3, 7, 1, 5];

        (float[] Output, float[] DX, float[] Dh0, float[] Gradients) Run(WorkerPool? pool)
        {
            var store = new ParameterStore();
            var stack = new RecurrentStack(store, cell, I, H, L, bidirectional: true, dropout: 0.3f, seed: 5);
            StackWorkspace workspace = stack.CreateWorkspace(T, B, pool);
            foreach (RecurrentWorkspace layer in workspace.Layers)
            {
                Assert.Equal(pool is null ? 1 : 2, ParallelSequenceDriver.PlanWorkers(layer, layer.GateCount, B));
            }

            float[] output = new float[T * B * D * H], dX = new float[T * B * I], dh0 = new float[L * D * B * H];
            stack.Forward(x, T, B, output, workspace, lengths, training: true);
            stack.Backward(dOutput, workspace, dX, dh0);
            return (output, dX, dh0, store.Gradients.ToArray());
        }

        var single = Run(null);
        var parallel = Run(pools.Get(2));
        AssertBitwiseEqual(parallel.Output, single.Output, "output");
        AssertBitwiseEqual(parallel.DX, single.DX, "dX");
        AssertBitwiseEqual(parallel.Dh0, single.Dh0, "dh0");
        AssertBitwiseEqual(parallel.Gradients, single.Gradients, "parameter gradients");
    }

    /// <summary>Recording gradient norms keeps the backward pass on the calling thread: same norms, same gradients.</summary>
    [Fact]
    public void Gradient_norm_recording_with_a_pool_gives_identical_norms_and_gradients()
    {
        RnnTestCase c = RnnTestCase.From(RnnGenerators.CreateLstmCase(new RnnShape(8, 4, 12, 48), [8, 3, 0, 8], false, true, true, true, true, 1.0, 7));
        (float[] Norms, float[] CellNorms, FastResult Result) Run(WorkerPool? pool)
        {
            (int T, int B, int I, int H) = c.Shape;
            RecurrentLayer layer = c.CreateLayer();
            RecurrentWorkspace workspace = layer.CreateWorkspace(T, B, pool);
            workspace.UseAllWorkers = true;
            workspace.RecordGradientNorms = true;
            float[] output = new float[T * B * H], hN = new float[B * H], cN = new float[B * H], dX = new float[T * B * I], dh0 = new float[B * H], dc0 = new float[B * H];
            Forward(layer, workspace, ToFloat(c.X), T, B, output, ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), c.Lengths, hN, cN);
            Backward(layer, workspace, ToFloat(c.DOutputs), dX, dh0, dc0, ToFloatOrEmpty(c.DhN), ToFloatOrEmpty(c.DcN));
            return (workspace.HiddenGradientNorms.ToArray(), workspace.CellGradientNorms.ToArray(), Collect(layer, output, hN, cN, dX, dh0, dc0, c.HasCell));
        }

        var single = Run(null);
        var parallel = Run(pools.Get(3));
        Assert.Equal(8, parallel.Norms.Length);
        AssertBitwiseEqual(parallel.Norms, single.Norms, "||dL/dh_t||");
        AssertBitwiseEqual(parallel.CellNorms, single.CellNorms, "||dL/dc_t||");
        AssertBitwiseEqual(parallel.Result, single.Result);
    }

    private void AssertSameOnEveryWorkerCount(RnnTestCase c)
    {
        // TBPTT (forward direction only): full BPTT, or a window of 1..3 steps, chosen by the case's seed.
        int window = c.Reverse ? 0 : (c.Seed >> 2) & 3;
        FastResult single = RunOn(c, null, useAllWorkers: true, window, out _);
        for (int threads = 2; threads <= 4; threads++)
        {
            FastResult parallel = RunOn(c, pools.Get(threads), useAllWorkers: true, window, out int workers);
            Assert.Equal(Math.Min(threads, (c.Shape.H + UnitSlice.Alignment - 1) / UnitSlice.Alignment), workers);
            AssertBitwiseEqual(parallel, single);
        }

        // Run to run: the same pool again.
        AssertBitwiseEqual(RunOn(c, pools.Get(3), useAllWorkers: true, window, out _), single);
    }

    /// <summary>
    /// The output may overlap the input (I = H, one array): the output is x itself (shift 0) or starts one step after it
    /// (shift 1: each step's h_t lands on x_{t+1}, which the next forward step still has to read). The forward writes
    /// each step's states to the output while they are in cache only when the two do not overlap. On one thread and on
    /// two workers, for the all-rows and the per-step input products, both directions, ragged lengths.
    /// </summary>
    [Theory]
    [InlineData(0, 3, false, 1, 1)]
    [InlineData(0, 18, true, 2, 0)]
    [InlineData(0, 17, false, 2, 1)]
    [InlineData(1, 16, false, 1, 1)]
    [InlineData(1, 5, true, 2, 1)]
    [InlineData(2, 20, true, 1, 0)]
    [InlineData(2, 20, false, 1, 1)]
    [InlineData(2, 2, false, 2, 0)]
    public void An_output_over_the_input_gives_the_results_of_separate_arrays(int cell, int B, bool reverse, int threads, int shift)
    {
        const int T = 7, H = 48;
        var random = new Random((cell * 131) + B);
        int[] lengths = Enumerable.Range(0, B).Select(b => b % 4 == 3 ? 0 : random.Next(1, T + 1)).ToArray();
        lengths[0] = T;
        RnnTestCase c = CaseFor(cell, new RnnShape(T, B, H, H), lengths, reverse, seed: B + cell);
        WorkerPool? pool = threads == 1 ? null : pools.Get(threads);

        FastResult separate = RunOn(c, pool, useAllWorkers: true, truncationWindow: 0, out _);
        FastResult inPlace = RunOn(c, pool, useAllWorkers: true, truncationWindow: 0, out int workers, outputOverInputSteps: shift);
        Assert.Equal(threads, workers);
        AssertMatchesReference(separate, c.Reference());
        AssertBitwiseEqual(inPlace, separate);
    }

    /// <summary>
    /// With RecurrentWorkspace.CopiesInputAndOutput off the passes read x where the caller keeps it and keep the states
    /// in the caller's output (equal lengths: step s's rows are one block of each, run backwards in reverse), and the
    /// backward is given both again; with ragged lengths they still copy both, and a reverse pass below B = 16 copies x. Random cells and shapes, B in 1..24 (the all-rows and
    /// the per-step input products, fused or not), I past one 256-long K block, both directions, TBPTT: the same bits as
    /// copying, on one thread, on 2-4 workers split by hidden units, and split by sequences. The workspace starts
    /// from a pass over other inputs, so a backward that read a stale copy of x would give other weight gradients.
    /// </summary>
    [Property(MaxTest = 40)]
    public void Reading_the_input_and_keeping_the_states_in_place_gives_the_bits_of_copying(int seed)
    {
        var rng = new Random(seed);
        int T = rng.Next(1, 9), B = rng.Next(1, 25), I = rng.Next(3) == 0 ? rng.Next(250, 300) : rng.Next(1, 41), H = rng.Next(1, 81);
        bool equalLengths = rng.Next(4) != 0;
        int common = rng.Next(4) == 0 ? rng.Next(0, T + 1) : T;
        int[] lengths = Enumerable.Range(0, B).Select(_ => equalLengths ? common : rng.Next(0, T + 1)).ToArray();
        bool reverse = rng.Next(2) == 1;
        RnnTestCase c = CaseFor(rng.Next(3), new RnnShape(T, B, I, H), lengths, reverse, seed);
        int window = reverse ? 0 : rng.Next(3);
        bool equal = lengths.Distinct().Count() <= 1;
        bool expectInPlace = equal && (!reverse || SequenceDriver.ProjectsInputsPerStep(B));

        // Equal lengths also put dX straight into its [T, B, I] block (RecurrentWorkspace.StepsAreBlocks), copy or not.
        FastResult copied = RunOn(c, null, useAllWorkers: false, window, out _);
        if (window == 0)
        {
            AssertMatchesReference(copied, c.Reference());
        }

        void CheckMode(RecurrentWorkspace ws)
        {
            Assert.True(ws.BorrowsInput && ws.BorrowsOutput);
            Assert.Equal(expectInPlace, ws.ReadsInputInPlace);
            Assert.Equal(equal, ws.StatesInOutput);
        }

        AssertBitwiseEqual(RunOn(c, null, useAllWorkers: false, window, out _, borrowInput: true, inspect: CheckMode, staleWorkspace: true), copied);
        for (int threads = 2; threads <= 4; threads++)
        {
            AssertBitwiseEqual(RunOn(c, pools.Get(threads), useAllWorkers: true, window, out _, borrowInput: true, inspect: CheckMode, staleWorkspace: true), copied);
            AssertBitwiseEqual(RunOn(c, pools.Get(threads), useAllWorkers: false, window, out _, splitBySequences: true, borrowInput: true, inspect: CheckMode, staleWorkspace: true), copied);
        }
    }

    /// <summary>
    /// The same past one 256-row weight-gradient block and the gate-gradient ring (N = 800 and 1040), where a block's
    /// rows start inside a step: reading x and the states in place must give the bits of copying them.
    /// </summary>
    [Theory]
    [InlineData(0, 40, 20, 24, 40, false, 0)]
    [InlineData(1, 52, 20, 17, 48, true, 0)]
    [InlineData(2, 40, 26, 9, 32, false, 5)]
    public void Reading_in_place_past_a_weight_gradient_block_gives_the_bits_of_copying(int cell, int T, int B, int I, int H, bool reverse, int truncationWindow)
    {
        RnnTestCase c = CaseFor(cell, new RnnShape(T, B, I, H), Enumerable.Repeat(T, B).ToArray(), reverse, seed: T + B);
        FastResult copied = RunOn(c, null, useAllWorkers: false, truncationWindow, out _);
        AssertBitwiseEqual(RunOn(c, null, useAllWorkers: false, truncationWindow, out _, borrowInput: true, staleWorkspace: true, inspect: ws => Assert.True(ws.ReadsInputInPlace && ws.StatesInOutput)), copied);
        AssertBitwiseEqual(RunOn(c, pools.Get(2), useAllWorkers: true, truncationWindow, out _, borrowInput: true, staleWorkspace: true), copied);
        AssertBitwiseEqual(RunOn(c, pools.Get(3), useAllWorkers: false, truncationWindow, out _, splitBySequences: true, borrowInput: true, staleWorkspace: true, groupBlocks: 1), copied);
    }

    /// <summary>Cell 0 LSTM, 1 GRU, else tanh Elman, with initial states and every gradient input, seeded by <paramref name="seed"/>.</summary>
    private static RnnTestCase CaseFor(int cell, RnnShape shape, int[] lengths, bool reverse, int seed) => cell switch
    {
        0 => RnnTestCase.From(RnnGenerators.CreateLstmCase(shape, lengths, reverse, true, true, true, true, 1.0, seed)),
        1 => RnnTestCase.From(RnnGenerators.CreateGruCase(shape, lengths, reverse, true, true, 1.0, seed)),
        _ => RnnTestCase.From(RnnGenerators.CreateElmanCase(shape, Nonlinearity.Tanh, 0, lengths, reverse, true, true, seed)),
    };

    /// <summary>Forward then backward on a fresh layer whose workspace uses <paramref name="pool"/>; reports how many workers the plan chose.</summary>
    private static FastResult RunOn(
        RnnTestCase c, WorkerPool? pool, bool useAllWorkers, int truncationWindow, out int workers, bool? useStepGates = null, int? groupBlocks = null,
        int? workspaceBatch = null, bool holdAllGateGradients = false, Action<RecurrentWorkspace>? inspect = null, int? outputOverInputSteps = null,
        bool? splitBySequences = null, bool borrowInput = false, bool staleWorkspace = false)
    {
        (int T, int B, int I, int H) = c.Shape;
        RecurrentLayer layer = c.CreateLayer();
        var workspace = new RecurrentWorkspace(T, workspaceBatch ?? B, I, H, layer.GateCount, holdAllGateGradients) { Pool = pool, CopiesInputAndOutput = !borrowInput };
        workspace.UseAllWorkers = useAllWorkers;
        workspace.UseStepGates = useStepGates;
        workspace.SplitBySequences = splitBySequences;
        workspace.WeightGradientGroupBlocks = groupBlocks;
        workers = ParallelSequenceDriver.PlanWorkers(workspace, layer.GateCount, B);

        // Outputs start as NaN: every element must be written, by exactly one worker.
        // With outputOverInputSteps = k (I = H) x and the output share one array, the output starting k steps after x.
        int shift = outputOverInputSteps ?? 0;
        float[] shared = new float[(T + shift) * B * I];
        ToFloat(c.X).CopyTo(shared, 0);
        Memory<float> x = shared.AsMemory(0, T * B * I);
        Memory<float> output = outputOverInputSteps is null ? NaNs(T * B * H) : shared.AsMemory(shift * B * I, T * B * H);
        float[] hN = NaNs(B * H), cN = NaNs(B * H), dX = NaNs(T * B * I), dh0 = NaNs(B * H), dc0 = NaNs(B * H);
        using (new WidthLimit(WidthFor(c)))
        {
            if (staleWorkspace)
            {
                // A copying pass over other inputs first: its copy of x stays in the workspace.
                workspace.CopiesInputAndOutput = true;
                float[] otherX = ToFloat(c.X).Select(v => (50f * v) + 1f).ToArray(), otherOutput = new float[T * B * H];
                Forward(layer, workspace, otherX, T, B, otherOutput, ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), c.Lengths, hN, cN);
                Backward(layer, workspace, ToFloat(c.DOutputs), dX, dh0, dc0, ToFloatOrEmpty(c.DhN), ToFloatOrEmpty(c.DcN), truncationWindow);
                foreach (ParameterTensor tensor in (ReadOnlySpan<ParameterTensor>)[layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh])
                {
                    tensor.Gradient.Clear();
                }

                workspace.CopiesInputAndOutput = !borrowInput;
            }

            Forward(layer, workspace, x.Span, T, B, output.Span, ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), c.Lengths, hN, cN);
            inspect?.Invoke(workspace);
            Backward(layer, workspace, ToFloat(c.DOutputs), dX, dh0, dc0, ToFloatOrEmpty(c.DhN), ToFloatOrEmpty(c.DcN), truncationWindow, borrowInput ? x.Span : default, borrowInput ? output.Span : default);
        }

        return Collect(layer, output.ToArray(), hN, cN, dX, dh0, dc0, c.HasCell);
    }

    private static float[] NaNs(int count)
    {
        float[] values = new float[count];
        Array.Fill(values, float.NaN);
        return values;
    }
}
