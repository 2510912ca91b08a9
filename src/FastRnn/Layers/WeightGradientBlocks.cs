// Legend: T time steps, B batch, I input size, H hidden size, G gates, N = sum of lengths (packed rows),
// s processing step, [u0, u0 + U) a worker's hidden units.
using FastRnn.Cells;
using FastRnn.Kernels;
using FastRnn.Threading;

namespace FastRnn.Layers;

/// <summary>
/// How the workers of a parallel backward share the packed xPacked and hPrev columns of a weight-gradient group: every
/// worker needs all of them (it owns rows of dW, not columns), so instead of each packing the whole group into its own
/// scratch, each packs its share of every block's rows into shared slots and they meet at the pool's
/// <see cref="WorkerPool.SideBarrier"/> before multiplying. The slots are double-buffered by pass, so the next pass's
/// packing never overwrites slots a slower worker still reads: one meeting per pass. The default (no pool) packs
/// everything into the caller's scratch, alone.
/// </summary>
internal ref struct SlotSharing
{
    /// <summary>The pool of the run, or null for a worker that packs its groups alone.</summary>
    public WorkerPool? Pool;

    /// <summary>This worker's index in the run.</summary>
    public int Worker;

    /// <summary>Workers in the run: each packs 1 / Workers of every block's rows.</summary>
    public int Workers;

    /// <summary>Two buffers of packed slots, [2][slots * KC * NC], 64-byte aligned; each pass uses the one its parity picks.</summary>
    public Span<float> Slots;

    /// <summary>Passes made so far in this run; the same on every worker, since all add the same groups in the same order.</summary>
    public int Passes;

    public readonly bool IsShared => Pool is not null;
}

/// <summary>
/// The weight gradients <c>dW_ih += dGates^T * xPacked</c> and <c>dW_hh += dGatesHidden^T * hPrev</c>, added block by
/// block inside the backward time loop, while the block's gate gradients are still in cache: after the whole loop they
/// would come back from DRAM (G*H*N floats; 256 MiB for the LSTM at T = 512, B = 64, H = 512). Once added, a block's
/// rows are dead, so from B = 16 the gate gradients are kept in a ring of a few blocks
/// (<see cref="RecurrentWorkspace.GateGradientRow"/>; rows are addressed through it here).
/// </summary>
/// <remarks>
/// The reduction order over the N packed rows is part of the determinism contract: block b holds rows
/// [b * <see cref="Rows"/>, min((b + 1) * <see cref="Rows"/>, N)); the backward loop completes the blocks from the last
/// to the first, and each is added to dW in that order, every element as one FMA chain over the block's rows
/// ascending (a block is at most one GEMM K block) plus the running sum. Both drivers, on any number of workers, add
/// the same blocks in the same order, whichever gate columns a worker owns. Completed blocks wait until
/// <see cref="GroupBlocks"/> of them can be added together, a chunk of dW rows at a time (see <see cref="AddGroup"/>);
/// every element still gets its blocks one by one in the same order, so grouping does not change a bit.
/// </remarks>
internal static class WeightGradientBlocks
{
    /// <summary>Packed rows per block: one GEMM K block, so a block's product is a single FMA chain per element.</summary>
    internal const int Rows = Gemm.KC;

    /// <summary>
    /// Completed blocks added together. dW of the big shapes ([2048, 768] floats for the LSTM with I = 256, H = 512)
    /// lives in L3, and a block added on its own reads and writes all of it for 256 rows of work: ~90 GFLOP/s. A group
    /// runs its blocks back to back on one 128-row chunk of dW, which stays in L2 between them: 91 -> 98-101 GFLOP/s
    /// for four blocks on a [2048, 512-768] dW (two: 93-97, eight: 99-102).
    /// </summary>
    internal const int GroupBlocks = 4;

    /// <summary>Floats of one block's packed xPacked or hPrev columns in the scratch: KC x NC.</summary>
    private const int Slot = Gemm.KC * Gemm.NC;

    /// <summary>
    /// Column chunks (NC columns of xPacked or hPrev) whose slots a group packs before it goes over dGates: two, so
    /// that with I and H up to NC one pack of each dGates^T block serves both dW_ih and dW_hh (see <see cref="AddGates"/>).
    /// </summary>
    private const int ChunksPerPass = 2;

    /// <summary>The last block of <paramref name="totalRows"/> packed rows, or -1 when there are none.</summary>
    internal static int Last(int totalRows) => ((totalRows + Rows - 1) / Rows) - 1;

    /// <summary>
    /// Floats of scratch the blocks of up to <paramref name="maxRows"/> packed rows use: a packed block of dGates^T, then
    /// one KC x NC slot per block of a group and column chunk of a pass, for its packed xPacked or hPrev columns.
    /// </summary>
    internal static int ScratchLength(long maxRows) => Gemm.PackedALength + SlotsLength(maxRows);

    /// <summary>Floats of one buffer of packed slots for up to <paramref name="maxRows"/> packed rows: a group's blocks times the chunks of a pass.</summary>
    internal static int SlotsLength(long maxRows) => (int)Math.Clamp((maxRows + Rows - 1) / Rows, 1, GroupBlocks) * ChunksPerPass * Slot;

    /// <summary>
    /// Adds the blocks that are complete once processing step <paramref name="step"/> has its gate gradients, from
    /// <paramref name="next"/> down, a group at a time (the rest at step 0, when all are complete), for the gate
    /// columns of units [<paramref name="u0"/>, <paramref name="u0"/> + <paramref name="units"/>); returns the next
    /// block still to add. <paramref name="scratch"/> holds at least <see cref="Gemm.PackedALength"/> floats, and unless
    /// <paramref name="sharing"/> shares the slots, KC * NC more per slot; groups are as large as the slots allow, up to
    /// <see cref="GroupBlocks"/>.
    /// </summary>
    internal static int AddCompleted<TCell>(RecurrentWorkspace ws, int step, int next, int u0, int units, in PassBuffers buffers, Span<float> dWeightIh, Span<float> dWeightHh, Span<float> scratch, ref SlotSharing sharing)
        where TCell : struct, IRecurrentCell
    {
        int slots = GroupSlots(ws, sharing, scratch);
        int complete = Completed(ws, step, next);
        while (complete >= slots || (step == 0 && complete > 0))
        {
            int count = Math.Min(slots, complete);
            AddGroup<TCell>(ws, next, count, u0, units, buffers, dWeightIh, dWeightHh, scratch, ref sharing);
            next -= count;
            complete -= count;
        }

        return next;
    }

    /// <summary>
    /// Whether <see cref="AddCompleted"/> with the same arguments adds at least one group at <paramref name="step"/>: the
    /// same answer on every worker of a run, so they can meet there first.
    /// </summary>
    internal static bool AddsAt(RecurrentWorkspace ws, int step, int next, in SlotSharing sharing, Span<float> scratch)
    {
        int complete = Completed(ws, step, next);
        return complete >= GroupSlots(ws, sharing, scratch) || (step == 0 && complete > 0);
    }

    // Blocks added together at most: a group, as the slots allow.
    private static int GroupSlots(RecurrentWorkspace ws, in SlotSharing sharing, Span<float> scratch)
        => Math.Min(ws.WeightGradientGroupBlocks ?? GroupBlocks, SlotFloats(sharing, scratch) / Slot);

    // Blocks next, next - 1, ..., whose first row the reverse loop has reached once step `step` is done.
    private static int Completed(RecurrentWorkspace ws, int step, int next)
        => next < 0 ? 0 : next - ((ws.RowStart[step] + Rows - 1) / Rows) + 1;

    // Blocks first, first - 1, ..., first - count + 1. The columns of xPacked (chunks [0, ceil(I / NC))) and then of
    // hPrev go by in passes of as many NC-column chunks as the slots hold: every block's rows of a pass's chunks are
    // packed into their own slots, then AddGates goes over dGates once for the whole pass. Shared slots: this worker
    // packs its rows of every block of the pass, and the workers meet before anyone reads them.
    private static void AddGroup<TCell>(RecurrentWorkspace ws, int first, int count, int u0, int units, in PassBuffers buffers, Span<float> dWeightIh, Span<float> dWeightHh, Span<float> scratch, ref SlotSharing sharing)
        where TCell : struct, IRecurrentCell
    {
        int I = ws.InputSize, H = ws.HiddenSize;
        Span<float> packedA = scratch[..Gemm.PackedALength];
        int slotFloats = SlotFloats(sharing, scratch);
        int inputChunks = (I + Gemm.NC - 1) / Gemm.NC, chunks = inputChunks + ((H + Gemm.NC - 1) / Gemm.NC);
        int perPass = Math.Max(1, slotFloats / (count * Slot));
        int[] rowStart = ws.RowStart, batchAt = ws.BatchAt;
        for (int c0 = 0; c0 < chunks; c0 += perPass)
        {
            int c1 = Math.Min(chunks, c0 + perPass);
            Span<float> slots = sharing.IsShared ? sharing.Slots.Slice((sharing.Passes & 1) * slotFloats, slotFloats) : scratch.Slice(Gemm.PackedALength, slotFloats);
            for (int c = c0; c < c1; c++)
            {
                (bool hidden, int jc, int nc) = Chunk(c, inputChunks, I, H);
                for (int i = 0; i < count; i++)
                {
                    (int r0, int rows) = BlockRows(ws, first - i);

                    // This worker's rows [p0, p1) of the block: all of them, or its share (whole 8-row groups).
                    (int p0, int p1) = sharing.IsShared ? Partition.Blocks(sharing.Worker, sharing.Workers, rows, 8) : (0, rows);
                    if (p1 <= p0)
                    {
                        continue;
                    }

                    Span<float> packed = slots.Slice((((c - c0) * count) + i) * Slot, Slot);
                    if (!hidden && !(ws.ReadsInputInPlace && ws.Reverse))
                    {
                        Gemm.PackRowsInto(p1 - p0, jc, nc, buffers.AllInputRows(ws)[((r0 + p0) * I)..], I, packed, p0, rows);
                        continue;
                    }

                    // Step by step: packed row r of step s is row r - rowStart[s] of the step's x rows (x read in
                    // place in reverse, PassBuffers.StepInputRows) or of state slot s (h_{t-1}, in the workspace or
                    // the caller's output: PassBuffers.StateRows), packed straight from there.
                    for (int s = ws.StepOfRow(r0 + p0), s1 = ws.StepOfRow(r0 + p1 - 1); s <= s1; s++)
                    {
                        int firstRow = Math.Max(r0 + p0, rowStart[s]), stepRows = Math.Min(r0 + p1, rowStart[s] + batchAt[s]) - firstRow;
                        int at = firstRow - rowStart[s];
                        ReadOnlySpan<float> source = hidden ? buffers.StateRows(ws, s, at, stepRows) : buffers.StepInputRows(ws, s, at, stepRows);
                        Gemm.PackRowsInto(stepRows, jc, nc, source, hidden ? H : I, packed, firstRow - r0, rows);
                    }
                }
            }

            if (sharing.IsShared)
            {
                sharing.Pool!.SideBarrier(sharing.Worker);
                sharing.Passes++;
            }

            AddGates<TCell>(ws, first, count, u0, units, buffers, c0, c1, inputChunks, slots, packedA, dWeightIh, dWeightHh);
        }
    }

    // For chunks [c0, c1) of a pass: dW_ih[g*H + u0 + i, chunk columns] += sum over the group's blocks, in order, of
    // sum over the block's rows r of dGates[r, g*H + u0 + i] * packed_block[r, chunk columns], and the same for dW_hh
    // with dGatesHidden; for each gate g and i < units, MC rows of dW at a time. Each block's dGates^T is packed once
    // for all the chunks that read it (all of them, except GRU's n gate in the hPrev chunks, which reads dGatesHidden),
    // and the chunks' dW rows stay in L2 while the blocks go by. (512, 64, 256, 512) LSTM: ~6% of the dW time was
    // packing dGates^T twice per block.
    private static void AddGates<TCell>(RecurrentWorkspace ws, int first, int count, int u0, int units, in PassBuffers buffers, int c0, int c1, int inputChunks, ReadOnlySpan<float> slots, Span<float> packedA, Span<float> dWeightIh, Span<float> dWeightHh)
        where TCell : struct, IRecurrentCell
    {
        int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
        // The pass's slots are the packed B of every product below, read once per MC rows of dW: past L2 (the LSTM with
        // I = 256, H = 512: 4 blocks x 768 columns x KC rows, 3 MiB) each pass over them comes from L3, so the products
        // ask for their next panels (Gemm.StepWeightsStream). A group of that shape alone: 142-147 -> 148-152 GFLOP/s.
        long passFloats = 0;
        for (int c = c0; c < c1; c++)
        {
            passFloats += (long)count * Gemm.KC * Gemm.RoundUpToPanel(Chunk(c, inputChunks, I, H).Width);
        }

        bool slotsStream = Gemm.StepWeightsStream(passFloats);
        for (int g = 0; g < TCell.GateCount; g++)
        {
            for (int i0 = 0; i0 < units; i0 += Gemm.MC)
            {
                int column = (g * H) + u0 + i0, m = Math.Min(Gemm.MC, units - i0);
                for (int i = 0; i < count; i++)
                {
                    (int r0, int rows) = BlockRows(ws, first - i);
                    int packedFrom = -1;
                    for (int c = c0; c < c1; c++)
                    {
                        (bool hidden, int jc, int nc) = Chunk(c, inputChunks, I, H);
                        int source = hidden && g >= TCell.FirstSeparateHiddenGradientGate ? 1 : 0;
                        ReadOnlySpan<float> a = (source == 1 ? buffers.DGatesHidden : buffers.DGates)[((ws.GateGradientRow(r0) * GH) + column)..];
                        if (packedFrom != source)
                        {
                            Gemm.PackTransposedA(m, rows, a, GH, packedA);
                            packedFrom = source;
                        }

                        int ldw = hidden ? H : I;
                        Span<float> dWeight = hidden ? dWeightHh : dWeightIh;
                        Gemm.MultiplyPrepackedTransposedA(m, nc, rows, a, GH, packedA, slots.Slice((((c - c0) * count) + i) * Slot, Slot), 1f, dWeight[((column * ldw) + jc)..], ldw, slotsStream);
                    }
                }
            }
        }
    }

    // Floats of the slots one pass packs into: one of the two shared buffers, or the scratch after the packed dGates^T.
    private static int SlotFloats(in SlotSharing sharing, Span<float> scratch)
        => sharing.IsShared ? sharing.Slots.Length / 2 : scratch.Length - Gemm.PackedALength;

    // Column chunk c of a group's passes: chunks [0, inputChunks) are NC columns of xPacked (dW_ih), the rest of hPrev
    // (dW_hh); returns whether it is of hPrev, its first column and its width.
    private static (bool Hidden, int Column, int Width) Chunk(int c, int inputChunks, int I, int H)
    {
        bool hidden = c >= inputChunks;
        int column = (hidden ? c - inputChunks : c) * Gemm.NC;
        return (hidden, column, Math.Min(Gemm.NC, (hidden ? H : I) - column));
    }

    private static (int FirstRow, int Rows) BlockRows(RecurrentWorkspace ws, int block)
    {
        int r0 = block * Rows;
        return (r0, Math.Min(Rows, ws.TotalRows - r0));
    }
}
