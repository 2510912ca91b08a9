// With a worker pool, a whole training step still allocates nothing, on any thread: measured with the process-wide
// counter GC.GetTotalAllocatedBytes(precise: true), since the per-thread counter does not see the workers.
using FastRnn.Layers;
using FastRnn.Threading;
using FastRnn.Training;

namespace FastRnn.Tests;

[Collection(nameof(AllocationTests))]
public class ParallelAllocationTests
{
    private const int T = 9, B = 5, I = 6, C = 4;

    // B = 20: the per-step input products, fused with the recurrent ones (SequenceDriver.FusesStepProducts), on both
    // splits. borrowInput: full-length sequences and CopiesInputAndOutput off, so every layer reads its input and keeps its
    // states in place.
    [Theory]
    [InlineData(false, 40, false, B, false)]
    [InlineData(true, 40, false, B, false)]
    [InlineData(false, 128, false, B, false)]
    [InlineData(true, 40, true, B, false)]
    [InlineData(false, 40, false, 20, false)]
    [InlineData(true, 40, true, 20, false)]
    [InlineData(false, 40, false, 20, true)]
    [InlineData(true, 40, true, 20, true)]
    public void Lstm_gru_and_elman_training_steps_on_two_workers_allocate_nothing(bool reverse, int H, bool forwardBySequences, int batch, bool borrowInput)
    {
        using var pool = new WorkerPool(2);
        var store = new ParameterStore();
        var lstm = new LstmLayer(store, I, H, reverse: reverse, seed: 1);
        var gru = new GruLayer(store, H, H, layerIndex: 1, reverse: reverse, seed: 2);
        var elman = new ElmanLayer(store, H, H, Nonlinearity.Tanh, layerIndex: 2, reverse: reverse, seed: 3);
        var head = new LinearHead(store, H, C, seed: 4);
        var sgd = new Sgd(0.01f);
        RecurrentWorkspace lstmWorkspace = lstm.CreateWorkspace(T, batch, pool), gruWorkspace = gru.CreateWorkspace(T, batch, pool), elmanWorkspace = elman.CreateWorkspace(T, batch, pool);

        // H = 40 is below what the default plan splits: the hook gives every 16 units a worker. H = 128 splits by itself.
        lstmWorkspace.UseAllWorkers = gruWorkspace.UseAllWorkers = elmanWorkspace.UseAllWorkers = H < 128;
        lstmWorkspace.CopiesInputAndOutput = gruWorkspace.CopiesInputAndOutput = elmanWorkspace.CopiesInputAndOutput = !borrowInput;
        Assert.Equal(2, ParallelSequenceDriver.PlanWorkers(lstmWorkspace, 4, batch));
        Assert.Equal(2, ParallelSequenceDriver.PlanWorkers(gruWorkspace, 3, batch));
        Assert.Equal(2, ParallelSequenceDriver.PlanWorkers(elmanWorkspace, 1, batch));
        if (forwardBySequences)
        {
            // Both passes split by sequences instead.
            lstmWorkspace.SplitBySequences = gruWorkspace.SplitBySequences = elmanWorkspace.SplitBySequences = true;
            Assert.Equal(2, ParallelSequenceDriver.PlanRowWorkers(lstmWorkspace, 4, batch));
        }

        var random = new Random(5);
        float[] x = AllocationTests.RandomValues(random, T * batch * I), h0 = AllocationTests.RandomValues(random, batch * H), c0 = AllocationTests.RandomValues(random, batch * H);
        float[] lstmOut = new float[T * batch * H], gruOut = new float[T * batch * H], elmanOut = new float[T * batch * H], hN = new float[batch * H], cN = new float[batch * H];
        float[] logits = new float[T * batch * C], dLogits = new float[T * batch * C];
        float[] dElmanOut = new float[T * batch * H], dGruOut = new float[T * batch * H], dLstmOut = new float[T * batch * H];
        float[] dX = new float[T * batch * I], dh0 = new float[batch * H], dc0 = new float[batch * H];
        int[] lengths = borrowInput ? [] : AllocationTests.BatchLengths(batch);
        int[] targets = new int[T * batch];
        for (int r = 0; r < targets.Length; r++)
        {
            targets[r] = random.Next(C);
        }

        bool[] mask = new bool[T * batch];

        void Step()
        {
            store.ZeroGradients();
            lstm.Forward(x, T, batch, lstmOut, lstmWorkspace, h0, c0, lengths, hN, cN);
            gru.Forward(lstmOut, T, batch, gruOut, gruWorkspace, lengths: lengths);
            elman.Forward(gruOut, T, batch, elmanOut, elmanWorkspace, lengths: lengths);
            head.Forward(elmanOut, T * batch, logits);
            SequenceMask.FromLengths(lengths, T, batch, mask);
            Losses.SoftmaxCrossEntropy(logits, targets, C, dLogits, validRows: mask);
            head.Backward(elmanOut, dLogits, T * batch, dElmanOut);
            elman.Backward(gruOut, elmanOut, dElmanOut, elmanWorkspace, dGruOut);
            gru.Backward(lstmOut, gruOut, dGruOut, gruWorkspace, dLstmOut, truncationWindow: reverse ? 0 : 3);
            lstm.Backward(x, lstmOut, dLstmOut, lstmWorkspace, dX, dh0, dc0, hN, cN, truncationWindow: reverse ? 0 : 2);
            sgd.Step(store);
        }

        AssertNoAllocationOnAnyThread(pool, Step);
        Assert.Equal(borrowInput, elmanWorkspace.ReadsInputInPlace);
        Assert.Equal(borrowInput, elmanWorkspace.StatesInOutput);
    }

    private static void AssertNoAllocationOnAnyThread(WorkerPool pool, Action step)
    {
        // Warm up: JIT tiers, each thread's GEMM scratch and packed-weight buffer.
        for (int i = 0; i < 20; i++)
        {
            step();
        }

        // Two counters: the process-wide one sees every thread, the test host's too (its threads report results while
        // we measure: ~170-byte thread-pool items, several per second); the workers' own counters, read on each worker
        // through the pool, see only ours. An allocation in the step shows in every window, host noise does not: so the
        // windows are short (one step) and the test passes on the first undisturbed one with both counters at 0.
        var probe = new AllocationProbe(pool.DegreeOfParallelism);
        long[] before = new long[pool.DegreeOfParallelism];
        long allocated = 0, total = 0;
        for (int attempt = 0; attempt < 20; attempt++)
        {
            bool noGc = GC.TryStartNoGCRegion(64 << 20);
            pool.Run(probe, pool.DegreeOfParallelism);
            probe.Bytes.CopyTo(before, 0);
            long totalBefore = GC.GetTotalAllocatedBytes(precise: true);
            step();
            total = GC.GetTotalAllocatedBytes(precise: true) - totalBefore;
            pool.Run(probe, pool.DegreeOfParallelism);
            allocated = 0;
            for (int w = 0; w < before.Length; w++)
            {
                allocated += probe.Bytes[w] - before[w];
            }

            // A collection inside the window (started by another thread) makes the per-thread counters unreliable.
            bool undisturbed = noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion;
            if (undisturbed)
            {
                GC.EndNoGCRegion();
                if (allocated == 0 && total == 0)
                {
                    return;
                }
            }
        }

        Assert.Fail($"a training step allocated {allocated} bytes on the workers, {total} bytes in the process");
    }

    /// <summary>Reads each worker thread's allocation counter (worker 0 is the calling thread).</summary>
    private sealed class AllocationProbe(int workers) : IParallelWork
    {
        public long[] Bytes { get; } = new long[workers];

        public void Execute(int worker) => Bytes[worker] = GC.GetAllocatedBytesForCurrentThread();
    }
}
