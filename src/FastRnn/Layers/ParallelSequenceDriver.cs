// Legend: T time steps, B batch, I input size, H hidden size, G gates, N = sum of lengths (packed rows),
// s processing step, j sorted batch position, P workers, [u0, u1) a worker's hidden units (U = u1 - u0).
//
// SequenceDriver's passes on a WorkerPool, weight-stationary (DeepCPU): worker p owns the hidden units [u0, u1), all G
// gates of them, for the whole pass. It packs its own slice of W_hh once (so the slice lives in its core's cache for
// every step), computes its columns of the input projection, and in each step its columns of the recurrent GEMM and
// the pointwise step of its units. The workers meet at one barrier per step:
//   forward : GEMM(own cols of all G gates) -> cell(own units) -> barrier  (the next GEMM reads all of h_t)
//   backward: cell(own units) -> barrier -> dhNext[:, own units] = dG[:, all G*H] * W_hh[:, own units]
//             (the next step's cell needs only its own columns of dhNext; no barrier at a TBPTT cut), and from B = 16
//             on, after the same barrier, dx_t[:, own I columns] = dG[:, all G*H] * W_ih[:, own I columns]
// The weight gradients are added inside the backward loop block by block (WeightGradientBlocks), each worker its own
// gate rows of dW from its own gate columns of dG. dX at small B and the gathers and scatters are split by rows or
// columns.
//
// Determinism: every output element is computed by one worker with the same operations in the same order as on one
// thread. The GEMM reduces each element over k ascending in the same KC blocks whatever the tile (and stores with
// beta 0 or 1 round alike in full and edge tiles); a worker's units start at a multiple of the widest vector, so the
// cells put each unit in the same vector or scalar-tail position; column sums run over rows in the same order.
//
// Caller spans cross threads as pointers: each is pinned (fixed) for the whole run, and Run returns only after every
// worker has finished with them.
using System.Numerics.Tensors;
using FastRnn.Cells;
using FastRnn.Kernels;
using FastRnn.Threading;

namespace FastRnn.Layers;

internal static unsafe class ParallelSequenceDriver
{
    /// <summary>
    /// Per-step multiply-adds (B*G*H*H) each worker needs to beat the barrier and wake-up costs. Measured on Zen 4 (2
    /// cores): below about 32K per worker a second worker does not pay (docs/threading.md).
    /// </summary>
    internal const long MinStepWorkPerWorker = 32 * 1024;

    /// <summary>Hidden units per worker at least, outside the test hook: a 32-wide GEMM panel.</summary>
    internal const int MinUnitsPerWorker = 32;

    /// <summary>How many workers a pass of this shape uses; 1 means the single-threaded driver.</summary>
    internal static int PlanWorkers(RecurrentWorkspace ws, int gateCount, int batch)
    {
        WorkerPool? pool = ws.Pool;
        if (pool is null || pool.DegreeOfParallelism == 1)
        {
            return 1;
        }

        int H = ws.HiddenSize;
        if (ws.UseAllWorkers)
        {
            return Math.Min(pool.DegreeOfParallelism, (H + UnitSlice.Alignment - 1) / UnitSlice.Alignment);
        }

        long stepWork = (long)batch * gateCount * H * H;
        long byWork = Math.Max(1, stepWork / MinStepWorkPerWorker);
        int byUnits = Math.Max(1, H / MinUnitsPerWorker);
        return (int)Math.Min(pool.DegreeOfParallelism, Math.Min(byWork, byUnits));
    }

    /// <summary>
    /// How many workers run the time loops split by sequences (<see cref="ForwardRows"/>, and <see cref="Backward"/> with
    /// bySequences); 1 means they are not split that way. A step never mixes rows, so each worker runs its own sequences
    /// through all T steps against the whole packed W_ih and W_hh, which each core then keeps in its own L2 (from 1.5 MiB
    /// on they stream from L3, with the next-panel hint: <see cref="Gemm.StepWeightsStream"/>): the forward
    /// with no barrier at all, the backward meeting the others only where a group of weight-gradient blocks is added (and
    /// the bias sums with it), every 1024 packed rows at most. The split by hidden units meets at a barrier every step
    /// and each worker reads the rows the others wrote from their caches: at (64, 16, 64, 128) that costs about as much
    /// as a step's products, and its Elman forward ran 1.12x faster on 2 threads than on 1 (docs/threading.md). Used
    /// from <see cref="MinRowsPerWorker"/> rows per worker (an 8-row register block each) while both weights fit
    /// <see cref="RowSplitMaxWeightBytes"/>.
    /// </summary>
    internal static int PlanRowWorkers(RecurrentWorkspace ws, int gateCount, int batch)
    {
        WorkerPool? pool = ws.Pool;
        if (pool is null || pool.DegreeOfParallelism == 1 || batch < 2)
        {
            return 1;
        }

        if (ws.SplitBySequences is bool forced)
        {
            return forced ? Math.Min(pool.DegreeOfParallelism, batch) : 1;
        }

        long weightBytes = ws.WeightBytes(gateCount);
        if (ws.UseAllWorkers || !SequenceDriver.ProjectsInputsPerStep(batch) || weightBytes > RowSplitMaxWeightBytes)
        {
            return 1;
        }

        return Math.Min(pool.DegreeOfParallelism, batch / MinRowsPerWorker);
    }

    /// <summary>Sequences per worker at least for <see cref="PlanRowWorkers"/>: one register block of the GEMM.</summary>
    internal const int MinRowsPerWorker = 8;

    /// <summary>
    /// Bytes of W_ih and W_hh up to which <see cref="PlanRowWorkers"/> splits by sequences: this Xeon's 2 MiB L2. 2-thread
    /// training step, best per process, alternating runs: with the forward alone split by sequences, the (256, 32, 128,
    /// 256) GRU (1.13 MiB) gained (65.3-66.3 -> 63.3-63.6 ms) and its LSTM (1.5 MiB) did not (79.4-79.7 -> 79.9-81.9);
    /// with both passes split, the LSTM 78.9-79.5 -> 77.9-79.0 and the (512, 64, 256, 512) Elman (1.5 MiB) 300.8-302.2
    /// -> 292.2-297.7 ms (3 rounds each).
    /// </summary>
    internal const long RowSplitMaxWeightBytes = 2L << 20;

    /// <summary>
    /// Runs <see cref="SequenceDriver.ForwardSteps"/> on <paramref name="workers"/> workers, each over a share of the
    /// sorted sequences with about as many valid steps as the others'. The caller has prepared the workspace (packed
    /// weights, bias, slot 0) and finishes after (padding, final states).
    /// </summary>
    internal static void ForwardRows<TCell>(TCell cell, RecurrentWorkspace ws, bool reverse, ReadOnlySpan<float> biasHh, ReadOnlySpan<float> x, int T, int B, Span<float> output, int workers)
        where TCell : struct, IRecurrentCell
    {
        var work = ws.ParallelForwardRows as ForwardRowsWork<TCell>;
        if (work is null)
        {
            work = new ForwardRowsWork<TCell>();
            ws.ParallelForwardRows = work;
        }

        fixed (float* px = x, pOutput = output, pBiasHh = biasHh)
        {
            work.Start(ws, cell, reverse, workers);
            work.X = px;
            work.XLength = T * B * ws.InputSize;
            work.Output = pOutput;
            work.OutputLength = T * B * ws.HiddenSize;
            work.BiasHh = pBiasHh;
            work.Run();
        }
    }

    /// <summary>
    /// Worker <paramref name="worker"/>'s sorted positions [j0, j1): the shares cut the running sum of the sorted
    /// lengths (each share's valid steps) as evenly as whole sequences allow. Depends on the lengths only.
    /// </summary>
    internal static (int Start, int End) SequenceShare(RecurrentWorkspace ws, int worker, int workers)
    {
        int B = ws.BatchSize;
        long total = ws.TotalRows;
        return (Cut(ws, B, total * worker / workers), worker + 1 == workers ? B : Cut(ws, B, total * (worker + 1) / workers));

        // The first position whose preceding sequences hold at least `target` rows.
        static int Cut(RecurrentWorkspace ws, int B, long target)
        {
            long sum = 0;
            int j = 0;
            while (j < B && sum < target)
            {
                sum += ws.SortedLengths[j++];
            }

            return j;
        }
    }

    /// <summary>
    /// Asks for all of a step's rows that other workers wrote (h_{t-1} forward, the gate gradients backward) in L1 at
    /// once, right after the barrier, when they are at most <see cref="SharedRowsPrefetchMaxBytes"/>: the kernel then
    /// finds them in L1 instead of missing a line at a time, each miss a transfer from another core's cache as its
    /// broadcasts reach it. On the Xeon (Emerald Rapids, 2 workers), 2-thread training step, best per process over 3
    /// alternating rounds: (64, 16, 64, 128) Elman 0.975-0.995 -> 0.913-0.932 ms, GRU 2.82-2.91 -> 2.67-2.84 ms,
    /// (1024, 16, 128, 128) Elman 21.4-22.5 -> 20.1-21.8 ms, GRU 58.3-61.4 -> 56.3-58.3 ms; the LSTM within its spread. Larger blocks stream through the hardware prefetchers
    /// while the kernel runs, and asking for them too ((512, 64, 256, 512) LSTM: 512 KiB of gate gradients per step,
    /// into L2) measured no gain (1144-1172 ms without, 1176-1183 with). A hint only: no value changes.
    /// </summary>
    private static void PrefetchSharedRows(ReadOnlySpan<float> rows)
    {
        if ((long)rows.Length * sizeof(float) <= SharedRowsPrefetchMaxBytes)
        {
            Prefetch.ToL1(rows);
        }
    }

    /// <summary>Bytes up to which <see cref="PrefetchSharedRows"/> asks: half of this Xeon's 48 KiB L1d, 3/4 of Zen's 32 KiB.</summary>
    private const int SharedRowsPrefetchMaxBytes = 24 * 1024;

    // x: [T, B, I]  output: [T, B, H]
    internal static void Forward<TCell>(TCell cell, RecurrentWorkspace ws, bool reverse, in LayerWeights w, ReadOnlySpan<float> x, int T, int B, Span<float> output, in SequenceStates states, int workers)
        where TCell : struct, IRecurrentCell
    {
        var work = ws.ParallelForward as ForwardWork<TCell>;
        if (work is null)
        {
            work = new ForwardWork<TCell>();
            ws.ParallelForward = work;
        }

        fixed (float* px = x, pOutput = output, pH0 = states.H0, pC0 = states.C0, pHN = states.HN, pCN = states.CN)
        fixed (float* pWeightIh = w.WeightIh, pWeightHh = w.WeightHh, pBiasIh = w.BiasIh, pBiasHh = w.BiasHh)
        {
            work.Start(ws, cell, reverse, workers);
            work.T = T;
            work.B = B;
            work.X = px;
            work.Output = pOutput;
            work.H0 = pH0;
            work.C0 = pC0;
            work.HN = pHN;
            work.CN = pCN;
            work.WeightIh = pWeightIh;
            work.WeightHh = pWeightHh;
            work.BiasIh = pBiasIh;
            work.BiasHh = pBiasHh;
            work.Run();
        }
    }

    // dOutput: [T, B, H] or empty  dhN, dcN: [B, H] or empty  dX: [T, B, I] or empty  dh0, dc0: [B, H] or empty
    // bySequences: the workers run SequenceDriver.BackwardSteps over their shares of the sequences, after the caller's
    // set-up (packed weights, cleared bias sums) and before its tails; else the split by hidden units does everything.
    internal static void Backward<TCell>(TCell cell, RecurrentWorkspace ws, bool reverse, in LayerWeights w, in SequenceGradients g, in WeightGradients dw, int workers, bool bySequences)
        where TCell : struct, IRecurrentCell
    {
        var work = ws.ParallelBackward as BackwardWork<TCell>;
        if (work is null)
        {
            work = new BackwardWork<TCell>();
            ws.ParallelBackward = work;
        }

        work.EnsureSharedSlots(ws);

        fixed (float* pInput = g.Input, pOutput = g.Output, pDOutput = g.DOutput, pDhN = g.DhN, pDcN = g.DcN, pDX = g.DX, pDh0 = g.Dh0, pDc0 = g.Dc0)
        fixed (float* pWeightIh = w.WeightIh, pWeightHh = w.WeightHh)
        fixed (float* pDWeightIh = dw.WeightIh, pDWeightHh = dw.WeightHh, pDBiasIh = dw.BiasIh, pDBiasHh = dw.BiasHh)
        {
            work.Start(ws, cell, reverse, workers);
            work.TruncationWindow = g.TruncationWindow;
            work.BySequences = bySequences;
            work.Input = pInput;
            work.Output = pOutput;
            work.DOutput = pDOutput;
            work.DhN = pDhN;
            work.DcN = pDcN;
            work.DX = pDX;
            work.Dh0 = pDh0;
            work.Dc0 = pDc0;
            work.WeightIh = pWeightIh;
            work.WeightHh = pWeightHh;
            work.DWeightIh = pDWeightIh;
            work.DWeightHh = pDWeightHh;
            work.DBiasIh = pDBiasIh;
            work.DBiasHh = pDBiasHh;
            work.Run();
        }
    }

    /// <summary>A pinned span, or empty when the caller passed none.</summary>
    private static Span<float> View(float* pointer, int length) => pointer == null ? default : new Span<float>(pointer, length);

    /// <summary>Time index of sorted position j at processing step s.</summary>
    private static int TimeIndex(RecurrentWorkspace ws, bool reverse, int s, int j) => reverse ? ws.SortedLengths[j] - 1 - s : s;

    /// <summary>Floats of a packed slice of U columns over K rows: whole 32-wide panels.</summary>
    private static int PackedSliceLength(int k, int units) => k * Gemm.RoundUpToPanel(units);

    // Columns [u0, u0 + U) of rows j < B: destination[j] = source[order[j]], or 0 when source is empty.
    private static void GatherColumns(ReadOnlySpan<float> source, Span<float> destination, int[] order, int B, int H, int u0, int units)
    {
        for (int j = 0; j < B; j++)
        {
            Span<float> row = destination.Slice((j * H) + u0, units);
            if (source.IsEmpty)
            {
                row.Clear();
            }
            else
            {
                source.Slice((order[j] * H) + u0, units).CopyTo(row);
            }
        }
    }

    /// <summary>What every parallel pass's shared state holds; set by <see cref="Start"/> before each run.</summary>
    private abstract class PassWork<TCell> : IParallelWork
        where TCell : struct, IRecurrentCell
    {
        public WorkerPool Pool = null!;
        public RecurrentWorkspace Workspace = null!;
        public TCell Cell;
        public bool Reverse;
        public int Workers;

        public void Start(RecurrentWorkspace ws, TCell cell, bool reverse, int workers)
        {
            Pool = ws.Pool!;
            Workspace = ws;
            Cell = cell;
            Reverse = reverse;
            Workers = workers;
        }

        /// <summary>Runs the pass on the pool; the caller's pinned pointers and the workspace are dropped after, even on a fault.</summary>
        public void Run()
        {
            try
            {
                Pool.Run(this, Workers);
            }
            finally
            {
                ReleasePointers();
                Workspace = null!;
            }
        }

        public abstract void Execute(int worker);

        protected abstract void ReleasePointers();
    }

    /// <summary>The forward pass's shared state; fields are set by the caller before each run.</summary>
    private sealed class ForwardWork<TCell> : PassWork<TCell>
        where TCell : struct, IRecurrentCell
    {
        public int T, B;
        public float* X, Output, H0, C0, HN, CN, WeightIh, WeightHh, BiasIh, BiasHh;

        protected override void ReleasePointers() => X = Output = H0 = C0 = HN = CN = WeightIh = WeightHh = BiasIh = BiasHh = null;

        public override void Execute(int worker)
        {
            RecurrentWorkspace ws = Workspace;
            int T = this.T, B = this.B, I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
            int steps = ws.Steps, N = ws.TotalRows;
            bool separate = TCell.HasSeparateRecurrentProjection;
            int[] order = ws.Order, batchAt = ws.BatchAt, rowStart = ws.RowStart;
            (int u0, int u1) = Partition.Blocks(worker, Workers, H, UnitSlice.Alignment);
            int units = u1 - u0;

            // Shared: x [T, B, I]  output [T, B, H]  weights as in LayerWeights. Workspace segments as in SequenceDriver.
            ReadOnlySpan<float> x = View(X, T * B * I), weightIh = View(WeightIh, GH * ws.InputSize), weightHh = View(WeightHh, GH * H);
            ReadOnlySpan<float> biasIh = View(BiasIh, GH), biasHh = View(BiasHh, GH);
            Span<float> output = View(Output, T * B * H);
            var buffers = PassBuffers.Of<TCell>(ws, x, output);
            Span<float> xPacked = buffers.XPacked, gates = buffers.Gates, hs = buffers.States, cs = buffers.Cells, saved = buffers.Saved;
            Span<float> projection = separate ? ws.Segment(ws.ProjectionOffset, B * GH) : default;
            Span<float> bias = ws.Segment(ws.BiasOffset, GH);

            // Phase 1 (steps [s0, s1) of the gather, which does nothing when x is read in place; own units of everything else).
            (int s0, int s1) = Partition.Even(worker, Workers, steps);
            for (int s = s0; s < s1; s++)
            {
                SequenceDriver.GatherStepInputs(ws, Reverse, x, xPacked, s);
            }

            // bias = b_ih + b_hh (GRU's n block: b_in alone; b_hn goes with W_hn h), own units of each gate.
            for (int g = 0; g < TCell.GateCount; g++)
            {
                int at = (g * H) + u0;
                TensorPrimitives.Add(biasIh.Slice(at, units), biasHh.Slice(at, units), bias.Slice(at, units));
            }

            if (separate)
            {
                biasIh.Slice(GH - H + u0, units).CopyTo(bias.Slice(GH - H + u0, units));
            }

            // Slot 0: h0 (c0) in sorted order.
            GatherColumns(View(H0, B * H), hs, order, B, H, u0, units);
            if (TCell.HasCellState)
            {
                GatherColumns(View(C0, B * H), cs, order, B, H, u0, units);
            }

            // This worker's W_hh^T [H, U] for each gate, packed here so it stays in this core's cache: [G][H][U]; with
            // the per-step input projection (SequenceDriver.ProjectsInputsPerStep) its W_ih^T [I, U] too, in K blocks,
            // or whole when the step multiplies x and h in one product (SequenceDriver.FusesStepProducts).
            bool projectPerStep = SequenceDriver.ProjectsInputsPerStep(B), fused = SequenceDriver.FusesStepProducts<TCell>(ws, B);
            int sliceLength = PackedSliceLength(H, units), inputSliceLength = projectPerStep ? Gemm.PackedLength(I, units) : 0;
            Span<float> packedAll = WorkerBuffers.PackedWeights(TCell.GateCount * (sliceLength + inputSliceLength));
            Span<float> packed = packedAll[..(TCell.GateCount * sliceLength)], packedIh = packedAll[(TCell.GateCount * sliceLength)..];

            // A gate's slice is a fraction of what a step reads: whether all of them stay in L2 decides the hint.
            bool weightsStream = Gemm.StepWeightsStream(packedAll.Length);
            for (int g = 0; g < TCell.GateCount; g++)
            {
                Gemm.PackColumns(MatrixOp.Transpose, H, (g * H) + u0, units, weightHh, H, packed.Slice(g * sliceLength, sliceLength));
                if (fused)
                {
                    Gemm.PackColumns(MatrixOp.Transpose, I, (g * H) + u0, units, weightIh, I, packedIh.Slice(g * inputSliceLength, inputSliceLength));
                }
                else if (projectPerStep)
                {
                    Gemm.PackBlocks(MatrixOp.Transpose, I, (g * H) + u0, units, weightIh, I, packedIh.Slice(g * inputSliceLength, inputSliceLength));
                }
            }

            Pool.Barrier(worker);

            // Phase 2: gates[N, own columns of each gate] = xPacked * W_ih[own rows]^T (or step by step in phase 3).
            if (N > 0 && !projectPerStep)
            {
                Span<float> scratch = Gemm.ThreadScratch;
                for (int g = 0; g < TCell.GateCount; g++)
                {
                    int at = (g * H) + u0;
                    Gemm.MultiplyCore(MatrixOp.None, MatrixOp.Transpose, N, units, I, buffers.AllInputRows(ws), I, weightIh[(at * I)..], I, 0f, gates[at..], GH, scratch);
                }
            }

            // Phase 3: the time loop, one barrier per step. With the per-step input projection, step s + 1's (it reads
            // only xPacked and writes only own columns of a step no one reads yet) runs between arriving at step s's
            // barrier and waiting on it: a worker that finishes the step first does it instead of waiting.
            if (projectPerStep && !fused && steps > 0)
            {
                ProjectStepInputs(ws, 0, buffers.StepInputRows(ws, 0, 0, batchAt[0]), packedIh, inputSliceLength, SequenceDriver.StepGates<TCell>(ws, buffers, projectPerStep, 0), u0, units, weightsStream);
            }

            for (int s = 0; s < steps; s++)
            {
                int rows = batchAt[s];
                int prevRow = ws.StateSlotRow(s), row = ws.StateSlotRow(s + 1);
                ReadOnlySpan<float> hPrev = buffers.StateRows(ws, s, 0, rows);
                Span<float> gatesS = SequenceDriver.StepGates<TCell>(ws, buffers, projectPerStep, s);

                // [B_s, own columns of each gate] (+)= h_{t-1}[B_s, H] * W_hh^T[H, own columns]; the other workers'
                // columns of h_{t-1} (of h0 too, gathered column by column in phase 1) are in their cores' caches.
                PrefetchSharedRows(hPrev);
                Span<float> product = separate ? projection[..(rows * GH)] : gatesS;
                ReadOnlySpan<float> xS = fused ? buffers.StepInputRows(ws, s, 0, rows) : default;
                for (int g = 0; g < TCell.GateCount; g++)
                {
                    int at = (g * H) + u0;
                    ReadOnlySpan<float> packedHh = packed.Slice(g * sliceLength, sliceLength);
                    if (fused && (!separate || g != TCell.GateCount - 1))
                    {
                        // x_t's rows and h_{t-1}'s in one product (SequenceDriver.FusesStepProducts), into the gates.
                        Gemm.MultiplyPackedPair(rows, units, I, xS, I, packedIh.Slice(g * inputSliceLength, inputSliceLength), H, hPrev, H, packedHh, gatesS[at..], GH);
                    }
                    else if (fused)
                    {
                        // GRU's n: x W_in^T into the gates, h W_hn^T apart (as SequenceDriver.MultiplyStep).
                        Gemm.MultiplyPackedCore(MatrixOp.None, rows, units, I, xS, I, packedIh.Slice(g * inputSliceLength, inputSliceLength), 0f, gatesS[at..], GH, weightsStream);
                        Gemm.MultiplyPackedCore(MatrixOp.None, rows, units, H, hPrev, H, packedHh, 0f, product[at..], GH, weightsStream);
                    }
                    else
                    {
                        Gemm.MultiplyPackedCore(MatrixOp.None, rows, units, H, hPrev, H, packedHh, separate ? 0f : 1f, product[at..], GH, weightsStream);
                    }
                }

                var step = new ForwardStep
                {
                    Rows = rows,
                    Hidden = H,
                    UnitStart = u0,
                    UnitEnd = u1,
                    Gates = gatesS,
                    Bias = bias,
                    RecurrentProjection = separate ? projection[..(rows * GH)] : default,
                    FusedRecurrentProduct = fused,
                    RecurrentBias = biasHh,
                    Saved = separate ? saved.Slice(rowStart[s] * H, rows * H) : default,
                    HPrev = hPrev,
                    H = buffers.StateRows(ws, s + 1, 0, rows),
                    CPrev = cs.IsEmpty ? default : cs.Slice(prevRow * H, rows * H),
                    C = cs.IsEmpty ? default : cs.Slice(row * H, rows * H),
                };
                Cell.ForwardStep(step);

                // Own columns of this step's states to the outputs while they are in cache (no one else writes them, and
                // every x row was gathered in phase 1, so an output over the input is safe).
                if (s + 1 < steps)
                {
                    Pool.Arrive(worker);
                    if (projectPerStep && !fused)
                    {
                        ProjectStepInputs(ws, s + 1, buffers.StepInputRows(ws, s + 1, 0, batchAt[s + 1]), packedIh, inputSliceLength, SequenceDriver.StepGates<TCell>(ws, buffers, projectPerStep, s + 1), u0, units, weightsStream);
                    }

                    SequenceDriver.ScatterStepStates(ws, Reverse, hs, output, s, u0, units);
                    Pool.Wait(worker);
                }
                else
                {
                    SequenceDriver.ScatterStepStates(ws, Reverse, hs, output, s, u0, units);
                }
            }

            // Phase 4: own columns of the outputs' padding get 0.
            for (int t = 0; t < T; t++)
            {
                for (int j = batchAt[t]; j < B; j++)
                {
                    output.Slice((((t * B) + order[j]) * H) + u0, units).Clear();
                }
            }

            SequenceDriver.ScatterFinalStates(ws, buffers, cellStates: false, View(HN, B * H), u0, units);
            if (TCell.HasCellState)
            {
                SequenceDriver.ScatterFinalStates(ws, buffers, cellStates: true, View(CN, B * H), u0, units);
            }
        }

        // [B_s, own columns of each gate] = x_t[B_s, I] * W_ih^T[I, own columns], from this worker's packed W_ih^T blocks.
        private static void ProjectStepInputs(RecurrentWorkspace ws, int s, ReadOnlySpan<float> xS, ReadOnlySpan<float> packedIh, int inputSliceLength, Span<float> gatesS, int u0, int units, bool weightsStream)
        {
            int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H, rows = ws.BatchAt[s];
            for (int g = 0; g < TCell.GateCount; g++)
            {
                Gemm.MultiplyPackedBlocks(rows, units, I, xS, I, packedIh.Slice(g * inputSliceLength, inputSliceLength), gatesS[((g * H) + u0)..], GH, weightsStream);
            }
        }
    }

    /// <summary>The sequence-split forward's shared state; fields are set by the caller before each run.</summary>
    private sealed class ForwardRowsWork<TCell> : PassWork<TCell>
        where TCell : struct, IRecurrentCell
    {
        public int XLength, OutputLength;
        public float* X, Output, BiasHh;

        protected override void ReleasePointers() => X = Output = BiasHh = null;

        public override void Execute(int worker)
        {
            RecurrentWorkspace ws = Workspace;
            (int j0, int j1) = SequenceShare(ws, worker, Workers);
            if (j0 < j1)
            {
                int GH = TCell.GateCount * ws.HiddenSize;
                SequenceDriver.ForwardSteps(Cell, ws, Reverse, View(BiasHh, GH), View(X, XLength), View(Output, OutputLength), true, j0, j1);
            }
        }
    }

    /// <summary>The backward pass's shared state; fields are set by the caller before each run.</summary>
    private sealed class BackwardWork<TCell> : PassWork<TCell>
        where TCell : struct, IRecurrentCell
    {
        public int TruncationWindow;
        public bool BySequences;
        public float* Input, Output, DOutput, DhN, DcN, DX, Dh0, Dc0, WeightIh, WeightHh, DWeightIh, DWeightHh, DBiasIh, DBiasHh;

        private float[]? _sharedSlots;
        private int _sharedSlotsStart, _sharedSlotsLength;

        /// <summary>
        /// The two buffers of weight-gradient slots the workers pack together (SlotSharing), for the workspace's largest
        /// pass: allocated on the first parallel backward through this workspace, 64-byte aligned, then reused.
        /// </summary>
        private Span<float> SharedSlots => _sharedSlots.AsSpan(_sharedSlotsStart, _sharedSlotsLength);

        // On the calling thread, before the run: the work object belongs to one workspace, whose largest pass is fixed,
        // so the first allocation serves every later pass.
        public void EnsureSharedSlots(RecurrentWorkspace ws)
        {
            if (_sharedSlots is null)
            {
                _sharedSlotsLength = 2 * WeightGradientBlocks.SlotsLength((long)ws.MaxSequenceLength * ws.MaxBatchSize);
                _sharedSlots = AlignedMemory.AllocateArray(_sharedSlotsLength, out _sharedSlotsStart);
            }
        }

        protected override void ReleasePointers()
            => Input = Output = DOutput = DhN = DcN = DX = Dh0 = Dc0 = WeightIh = WeightHh = DWeightIh = DWeightHh = DBiasIh = DBiasHh = null;

        public override void Execute(int worker)
        {
            if (BySequences)
            {
                ExecuteBySequences(worker);
                return;
            }

            RecurrentWorkspace ws = Workspace;
            int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
            int T = ws.SequenceLength, B = ws.BatchSize, steps = ws.Steps, N = ws.TotalRows;
            bool separate = TCell.HasSeparateRecurrentProjection;
            int[] order = ws.Order, batchAt = ws.BatchAt, rowStart = ws.RowStart;
            (int u0, int u1) = Partition.Blocks(worker, Workers, H, UnitSlice.Alignment);
            int units = u1 - u0;

            ReadOnlySpan<float> dOutput = View(DOutput, T * B * H), dhN = View(DhN, B * H), dcN = View(DcN, B * H);
            ReadOnlySpan<float> weightIh = View(WeightIh, GH * I), weightHh = View(WeightHh, GH * H);
            Span<float> dX = View(DX, T * B * I);
            var buffers = PassBuffers.Of<TCell>(ws, View(Input, T * B * I), View(Output, T * B * H));
            Span<float> gates = buffers.Gates, cs = buffers.Cells, saved = buffers.Saved;
            Span<float> dGates = buffers.DGates, dGatesHidden = buffers.DGatesHidden, dhNext = buffers.DhNext, dcNext = buffers.DcNext, dh = buffers.Dh;
            Span<float> dBias = ws.Segment(ws.BiasGradientOffset, 2 * GH);
            Span<float> dBiasInput = dBias[..GH], dBiasHidden = dBias[GH..];

            // This worker's columns of W_hh [G*H, U], packed here: dhNext[B_s, own units] (+)= dGatesHidden_s * W_hh[:, own units].
            // With dX step by step (SequenceDriver.ProjectsInputsPerStep), its columns [i0, i1) of W_ih [G*H, I] too, in K
            // blocks: dx_t[B_s, i0..i1) = dGates_s[B_s, G*H] * W_ih[:, i0..i1), after the step's barrier.
            bool dxPerStep = SequenceDriver.ComputesDxPerStep(ws, !dX.IsEmpty);
            (int i0, int i1) = dxPerStep ? Partition.Blocks(worker, Workers, I, Gemm.MaxPanelWidth) : (0, 0);
            int inputColumns = i1 - i0, sliceLength = PackedSliceLength(GH, units);
            Span<float> packedAll = WorkerBuffers.PackedWeights(sliceLength + (inputColumns > 0 ? Gemm.PackedLength(GH, inputColumns) : 0));
            Span<float> packed = packedAll[..sliceLength], packedIh = packedAll[sliceLength..];
            bool weightsStream = Gemm.StepWeightsStream(packedAll.Length);
            Gemm.PackColumns(MatrixOp.None, GH, u0, units, weightHh, H, packed);
            if (inputColumns > 0)
            {
                Gemm.PackBlocks(MatrixOp.None, GH, i0, inputColumns, weightIh, I, packedIh);
            }

            Span<float> dxStep = dxPerStep ? ws.Segment(ws.DxStepOffset, B * I) : default;
            for (int g = 0; g < TCell.GateCount; g++)
            {
                dBiasInput.Slice((g * H) + u0, units).Clear();
                dBiasHidden.Slice((g * H) + u0, units).Clear();
            }

            // The time loop in reverse; every span below is touched only in this worker's columns until the barrier.
            // The weight-gradient groups' packed x and h columns are shared (SlotSharing): this thread's scratch holds
            // the packed dGates^T blocks and the GEMM packing of the whole-sequence dX below.
            Span<float> scratch = Gemm.ThreadScratch;
            var sharing = new SlotSharing { Pool = Pool, Worker = worker, Workers = Workers, Slots = SharedSlots };
            Span<float> dWeightIh = View(DWeightIh, GH * I), dWeightHh = View(DWeightHh, GH * H);
            int nextBlock = WeightGradientBlocks.Last(N), pendingDx = -1;
            for (int s = steps - 1; s >= 0; s--)
            {
                int rows = batchAt[s];

                // Sequences whose last step is s start here: dh_n (dc_n) enters as their carried gradient.
                for (int j = batchAt[s + 1]; j < rows; j++)
                {
                    CopyOrClear(dhN, order[j], dhNext, j, H, u0, units);
                    if (TCell.HasCellState)
                    {
                        CopyOrClear(dcN, order[j], dcNext, j, H, u0, units);
                    }
                }

                // dh_t = dOutput[t] + dhNext
                for (int j = 0; j < rows; j++)
                {
                    Span<float> dhRow = dh.Slice((j * H) + u0, units);
                    ReadOnlySpan<float> carried = dhNext.Slice((j * H) + u0, units);
                    if (dOutput.IsEmpty)
                    {
                        carried.CopyTo(dhRow);
                    }
                    else
                    {
                        int t = TimeIndex(ws, Reverse, s, j);
                        TensorPrimitives.Add(carried, dOutput.Slice((((t * B) + order[j]) * H) + u0, units), dhRow);
                    }
                }

                int prevRow = ws.StateSlotRow(s), row = ws.StateSlotRow(s + 1);
                Span<float> dGatesS = SequenceDriver.StepGateGradients(ws, dGates, s, GH);
                Span<float> dGatesHiddenS = SequenceDriver.StepGateGradients(ws, dGatesHidden, s, GH);
                var step = new BackwardStep
                {
                    Rows = rows,
                    Hidden = H,
                    UnitStart = u0,
                    UnitEnd = u1,
                    Dh = dh[..(rows * H)],
                    DcNext = dcNext.IsEmpty ? default : dcNext[..(rows * H)],
                    Gates = gates.Slice(rowStart[s] * GH, rows * GH),
                    Saved = saved.IsEmpty ? default : saved.Slice(rowStart[s] * H, rows * H),
                    HPrev = buffers.StateRows(ws, s, 0, rows),
                    H = buffers.StateRows(ws, s + 1, 0, rows),
                    CPrev = cs.IsEmpty ? default : cs.Slice(prevRow * H, rows * H),
                    C = cs.IsEmpty ? default : cs.Slice(row * H, rows * H),
                    DGates = dGatesS,
                    DGatesHidden = dGatesHiddenS,
                    DhPrevDirect = separate ? dhNext[..(rows * H)] : default,
                    FetchesNextRow = weightsStream,
                };
                Cell.BackwardStep(step);
                SequenceDriver.WrapGateGradients<TCell>(ws, buffers, s, u0, units);

                // Bias-gradient column sums, rows in the same order as on one thread.
                for (int j = 0; j < rows; j++)
                {
                    for (int g = 0; g < TCell.GateCount; g++)
                    {
                        int at = (g * H) + u0;
                        Span<float> sum = dBiasInput.Slice(at, units);
                        TensorPrimitives.Add(sum, dGatesS.Slice((j * GH) + at, units), sum);
                        if (separate)
                        {
                            Span<float> hiddenSum = dBiasHidden.Slice(at, units);
                            TensorPrimitives.Add(hiddenSum, dGatesHiddenS.Slice((j * GH) + at, units), hiddenSum);
                        }
                    }
                }

                // The next GEMMs read every worker's gate gradients of this step. Truncated BPTT: nothing crosses the
                // cut, so without dX there no worker needs the others' gates, and no barrier. Between arriving and
                // waiting, the work that reads only this worker's own gate columns, or gates of steps every worker has
                // finished: own rows of dW_ih and dW_hh over the row blocks this step completes, and the previous
                // step's own columns of dx (deferred to here, so that a worker that finishes its cell first does it
                // instead of waiting).
                bool cut = TruncationWindow > 0 && s > 0 && s % TruncationWindow == 0;
                bool meet = !cut || dxPerStep;
                if (meet)
                {
                    Pool.Arrive(worker);
                }

                nextBlock = WeightGradientBlocks.AddCompleted<TCell>(ws, s, nextBlock, u0, units, buffers, dWeightIh, dWeightHh, scratch, ref sharing);
                if (pendingDx >= 0)
                {
                    ProjectStepGradient(ws, pendingDx, dGates, packedIh, dxStep, dX, i0, inputColumns, weightsStream);
                    pendingDx = -1;
                }

                if (meet)
                {
                    Pool.Wait(worker);
                }

                if (inputColumns > 0)
                {
                    pendingDx = s;
                }

                if (cut)
                {
                    for (int j = 0; j < rows; j++)
                    {
                        dhNext.Slice((j * H) + u0, units).Clear();
                        if (TCell.HasCellState)
                        {
                            dcNext.Slice((j * H) + u0, units).Clear();
                        }
                    }
                }
                else
                {
                    // dh_{t-1}[:, own units] = [direct part +] dGatesHidden_s[B_s, G*H] * W_hh[:, own units], over every
                    // worker's gate columns, written in their cores' caches during this step.
                    PrefetchSharedRows(dGatesHiddenS);
                    Gemm.MultiplyPackedCore(MatrixOp.None, rows, units, GH, dGatesHiddenS, GH, packed, separate ? 1f : 0f, dhNext[u0..], H, weightsStream);
                }
            }

            // Step 0's dx: every worker's gates of step 0 are complete since its barrier.
            if (pendingDx >= 0)
            {
                ProjectStepGradient(ws, pendingDx, dGates, packedIh, dxStep, dX, i0, inputColumns, weightsStream);
            }

            // Rows active at step 0 carry dh0 (dc0); zero-length sequences pass dh_n (dc_n) straight through.
            ScatterInitialColumns(ws, dhNext, dhN, View(Dh0, B * H), u0, units);
            if (TCell.HasCellState)
            {
                ScatterInitialColumns(ws, dcNext, dcN, View(Dc0, B * H), u0, units);
            }

            // db_ih += sum dGates; db_hh += sum dGatesHidden, own columns.
            Span<float> dBiasIh = View(DBiasIh, GH), dBiasHh = View(DBiasHh, GH);
            for (int g = 0; g < TCell.GateCount; g++)
            {
                int at = (g * H) + u0;
                TensorPrimitives.Add(dBiasIh.Slice(at, units), dBiasInput.Slice(at, units), dBiasIh.Slice(at, units));
                TensorPrimitives.Add(dBiasHh.Slice(at, units), (separate ? dBiasHidden : dBiasInput).Slice(at, units), dBiasHh.Slice(at, units));
            }

            if (dX.IsEmpty)
            {
                return;
            }

            // dxPacked[rows r0..r1, I] = dGates[r0..r1, G*H] * W_ih[G*H, I], then those rows scattered back; it reads
            // every worker's columns of dGates, all rows still in place (SequenceDriver.ComputesDxPerStep).
            (int r0, int r1) = dxPerStep ? (0, 0) : Partition.Blocks(worker, Workers, N, 8);
            if (!dxPerStep)
            {
                Pool.Barrier(worker);
            }

            if (r1 > r0)
            {
                Span<float> dxPacked = ws.Segment(ws.RowsOffset, N * I);
                Gemm.MultiplyCore(MatrixOp.None, MatrixOp.None, r1 - r0, I, GH, dGates[(r0 * GH)..], GH, weightIh, I, 0f, dxPacked[(r0 * I)..], I, scratch);
                for (int s = 0; s < steps; s++)
                {
                    int first = Math.Max(r0, rowStart[s]), end = Math.Min(r1, rowStart[s] + batchAt[s]);
                    for (int r = first; r < end; r++)
                    {
                        int j = r - rowStart[s];
                        int t = TimeIndex(ws, Reverse, s, j);
                        dxPacked.Slice(r * I, I).CopyTo(dX.Slice(((t * B) + order[j]) * I, I));
                    }
                }
            }

            // Padding gets 0 (time steps [t0, t1) here).
            (int t0, int t1) = Partition.Even(worker, Workers, T);
            for (int t = t0; t < t1; t++)
            {
                for (int j = batchAt[t]; j < B; j++)
                {
                    dX.Slice(((t * B) + order[j]) * I, I).Clear();
                }
            }
        }

        // The time loop over this worker's share of the sequences (SequenceDriver.BackwardSteps), meeting the others at
        // each group of weight-gradient blocks and sharing that group's packed slots with them.
        private void ExecuteBySequences(int worker)
        {
            RecurrentWorkspace ws = Workspace;
            int T = ws.SequenceLength, B = ws.BatchSize, I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
            var weights = new LayerWeights(View(WeightIh, GH * I), View(WeightHh, GH * H), default, default);
            var gradients = new SequenceGradients
            {
                Input = View(Input, T * B * I),
                Output = View(Output, T * B * H),
                DOutput = View(DOutput, T * B * H),
                DhN = View(DhN, B * H),
                DcN = View(DcN, B * H),
                DX = View(DX, T * B * I),
                TruncationWindow = TruncationWindow,
            };
            var weightGradients = new WeightGradients(View(DWeightIh, GH * I), View(DWeightHh, GH * H), default, default);
            var sharing = new SlotSharing { Pool = Pool, Worker = worker, Workers = Workers, Slots = SharedSlots };
            (int j0, int j1) = SequenceShare(ws, worker, Workers);
            SequenceDriver.BackwardSteps(Cell, ws, Reverse, weights, gradients, weightGradients, j0, j1, Gemm.ThreadScratch, ref sharing);
        }

        // Own columns [i0, i0 + inputColumns) of dx_t for step s, from every worker's gate gradients of that step:
        // dx_t[B_s, own I columns] = dGates_s[B_s, G*H] * W_ih[:, own I columns], into its block of [T, B, I] or
        // scattered there.
        private void ProjectStepGradient(RecurrentWorkspace ws, int s, Span<float> dGates, ReadOnlySpan<float> packedIh, Span<float> dxStep, Span<float> dX, int i0, int inputColumns, bool weightsStream)
        {
            int I = ws.InputSize, GH = TCell.GateCount * ws.HiddenSize, B = ws.BatchSize, rows = ws.BatchAt[s];
            if (ws.StepsAreBlocks)
            {
                Gemm.MultiplyPackedBlocks(rows, inputColumns, GH, SequenceDriver.StepGateGradients(ws, dGates, s, GH), GH, packedIh, dX[((ws.StepRow(s) * I) + i0)..], I, weightsStream);
                return;
            }

            Gemm.MultiplyPackedBlocks(rows, inputColumns, GH, SequenceDriver.StepGateGradients(ws, dGates, s, GH), GH, packedIh, dxStep[i0..], I, weightsStream);
            int[] order = ws.Order;
            for (int j = 0; j < rows; j++)
            {
                int t = TimeIndex(ws, Reverse, s, j);
                dxStep.Slice((j * I) + i0, inputColumns).CopyTo(dX.Slice((((t * B) + order[j]) * I) + i0, inputColumns));
            }
        }

        private static void CopyOrClear(ReadOnlySpan<float> source, int sourceRow, Span<float> destination, int destinationRow, int H, int u0, int units)
        {
            Span<float> row = destination.Slice((destinationRow * H) + u0, units);
            if (source.IsEmpty)
            {
                row.Clear();
            }
            else
            {
                source.Slice((sourceRow * H) + u0, units).CopyTo(row);
            }
        }

        private static void ScatterInitialColumns(RecurrentWorkspace ws, ReadOnlySpan<float> carried, ReadOnlySpan<float> finalGradient, Span<float> initialGradient, int u0, int units)
        {
            if (initialGradient.IsEmpty)
            {
                return;
            }

            int H = ws.HiddenSize;
            for (int j = 0; j < ws.BatchSize; j++)
            {
                int b = ws.Order[j];
                if (j < ws.BatchAt[0])
                {
                    carried.Slice((j * H) + u0, units).CopyTo(initialGradient.Slice((b * H) + u0, units));
                }
                else
                {
                    CopyOrClear(finalGradient, b, initialGradient, b, H, u0, units);
                }
            }
        }
    }

    /// <summary>Per-thread buffers of the workers: each packs its W_hh slice into memory it touched first, 64-byte aligned.</summary>
    private static class WorkerBuffers
    {
        [ThreadStatic]
        private static float[]? s_packed;

        [ThreadStatic]
        private static int s_packedStart;

        /// <summary>This thread's buffer for a packed slice of <paramref name="length"/> floats; grows (allocates) only when a larger slice comes.</summary>
        public static Span<float> PackedWeights(int length)
        {
            float[]? buffer = s_packed;
            if (buffer is null || buffer.Length - s_packedStart < length)
            {
                buffer = AlignedMemory.AllocateArray(length, out s_packedStart);
                s_packed = buffer;
            }

            return buffer.AsSpan(s_packedStart, length);
        }
    }
}
