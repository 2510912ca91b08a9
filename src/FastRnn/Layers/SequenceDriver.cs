// Legend: T time steps, B batch, I input size, H hidden size, G gates, N = sum of lengths (packed rows),
// s processing step (s = t forward; s = len - 1 - t for the reverse direction), j sorted batch position.
//
// The time loop shared by every cell (oneDNN's grid driver): the input projection (per step from B = 16, else one
// hoisted GEMM), then per step the recurrent GEMM fused with the cell's pointwise step; backward in reverse time, with
// dX per step (from B = 16) and the weight gradients added in 256-row blocks as the loop completes them, so the gate
// gradients live in a ring of a few blocks. See RecurrentWorkspace for the packed layout. With a worker pool on the
// workspace, a pass of a large enough shape runs on ParallelSequenceDriver instead, with bitwise identical results.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Numerics.Tensors;
using FastRnn.Cells;
using FastRnn.Diagnostics;
using FastRnn.Kernels;
using FastRnn.Threading;

namespace FastRnn.Layers;

/// <summary>One layer's parameters: W_ih [G*H, I], W_hh [G*H, H], b_ih and b_hh [G*H].</summary>
internal readonly ref struct LayerWeights(ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh)
{
    public readonly ReadOnlySpan<float> WeightIh = weightIh;
    public readonly ReadOnlySpan<float> WeightHh = weightHh;
    public readonly ReadOnlySpan<float> BiasIh = biasIh;
    public readonly ReadOnlySpan<float> BiasHh = biasHh;
}

/// <summary>Initial and final states of a forward call, [B, H] each, original batch order; empty means zero / not wanted.</summary>
internal ref struct SequenceStates
{
    public ReadOnlySpan<float> H0;
    public ReadOnlySpan<float> C0;
    public Span<float> HN;
    public Span<float> CN;
}

/// <summary>What a backward call reads and writes besides the parameter gradients.</summary>
internal ref struct SequenceGradients
{
    /// <summary>x: [T, B, I] as the forward read it, or empty; read when the pass reads x in place (RecurrentWorkspace.ReadsInputInPlace).</summary>
    public ReadOnlySpan<float> Input;

    /// <summary>The output [T, B, H] as the forward wrote it, or empty; read when the pass keeps its states there (RecurrentWorkspace.StatesInOutput).</summary>
    public ReadOnlySpan<float> Output;
    public ReadOnlySpan<float> DOutput;
    public ReadOnlySpan<float> DhN;
    public ReadOnlySpan<float> DcN;
    public Span<float> DX;
    public Span<float> Dh0;
    public Span<float> Dc0;
    public int TruncationWindow;
}

/// <summary>The parameter gradients, accumulated (+=).</summary>
internal readonly ref struct WeightGradients(Span<float> weightIh, Span<float> weightHh, Span<float> biasIh, Span<float> biasHh)
{
    public readonly Span<float> WeightIh = weightIh;
    public readonly Span<float> WeightHh = weightHh;
    public readonly Span<float> BiasIh = biasIh;
    public readonly Span<float> BiasHh = biasHh;
}

/// <summary>
/// The workspace segments of the recorded pass, sized for its N packed rows; one place for both drivers.
/// x: [N, I]  gates: [N, G*H]  h, c: [B + N, H] (slot 0 = h0, c0)  saved: [N, H] (GRU)  dhNext, dcNext, dh: [B, H]
/// dGates: [N, G*H], or a ring of [period + B, G*H] (RecurrentWorkspace.GateGradientRow)
/// Input: the caller's x [T, B, I] when the pass reads it in place (<see cref="StepInputRows"/>), else empty.
/// Output: the caller's output [T, B, H] when the pass keeps its states there (<see cref="StateRows"/>), else empty.
/// </summary>
internal readonly ref struct PassBuffers
{
    public readonly ReadOnlySpan<float> Input;
    public readonly Span<float> Output;
    public readonly Span<float> XPacked;
    public readonly Span<float> Gates;
    public readonly Span<float> States;
    public readonly Span<float> Cells;
    public readonly Span<float> Saved;
    public readonly Span<float> DGates;
    public readonly Span<float> DGatesHidden;
    public readonly Span<float> DhNext;
    public readonly Span<float> DcNext;
    public readonly Span<float> Dh;

    private PassBuffers(RecurrentWorkspace ws, int gateCount, bool hasCellState, bool separate, ReadOnlySpan<float> input, ReadOnlySpan<float> output)
    {
        int I = ws.InputSize, H = ws.HiddenSize, GH = gateCount * H, B = ws.BatchSize, N = ws.TotalRows;
        Input = ws.ReadsInputInPlace ? input : default;

        // The forward writes its states into the caller's (writable) output; the backward only reads them.
        Output = ws.StatesInOutput ? MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(output), output.Length) : default;
        XPacked = ws.Segment(ws.XPackedOffset, N * I);
        Gates = ws.Segment(ws.GatesOffset, N * GH);
        States = ws.Segment(ws.StatesOffset, (B + N) * H);
        Cells = hasCellState ? ws.Segment(ws.CellsOffset, (B + N) * H) : default;
        Saved = separate ? ws.Segment(ws.SavedOffset, N * H) : default;
        // Gate gradients: row r at GateGradientRow(r), [min(N, period + B), G*H].
        int gateGradientRows = ws.HoldsAllGateGradients ? N : ws.GateGradientPeriod + B;
        DGates = ws.Segment(ws.DGatesOffset, gateGradientRows * GH);
        DGatesHidden = separate ? ws.Segment(ws.DGatesHiddenOffset, gateGradientRows * GH) : DGates;
        DhNext = ws.Segment(ws.DhNextOffset, B * H);
        DcNext = hasCellState ? ws.Segment(ws.DcNextOffset, B * H) : default;
        Dh = ws.Segment(ws.DhOffset, B * H);
    }

    /// <summary>
    /// The pass's buffers; <paramref name="input"/> and <paramref name="output"/> are the caller's x and output, used
    /// only when the pass reads x in place and keeps its states in the output.
    /// </summary>
    public static PassBuffers Of<TCell>(RecurrentWorkspace ws, ReadOnlySpan<float> input, ReadOnlySpan<float> output)
        where TCell : struct, IRecurrentCell
        => new(ws, TCell.GateCount, TCell.HasCellState, TCell.HasSeparateRecurrentProjection, input, output);

    /// <summary>
    /// State slot <paramref name="slot"/>'s rows of sorted positions [<paramref name="j0"/>, <paramref name="j0"/> +
    /// <paramref name="rows"/>), [rows, H] contiguous: slot 0 (h0) in the workspace, slot s + 1 (h after step s) in the
    /// workspace's packed slots, or in the caller's output at step s's block (RecurrentWorkspace.StatesInOutput).
    /// </summary>
    public Span<float> StateRows(RecurrentWorkspace ws, int slot, int j0, int rows)
    {
        int H = ws.HiddenSize;
        return ws.StatesInOutput && slot > 0
            ? Output.Slice((ws.StepRow(slot - 1) + j0) * H, rows * H)
            : States.Slice((ws.StateSlotRow(slot) + j0) * H, rows * H);
    }

    /// <summary>
    /// Step <paramref name="s"/>'s x rows of sorted positions [<paramref name="j0"/>, <paramref name="j0"/> +
    /// <paramref name="rows"/>), [rows, I] contiguous: a block of the caller's x when the pass reads it in place
    /// (RecurrentWorkspace.StepRow), else of the packed copy.
    /// </summary>
    public ReadOnlySpan<float> StepInputRows(RecurrentWorkspace ws, int s, int j0, int rows)
    {
        int I = ws.InputSize;
        return ws.ReadsInputInPlace
            ? Input.Slice((ws.StepRow(s) + j0) * I, rows * I)
            : XPacked.Slice((ws.RowStart[s] + j0) * I, rows * I);
    }

    /// <summary>
    /// All N rows of x in processing order, [N, I]: the packed copy, or x's first N rows when the pass reads x in place
    /// in forward time (equal lengths: processing row rowStart[s] + j is x's row s * B + j). Not for a reverse pass
    /// that reads x in place: its steps run through x backwards (<see cref="StepInputRows"/>).
    /// </summary>
    public ReadOnlySpan<float> AllInputRows(RecurrentWorkspace ws)
    {
        Debug.Assert(!(ws.ReadsInputInPlace && ws.Reverse), "a reverse pass reads x in place step by step");
        return ws.ReadsInputInPlace ? Input[..(ws.TotalRows * ws.InputSize)] : XPacked;
    }
}

internal static class SequenceDriver
{
    /// <summary>Orders the batch by length (stable, longest first) and derives B_s and the packed row offsets.</summary>
    internal static int Prepare(RecurrentWorkspace ws, int T, int B, ReadOnlySpan<int> lengths)
    {
        int[] order = ws.Order, sorted = ws.SortedLengths, counts = ws.Counts, batchAt = ws.BatchAt, rowStart = ws.RowStart;

        // Counting sort by descending length: counts[L] becomes the first slot for length L.
        Array.Clear(counts, 0, T + 1);
        for (int b = 0; b < B; b++)
        {
            counts[lengths.IsEmpty ? T : lengths[b]]++;
        }

        int next = 0;
        for (int length = T; length >= 0; length--)
        {
            int count = counts[length];
            counts[length] = next;
            next += count;
        }

        for (int b = 0; b < B; b++)
        {
            int length = lengths.IsEmpty ? T : lengths[b];
            int j = counts[length]++;
            order[j] = b;
            sorted[j] = length;
        }

        int steps = B == 0 ? 0 : sorted[0];
        int active = B;
        rowStart[0] = 0;
        for (int s = 0; s <= T; s++)
        {
            while (active > 0 && sorted[active - 1] <= s)
            {
                active--;
            }

            batchAt[s] = active;
            if (s < T)
            {
                rowStart[s + 1] = rowStart[s] + active;
            }
        }

        return steps;
    }

    /// <summary>Time index of sorted position j at processing step s.</summary>
    private static int TimeIndex(RecurrentWorkspace ws, bool reverse, int s, int j) => reverse ? ws.SortedLengths[j] - 1 - s : s;

    // x: [T, B, I]  output: [T, B, H]
    internal static void Forward<TCell>(TCell cell, RecurrentWorkspace ws, bool reverse, in LayerWeights w, ReadOnlySpan<float> x, int T, int B, Span<float> output, in SequenceStates states)
        where TCell : struct, IRecurrentCell
    {
        // The time loop split by sequences (ParallelSequenceDriver.PlanRowWorkers) runs after this thread's set-up below;
        // the split by hidden units does everything on its workers. With an output over the input, the states go out
        // after the loop (below), which only one thread's loop allows.
        bool scatterPerStep = !output.Overlaps(x);
        int rowWorkers = scatterPerStep ? ParallelSequenceDriver.PlanRowWorkers(ws, TCell.GateCount, B) : 1;
        int workers = rowWorkers > 1 ? 1 : ParallelSequenceDriver.PlanWorkers(ws, TCell.GateCount, B);
        if (workers > 1)
        {
            ParallelSequenceDriver.Forward(cell, ws, reverse, w, x, T, B, output, states, workers);
            return;
        }

        int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
        int steps = ws.Steps, N = ws.TotalRows;
        int[] order = ws.Order, batchAt = ws.BatchAt;
        var buffers = PassBuffers.Of<TCell>(ws, x, output);
        Span<float> xPacked = buffers.XPacked, gates = buffers.Gates, hs = buffers.States, cs = buffers.Cells;
        bool fused = FusesStepProducts<TCell>(ws, B);
        Span<float> packedW = ws.Segment(ws.PackedWeightOffset, StepPackedLength<TCell>(fused, H, H));
        Span<float> scratch = ws.Segment(ws.GemmScratchOffset, ws.GemmScratchLength);

        // The valid inputs in processing order, xPacked[rowStart[s] + j] = x[t, order[j]]: here for the product over all
        // rows, else each step's rows just before the step multiplies them (see ProjectsInputsPerStep); neither when
        // the pass reads x in place.
        bool projectPerStep = ProjectsInputsPerStep(B);
        if (!projectPerStep)
        {
            for (int s = 0; s < steps; s++)
            {
                GatherStepInputs(ws, reverse, x, xPacked, s);
            }
        }

        // gates[N, G*H] = xPacked * W_ih^T. The biases are added by the cell, in cache, instead of in a pass over all
        // N rows here: b_ih + b_hh folded, except GRU's b_hn, which is multiplied by r together with W_hn h.
        Span<float> bias = ws.Segment(ws.BiasOffset, GH);
        TensorPrimitives.Add(w.BiasIh, w.BiasHh, bias);
        if (TCell.HasSeparateRecurrentProjection)
        {
            w.BiasIh.Slice(GH - H, H).CopyTo(bias.Slice(GH - H, H));
        }

        Span<float> packedWih = projectPerStep ? ws.Segment(ws.PackedInputWeightOffset, StepPackedLength<TCell>(fused, I, H)) : default;
        if (fused)
        {
            PackStepColumns<TCell>(I, w.WeightIh, H, packedWih);
        }
        else if (projectPerStep)
        {
            Gemm.PackBlocks(MatrixOp.Transpose, I, 0, GH, w.WeightIh, I, packedWih);
        }
        else
        {
            Gemm.MultiplyCore(MatrixOp.None, MatrixOp.Transpose, N, GH, I, buffers.AllInputRows(ws), I, w.WeightIh, I, 0f, gates, GH, scratch);
        }

        // Slot 0 holds h0 (and c0) in sorted order.
        GatherRows(states.H0, hs, order, B, H);
        if (TCell.HasCellState)
        {
            GatherRows(states.C0, cs, order, B, H);
        }

        // W_hh^T [H, G*H] is packed once and reused by every step.
        if (fused)
        {
            PackStepColumns<TCell>(H, w.WeightHh, H, packedW);
        }
        else
        {
            Gemm.PackB(MatrixOp.Transpose, H, GH, w.WeightHh, H, packedW);
        }
        if (rowWorkers > 1)
        {
            ParallelSequenceDriver.ForwardRows(cell, ws, reverse, w.BiasHh, x, T, B, output, rowWorkers);
        }
        else
        {
            ForwardSteps(cell, ws, reverse, w.BiasHh, x, output, scatterPerStep, 0, B);
        }

        // The states back to [T, B, H] (each step's while in cache, unless the output overlaps the input, which every
        // step must still read as it was); every padded position is written as 0.
        for (int s = 0; s < steps && !scatterPerStep; s++)
        {
            ScatterStepStates(ws, reverse, hs, output, s, 0, H);
        }

        for (int t = 0; t < T; t++)
        {
            for (int j = batchAt[t]; j < B; j++)
            {
                output.Slice(((t * B) + order[j]) * H, H).Clear();
            }
        }

        ScatterFinalStates(ws, buffers, cellStates: false, states.HN);
        if (TCell.HasCellState)
        {
            ScatterFinalStates(ws, buffers, cellStates: true, states.CN);
        }
    }

    /// <summary>
    /// The forward time loop over sorted batch positions [<paramref name="j0"/>, <paramref name="j1"/>): all of them on
    /// one thread, a worker's share when ParallelSequenceDriver.ForwardRows splits the batch. The rows of one sequence
    /// never depend on another's, and the GEMMs give each row the same bits whatever rows share its tile, so any split
    /// gives the one-thread results. Reads what Forward prepared: the packed weights, the folded bias, slot 0.
    /// </summary>
    internal static void ForwardSteps<TCell>(TCell cell, RecurrentWorkspace ws, bool reverse, ReadOnlySpan<float> biasHh, ReadOnlySpan<float> x, Span<float> output, bool scatterPerStep, int j0, int j1)
        where TCell : struct, IRecurrentCell
    {
        int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H, B = ws.BatchSize;
        int steps = ws.Steps;
        int[] batchAt = ws.BatchAt, rowStart = ws.RowStart;
        var buffers = PassBuffers.Of<TCell>(ws, x, output);
        Span<float> xPacked = buffers.XPacked, cs = buffers.Cells, saved = buffers.Saved;
        Span<float> projection = TCell.HasSeparateRecurrentProjection ? ws.Segment(ws.ProjectionOffset, B * GH) : default;
        bool projectPerStep = ProjectsInputsPerStep(B), fused = FusesStepProducts<TCell>(ws, B);
        ReadOnlySpan<float> packedW = ws.Segment(ws.PackedWeightOffset, StepPackedLength<TCell>(fused, H, H));
        ReadOnlySpan<float> bias = ws.Segment(ws.BiasOffset, GH);
        ReadOnlySpan<float> packedWih = projectPerStep ? ws.Segment(ws.PackedInputWeightOffset, StepPackedLength<TCell>(fused, I, H)) : default;
        Span<float> stepGates = UsesStepGates<TCell>(ws, B) ? ws.Segment(ws.StepGatesOffset, B * GH) : default;
        bool prefetchRows = PrefetchesStepRows<TCell>(ws);
        bool weightsStream = Gemm.StepWeightsStream(packedW.Length + packedWih.Length);

        // Sorted longest first: once step s has no active row from j0 on, no later step has.
        for (int s = 0; s < steps && batchAt[s] > j0; s++)
        {
            int rows = Math.Min(batchAt[s], j1) - j0;
            int prevRow = ws.StateSlotRow(s) + j0, row = ws.StateSlotRow(s + 1) + j0, packedRow = rowStart[s] + j0;
            if (prefetchRows && s + 1 < steps)
            {
                PrefetchForwardStep<TCell>(ws, buffers, projectPerStep, s + 1, j0, j1);
            }

            ReadOnlySpan<float> hPrev = buffers.StateRows(ws, s, j0, rows);
            Span<float> gatesS = StepGates<TCell>(ws, buffers, projectPerStep, s).Slice(j0 * GH, rows * GH);
            Span<float> product = stepGates.IsEmpty ? gatesS : stepGates.Slice(j0 * GH, rows * GH);
            Span<float> recurrent = projection.IsEmpty ? default : projection.Slice(j0 * GH, rows * GH);
            if (fused)
            {
                // [B_s, G*H] = x_t[B_s, I] * W_ih^T + h_{t-1}[B_s, H] * W_hh^T in one pass (GRU: r and z; n's two parts
                // apart), from x rows gathered into L1/L2 just before.
                GatherStepInputs(ws, reverse, x, xPacked, s, j0, j1);
                MultiplyStep<TCell>(rows, I, H, buffers.StepInputRows(ws, s, j0, rows), packedWih, hPrev, packedW, product, recurrent, weightsStream);
            }
            else if (projectPerStep)
            {
                // [B_s, G*H] = x_t[B_s, I] * W_ih^T, written to L1/L2 just before the step reads it, from x rows
                // gathered into L1/L2 just before.
                GatherStepInputs(ws, reverse, x, xPacked, s, j0, j1);
                Gemm.MultiplyPackedBlocks(rows, GH, I, buffers.StepInputRows(ws, s, j0, rows), I, packedWih, product, GH, weightsStream);
            }

            // [B_s, G*H] (+)= h_{t-1}[B_s, H] * W_hh^T (unless fused above), then the cell's pointwise step.
            if (!fused)
            {
                bool separate = TCell.HasSeparateRecurrentProjection;
                Gemm.MultiplyPackedCore(MatrixOp.None, rows, GH, H, hPrev, H, packedW, separate ? 0f : 1f, separate ? recurrent : product, GH, weightsStream);
            }

            var step = new ForwardStep
            {
                Rows = rows,
                Hidden = H,
                UnitStart = 0,
                UnitEnd = H,
                Gates = gatesS,
                PreActivations = stepGates.IsEmpty ? default : product,
                Bias = bias,
                RecurrentProjection = recurrent,
                FusedRecurrentProduct = fused,
                RecurrentBias = biasHh,
                Saved = saved.IsEmpty ? default : saved.Slice(packedRow * H, rows * H),
                HPrev = hPrev,
                H = buffers.StateRows(ws, s + 1, j0, rows),
                CPrev = cs.IsEmpty ? default : cs.Slice(prevRow * H, rows * H),
                C = cs.IsEmpty ? default : cs.Slice(row * H, rows * H),
            };
            cell.ForwardStep(step);
            if (scatterPerStep)
            {
                ScatterStepStates(ws, reverse, buffers.States, output, s, 0, H, j0, j1);
            }
        }
    }

    /// <summary>
    /// Whether the time loops ask for the next step's rows ahead (<see cref="PrefetchForwardStep"/>,
    /// <see cref="PrefetchBackwardStep"/>): only while the packed weights a step multiplies by fit in L2. With larger
    /// ones, each step streams them from L3 for hundreds of microseconds, which pushes the asked-for rows out of L2
    /// before the step that needs them, and the hints are wasted ((512, 64, 256, 512) LSTM forward: no gain, within 1%).
    /// </summary>
    internal static bool PrefetchesStepRows<TCell>(RecurrentWorkspace ws)
        where TCell : struct, IRecurrentCell
        => ws.WeightBytes(TCell.GateCount) <= PrefetchMaxWeightBytes;

    /// <summary>
    /// Bytes of W_ih and W_hh up to which <see cref="PrefetchesStepRows"/> holds. Half of the Xeon's 2 MiB L2: the
    /// (512, 64, 256, 512) Elman (1.5 MiB) forward ran at 184-186 ms without the hints and 189 with them; a burst of
    /// hints holds the core's fill buffers for an L3 round trip each, and the step's products wait for them to move
    /// their W panels from L2 to L1.
    /// </summary>
    internal const long PrefetchMaxWeightBytes = 1L << 20;

    /// <summary>
    /// Step <paramref name="s"/>'s gate rows, <c>[B_s, G*H]</c>, in the saved gates. Without a backward that reads them
    /// (Elman) and with the per-step input projection, they are the step's h rows instead: f is applied in place.
    /// </summary>
    internal static Span<float> StepGates<TCell>(RecurrentWorkspace ws, in PassBuffers buffers, bool projectPerStep, int s)
        where TCell : struct, IRecurrentCell
    {
        int H = ws.HiddenSize, rows = ws.BatchAt[s];
        return projectPerStep && !TCell.BackwardReadsGates
            ? buffers.StateRows(ws, s + 1, 0, rows)
            : buffers.Gates.Slice(ws.RowStart[s] * TCell.GateCount * H, rows * TCell.GateCount * H);
    }

    /// <summary>
    /// Asks for the rows step <paramref name="s"/> will read and write that no earlier step touched: its x rows (with the
    /// per-step projection), the state slots it writes and GRU's saved rows. Past the last-level cache, these come from
    /// DRAM, and without the hint every step waited on them: (1024, 16, 128, 128) Elman, time loop 12.1-12.9 -> 11.4-11.8 ms.
    /// The gate rows are left out: asking for the LSTM's 32 KiB per step made its forward ~2% slower.
    /// </summary>
    private static void PrefetchForwardStep<TCell>(RecurrentWorkspace ws, in PassBuffers buffers, bool projectPerStep, int s, int j0, int j1)
        where TCell : struct, IRecurrentCell
    {
        int I = ws.InputSize, H = ws.HiddenSize, rows = Math.Min(ws.BatchAt[s], j1) - j0, row = ws.StateSlotRow(s + 1) + j0, rowStart = ws.RowStart[s] + j0;
        if (rows <= 0)
        {
            return;
        }

        if (projectPerStep)
        {
            Prefetch.ToL2(buffers.StepInputRows(ws, s, j0, rows));
        }

        Prefetch.ToL2(buffers.StateRows(ws, s + 1, j0, rows));
        if (TCell.HasCellState)
        {
            Prefetch.ToL2(buffers.Cells.Slice(row * H, rows * H));
        }

        if (!buffers.Saved.IsEmpty)
        {
            Prefetch.ToL2(buffers.Saved.Slice(rowStart * H, rows * H));
        }
    }

    /// <summary>
    /// The backward counterpart of <see cref="PrefetchForwardStep"/>: step <paramref name="s"/>'s h_{t-1} (and c_{t-1}) slots,
    /// saved rows, gate-gradient rows, and its rows of dOutput and dX, which lie scattered over [T, B, *] in the caller's
    /// order. (1024, 16, 128, 128) Elman training step with both: 39.9-41.1 -> 38.0-38.2 ms. The saved gate rows are left
    /// out here too: asking for them moved the (1024, 16, 128, 128) LSTM and GRU steps by less than their run-to-run spread.
    /// </summary>
    private static void PrefetchBackwardStep<TCell>(RecurrentWorkspace ws, bool reverse, in PassBuffers buffers, in SequenceGradients g, bool dxPerStep, int s, int j0, int j1)
        where TCell : struct, IRecurrentCell
    {
        int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H, B = ws.BatchSize;
        int rows = Math.Min(ws.BatchAt[s], j1) - j0, prevRow = ws.StateSlotRow(s) + j0, rowStart = ws.RowStart[s] + j0;
        if (rows <= 0)
        {
            return;
        }

        Prefetch.ToL2(buffers.StateRows(ws, s, j0, rows));
        if (TCell.HasCellState)
        {
            Prefetch.ToL2(buffers.Cells.Slice(prevRow * H, rows * H));
        }

        if (!buffers.Saved.IsEmpty)
        {
            Prefetch.ToL2(buffers.Saved.Slice(rowStart * H, rows * H));
        }

        Prefetch.ToL2(StepGateGradients(ws, buffers.DGates, s, GH).Slice(j0 * GH, rows * GH));
        if (TCell.HasSeparateRecurrentProjection)
        {
            Prefetch.ToL2(StepGateGradients(ws, buffers.DGatesHidden, s, GH).Slice(j0 * GH, rows * GH));
        }

        for (int j = j0; j < j0 + rows; j++)
        {
            int position = (TimeIndex(ws, reverse, s, j) * B) + ws.Order[j];
            if (!g.DOutput.IsEmpty)
            {
                Prefetch.ToL2(g.DOutput.Slice(position * H, H));
            }

            if (dxPerStep)
            {
                Prefetch.ToL2(g.DX.Slice(position * I, I));
            }
        }
    }

    /// <summary>
    /// Whether the passes multiply by W_ih step by step (forward: each step's input projection just before the step;
    /// backward: each step's dX right after its gate gradients) instead of over all T*B rows at once. The big GEMMs
    /// move T*B*G*H floats through memory: past the caches (32 MiB at T*B = 8192, G*H = 1024) they run at 75-85
    /// instead of ~105 GFLOP/s and the steps wait on DRAM for their rows, while a B-row product against the packed
    /// W_ih runs at the recurrent GEMM's speed (105-115 GFLOP/s at B >= 16) on rows that are in cache. At small B the
    /// big GEMM wins (B = 1 would be T matrix-vector products). Both forms give every element the same operations
    /// (<see cref="Gemm.MultiplyPackedBlocks"/>), so they are bitwise equal, and so is the parallel driver, which
    /// projects step by step on each worker's own columns in the forward pass and computes dX over all rows at once.
    /// </summary>
    internal static bool ProjectsInputsPerStep(int batch) => batch >= PerStepProjectionMinBatch;

    /// <summary>
    /// Whether each forward step multiplies its x and h rows in one product, <see cref="Gemm.MultiplyPackedPair"/>
    /// (<c>x_t W_ih^T + h_{t-1} W_hh^T</c>, one FMA chain per element from x's first k to h's last), instead of the input
    /// projection followed by a recurrent product that adds its own chain: with the per-step projection
    /// (<see cref="ProjectsInputsPerStep"/>), while W_ih and W_hh stay in L2 (<see cref="Gemm.StepWeightsStream"/> does not hold);
    /// GRU's r and z only, since <c>r * (W_hn h + b_hn)</c> keeps n's recurrent product apart (<see cref="MultiplyStep{TCell}"/>).
    /// The one pass saves a store and a reload of the step's gate rows and half the kernel calls ([16, 512] from K = 64 +
    /// 128: 20.0 -> 18.9 us); forwards, probe A/B, medians of 6-8 alternating runs: (64, 16, 64, 128) LSTM 127.3 ->
    /// 129.2 GFLOP/s, Elman 130.1 -> 131.9, GRU 126.5 -> 128.2, (1024, 16, 128, 128) Elman +1-4%. Past
    /// <see cref="ParallelSequenceDriver.RowSplitMaxWeightBytes"/> (2 MiB) the split by hidden units is the parallel plan, whose workers project step s + 1's inputs while they wait at step s's
    /// barrier; fused, the (512, 64, 256, 512) LSTM forward on two threads lost that (266.3 -> 262.4 GFLOP/s, best of
    /// 3) for +0.5% on one. Weights that stream from L3 go apart also on one thread, since the pair takes no hint for
    /// its next panels: the (512, 64, 256, 512) Elman's 1.5 MiB forward 150.2-150.4 -> 151.4-152.2 apart without the
    /// hint, 152.2-153.4 with it. The rule reads the weights' own bytes, not their packed lengths or a worker's slices,
    /// which the drivers' hints read: a shape just under 1.5 MiB whose padded panels pass it is fused and takes no hint,
    /// and under the split by hidden units a worker's slices of 1.5-3 MiB of weights stay in L2 and take none either.
    /// A function of the cell and the shape only, like the projection itself, so every driver and thread count gives
    /// the same bits.
    /// </summary>
    internal static bool FusesStepProducts<TCell>(RecurrentWorkspace ws, int batch)
        where TCell : struct, IRecurrentCell
        => ProjectsInputsPerStep(batch) && !Gemm.StepWeightsStream(ws.WeightBytes(TCell.GateCount) / sizeof(float));

    /// <summary>
    /// Floats of op(W)^T [k, G*H] packed for the step products: <see cref="PackStepColumns{TCell}"/>'s layout when
    /// <paramref name="fused"/>, else one <see cref="Gemm.PackedLength"/> block. The workspace carves room for both.
    /// </summary>
    internal static int StepPackedLength<TCell>(bool fused, int k, int hidden)
        where TCell : struct, IRecurrentCell
        => fused && TCell.HasSeparateRecurrentProjection
            ? Gemm.PackedLength(k, 2 * hidden) + Gemm.PackedLength(k, hidden)
            : Gemm.PackedLength(k, TCell.GateCount * hidden);

    /// <summary>
    /// Packs W^T [k, G*H] (W stored [G*H, k]) for the fused step products (<see cref="MultiplyStep{TCell}"/>): whole, or
    /// for GRU as two column groups each from a panel boundary, [r z] then n, so that the pair product reads r and z
    /// without n. <see cref="StepPackedLength{TCell}"/> floats.
    /// </summary>
    internal static void PackStepColumns<TCell>(int k, ReadOnlySpan<float> weight, int hidden, Span<float> packed)
        where TCell : struct, IRecurrentCell
    {
        if (!TCell.HasSeparateRecurrentProjection)
        {
            Gemm.PackColumns(MatrixOp.Transpose, k, 0, TCell.GateCount * hidden, weight, k, packed);
            return;
        }

        int resetUpdate = Gemm.PackedLength(k, 2 * hidden);
        Gemm.PackColumns(MatrixOp.Transpose, k, 0, 2 * hidden, weight, k, packed[..resetUpdate]);
        Gemm.PackColumns(MatrixOp.Transpose, k, 2 * hidden, hidden, weight, k, packed[resetUpdate..]);
    }

    /// <summary>
    /// A fused step's products for rows x [rows, I] and hPrev [rows, H], weights packed by
    /// <see cref="PackStepColumns{TCell}"/>: product [rows, G*H] = x W_ih^T + hPrev W_hh^T, one chain per element
    /// (<see cref="Gemm.MultiplyPackedPair"/>); GRU: so for r and z, while n's x W_in^T goes to product and its
    /// hPrev W_hn^T to recurrent [rows, G*H] (its n block), apart, since r multiplies W_hn h + b_hn.
    /// <paramref name="weightsStream"/>: see <see cref="Gemm.StepWeightsStream"/> (the pair takes no hint: see
    /// <see cref="FusesStepProducts{TCell}"/> for the weights it is chosen for).
    /// </summary>
    internal static void MultiplyStep<TCell>(int rows, int I, int H, ReadOnlySpan<float> x, ReadOnlySpan<float> packedWih, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> packedWhh, Span<float> product, Span<float> recurrent, bool weightsStream)
        where TCell : struct, IRecurrentCell
    {
        int GH = TCell.GateCount * H;
        if (!TCell.HasSeparateRecurrentProjection)
        {
            Gemm.MultiplyPackedPair(rows, GH, I, x, I, packedWih, H, hPrev, H, packedWhh, product, GH);
            return;
        }

        int ihResetUpdate = Gemm.PackedLength(I, 2 * H), hhResetUpdate = Gemm.PackedLength(H, 2 * H);
        Gemm.MultiplyPackedPair(rows, 2 * H, I, x, I, packedWih[..ihResetUpdate], H, hPrev, H, packedWhh[..hhResetUpdate], product, GH);
        Gemm.MultiplyPackedCore(MatrixOp.None, rows, H, I, x, I, packedWih[ihResetUpdate..], 0f, product[(2 * H)..], GH, weightsStream);
        Gemm.MultiplyPackedCore(MatrixOp.None, rows, H, H, hPrev, H, packedWhh[hhResetUpdate..], 0f, recurrent[(2 * H)..], GH, weightsStream);
    }

    /// <summary>
    /// Whether a backward pass that computes dX (<paramref name="computesDx"/>) does so step by step: from B = 16
    /// (<see cref="ProjectsInputsPerStep"/>), and below it when the gate-gradient rows are a ring
    /// (<see cref="RecurrentWorkspace.GateGradientRow"/>, a workspace made for B &gt;= 16 running a smaller batch), since
    /// the product over all rows needs them all at the end.
    /// </summary>
    internal static bool ComputesDxPerStep(RecurrentWorkspace ws, bool computesDx)
        => computesDx && (ProjectsInputsPerStep(ws.BatchSize) || !ws.HoldsAllGateGradients);

    /// <summary>Step <paramref name="s"/>'s gate-gradient rows, [B_s, G*H], contiguous: a step that wraps the ring runs on into its tail.</summary>
    internal static Span<float> StepGateGradients(RecurrentWorkspace ws, Span<float> gateGradients, int s, int gateWidth)
        => gateGradients.Slice(ws.GateGradientRow(ws.RowStart[s]) * gateWidth, ws.BatchAt[s] * gateWidth);

    /// <summary>
    /// After step <paramref name="s"/>'s cell wrote its gate gradients: the rows it wrote into the ring's tail, past the
    /// period, are copied to the ring's start, where their weight-gradient block reads them; only the gate columns of
    /// units [<paramref name="u0"/>, <paramref name="u0"/> + <paramref name="units"/>), the ones this worker wrote.
    /// The step's own readers (dX, dh_{t-1}, the bias sums) keep the contiguous rows of <see cref="StepGateGradients"/>.
    /// With <paramref name="j0"/> and <paramref name="j1"/>, only the rows of those sorted positions (a worker's sequences).
    /// </summary>
    internal static void WrapGateGradients<TCell>(RecurrentWorkspace ws, in PassBuffers buffers, int s, int u0, int units, int j0 = 0, int j1 = int.MaxValue)
        where TCell : struct, IRecurrentCell
    {
        int period = ws.GateGradientPeriod, rows = ws.BatchAt[s], over = ws.GateGradientRow(ws.RowStart[s]) + rows - period;
        if (over <= 0)
        {
            return;
        }

        // Ring row r past the period is the step's row j = rows - over + r; only those of positions [j0, j1).
        int H = ws.HiddenSize, GH = TCell.GateCount * H;
        for (int r = Math.Max(0, j0 - (rows - over)), end = Math.Min(over, j1 - (rows - over)); r < end; r++)
        {
            for (int g = 0; g < TCell.GateCount; g++)
            {
                int column = (g * H) + u0;
                buffers.DGates.Slice(((period + r) * GH) + column, units).CopyTo(buffers.DGates.Slice((r * GH) + column, units));
                if (TCell.HasSeparateRecurrentProjection)
                {
                    buffers.DGatesHidden.Slice(((period + r) * GH) + column, units).CopyTo(buffers.DGatesHidden.Slice((r * GH) + column, units));
                }
            }
        }
    }

    /// <summary>
    /// Whether a forward step's GEMMs write into the reused [B, G*H] step block (<see cref="RecurrentWorkspace.StepGatesOffset"/>)
    /// and the cell reads its pre-activations there and writes the post-activations to the saved gate rows
    /// (<see cref="ForwardStep.PreActivations"/>): with the per-step projection, for cells whose backward reads the gates.
    /// Each step's saved rows are fresh memory (the gate buffer is [N, G*H]), and a GEMM that stores its 8-row tiles
    /// there stalls on misses: a [64, 2048] step (K = 256 then 512) ran at 102 GFLOP/s writing fresh rows and 108.5
    /// computing in a cached block (110 fully in cache). The saved rows are written once either way; until the cell read
    /// the block itself, a copy to the saved rows cost 15 ms of the (512, 64, 256, 512) LSTM forward. Only from
    /// <see cref="StepGatesMinBytes"/> of gate rows on: smaller ones stay in cache from call to call. One thread only: the
    /// parallel forward through its own columns of the block was slower in interleaved two-thread runs, with the copy
    /// (15-25% for the LSTM and GRU at (1024, 16, 128, 128)) and again with the cell reading the block ((512, 64, 256,
    /// 512) LSTM forward: min per process 528-532 ms against 508-534), so it stores its tiles into the saved rows.
    /// </summary>
    internal static bool UsesStepGates<TCell>(RecurrentWorkspace ws, int batch)
        where TCell : struct, IRecurrentCell
        => ProjectsInputsPerStep(batch) && TCell.BackwardReadsGates
            && (ws.UseStepGates ?? (long)ws.TotalRows * TCell.GateCount * ws.HiddenSize * sizeof(float) >= StepGatesMinBytes);

    /// <summary>Bytes of saved gate rows from which <see cref="UsesStepGates"/> computes each step in a cached block.</summary>
    internal const long StepGatesMinBytes = 8L << 20;

    /// <summary>The smallest batch whose passes multiply by W_ih step by step (see <see cref="ProjectsInputsPerStep"/>).</summary>
    internal const int PerStepProjectionMinBatch = 16;

    // dOutput: [T, B, H] or empty (zero)  dhN, dcN: [B, H] or empty  dX: [T, B, I] or empty (not computed)  dh0, dc0: [B, H] or empty
    internal static void Backward<TCell>(TCell cell, RecurrentWorkspace ws, bool reverse, in LayerWeights w, in SequenceGradients g, in WeightGradients dw)
        where TCell : struct, IRecurrentCell
    {
        // Recording gradient norms sums whole rows of dh in one order: that pass stays on this thread. The time loop
        // split by sequences (ParallelSequenceDriver.PlanRowWorkers) runs after this thread's set-up below; the split by
        // hidden units does everything on its workers.
        int rowWorkers = ws.RecordGradientNorms ? 1 : ParallelSequenceDriver.PlanRowWorkers(ws, TCell.GateCount, ws.BatchSize);
        int workers = ws.RecordGradientNorms || rowWorkers > 1 ? 1 : ParallelSequenceDriver.PlanWorkers(ws, TCell.GateCount, ws.BatchSize);
        if (workers > 1)
        {
            ParallelSequenceDriver.Backward(cell, ws, reverse, w, g, dw, workers, bySequences: false);
            return;
        }

        int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
        int T = ws.SequenceLength, B = ws.BatchSize, steps = ws.Steps, N = ws.TotalRows;
        int[] order = ws.Order, batchAt = ws.BatchAt, rowStart = ws.RowStart;
        bool separate = TCell.HasSeparateRecurrentProjection;
        var buffers = PassBuffers.Of<TCell>(ws, g.Input, g.Output);
        Span<float> dGates = buffers.DGates, dhNext = buffers.DhNext, dcNext = buffers.DcNext;
        Span<float> packedW = ws.Segment(ws.PackedWeightOffset, Gemm.PackedLength(GH, H));
        Span<float> scratch = ws.Segment(ws.GemmScratchOffset, ws.GemmScratchLength);

        // Column sums of the gate gradients, accumulated while the rows are in cache: step by step on one thread, at each
        // group of weight-gradient blocks when split by sequences (BackwardSteps).
        Span<float> dBias = ws.Segment(ws.BiasGradientOffset, 2 * GH);
        dBias.Clear();
        Span<float> dBiasInput = dBias[..GH], dBiasHidden = dBias[GH..];

        // W_hh [G*H, H] packed once: dhNext[B_s, H] (+)= dGatesHidden_s[B_s, G*H] * W_hh. At batch 1 each step is one
        // row, multiplied by W_hh as stored: the same bits without the pack (see Gemm.MultiplyRowInPlace), from a copy
        // whose rows start cache lines when the caller's do not (RowInPlaceStride).
        ws.RowInPlaceStride = H;
        if (!MultipliesRowInPlace(B, H))
        {
            Gemm.PackB(MatrixOp.None, GH, H, w.WeightHh, H, packedW);
        }
        else
        {
            ws.RowInPlaceStride = RowInPlaceStride(ws, w.WeightHh);
            if (ws.RowInPlaceStride != H)
            {
                CopyRows(w.WeightHh, GH, H, packedW, ws.RowInPlaceStride);
            }
        }

        // dX step by step: W_ih [G*H, I] packed once; each step's [B_s, I] rows go to dX from L1.
        bool dxPerStep = ComputesDxPerStep(ws, !g.DX.IsEmpty);
        if (dxPerStep)
        {
            Gemm.PackBlocks(MatrixOp.None, GH, 0, I, w.WeightIh, I, ws.Segment(ws.PackedInputWeightOffset, Gemm.PackedLength(GH, I)));
        }

        if (rowWorkers > 1)
        {
            ParallelSequenceDriver.Backward(cell, ws, reverse, w, g, dw, rowWorkers, bySequences: true);
        }
        else
        {
            var alone = default(SlotSharing);
            BackwardSteps(cell, ws, reverse, w, g, dw, 0, B, scratch, ref alone);
        }

        // Rows active at step 0 carry dh0 (dc0); zero-length sequences pass dh_n (dc_n) straight through.
        ScatterInitialGradients(ws, dhNext, g.DhN, g.Dh0);
        if (TCell.HasCellState)
        {
            ScatterInitialGradients(ws, dcNext, g.DcN, g.Dc0);
        }

        // db_ih += sum dGates; db_hh += sum dGatesHidden (the same sums unless the recurrent projection is separate).
        TensorPrimitives.Add(dw.BiasIh, dBiasInput, dw.BiasIh);
        TensorPrimitives.Add(dw.BiasHh, separate ? dBiasHidden : dBiasInput, dw.BiasHh);

        if (!g.DX.IsEmpty && !dxPerStep)
        {
            // Only with every gate-gradient row still in place (ComputesDxPerStep). dxPacked[N, I] = dGates[N, G*H] * W_ih[G*H, I], scattered back.
            Span<float> dxPacked = ws.Segment(ws.RowsOffset, N * I);
            Gemm.MultiplyCore(MatrixOp.None, MatrixOp.None, N, I, GH, dGates, GH, w.WeightIh, I, 0f, dxPacked, I, scratch);
            for (int s = 0; s < steps; s++)
            {
                for (int j = 0; j < batchAt[s]; j++)
                {
                    int t = TimeIndex(ws, reverse, s, j);
                    dxPacked.Slice((rowStart[s] + j) * I, I).CopyTo(g.DX.Slice(((t * B) + order[j]) * I, I));
                }
            }
        }

        if (!g.DX.IsEmpty)
        {
            // Padding gets 0.
            for (int t = 0; t < T; t++)
            {
                for (int j = batchAt[t]; j < B; j++)
                {
                    g.DX.Slice(((t * B) + order[j]) * I, I).Clear();
                }
            }
        }
    }

    /// <summary>Whether the backward multiplies each step's single row by W_hh as stored instead of packing it (batch 1).</summary>
    private static bool MultipliesRowInPlace(int batch, int hidden) => batch == 1 && Gemm.MultipliesRowInPlace(hidden);

    /// <summary>
    /// Row stride of the W_hh [G*H, H] the batch-1 backward multiplies each step's row by: H, reading the caller's
    /// <paramref name="weightHh"/>, when its rows start cache lines (H a multiple of 16 floats from a line boundary) or
    /// the pass is short; else H rounded up to 16, a copy in the packed-weight segment. Off a line boundary 3 of every
    /// 4 rows (H = 100), or every row (H = 64 from a misaligned start), split their vector loads over two lines, and the
    /// product, which streams W_hh from L2 each step, ran at half the load rate: [1, 400] x [400, 100] 2.19 us as
    /// stored, 1.48 us on aligned rows, for a 5 us copy per call; from 16 steps on the copy pays ((25, 1, 65, 100) LSTM:
    /// 25 steps). The caller's array may move afterwards, which could only change the speed: the stride is decided once
    /// per pass (<see cref="RecurrentWorkspace.RowInPlaceStride"/>).
    /// </summary>
    private static int RowInPlaceStride(RecurrentWorkspace ws, ReadOnlySpan<float> weightHh)
    {
        int H = ws.HiddenSize, padded = (H + AlignedRowFloats - 1) / AlignedRowFloats * AlignedRowFloats;
        bool linesAligned = padded == H && AlignedMemory.IsAligned(weightHh);
        return linesAligned || ws.Steps < AlignedRowMinSteps ? H : padded;
    }

    /// <summary>Floats per cache line: the row alignment <see cref="RowInPlaceStride"/> pads to.</summary>
    private const int AlignedRowFloats = AlignedMemory.Alignment / sizeof(float);

    /// <summary>Steps from which copying W_hh to aligned rows pays for itself at batch 1 (see <see cref="RowInPlaceStride"/>).</summary>
    internal const int AlignedRowMinSteps = 16;

    /// <summary><paramref name="rows"/> rows of <paramref name="cols"/> floats to rows <paramref name="ld"/> floats apart; the padding is not written.</summary>
    private static void CopyRows(ReadOnlySpan<float> source, int rows, int cols, Span<float> destination, int ld)
    {
        for (int r = 0; r < rows; r++)
        {
            source.Slice(r * cols, cols).CopyTo(destination.Slice(r * ld, cols));
        }
    }

    /// <summary>
    /// The backward time loop over sorted batch positions [<paramref name="j0"/>, <paramref name="j1"/>): all of them on
    /// one thread, a worker's share when <see cref="ParallelSequenceDriver.Backward"/> splits the batch
    /// (<paramref name="sharing"/> then names the pool, the worker and the shared weight-gradient slots). A step's rows
    /// never depend on each other, so each worker runs its own; what sums over all rows waits for the points where
    /// <see cref="WeightGradientBlocks.AddCompleted"/> adds a group of blocks (every 1024 packed rows at most, and at the
    /// last step): there the workers meet, add the bias sums of the steps since the last such point (their rows are
    /// still in the ring) in the one-thread order, steps descending and rows ascending, and the group's dW, each worker
    /// its own hidden units' columns and gate rows, then meet again before anyone writes over those rows. On one thread
    /// the bias sums run step by step, the same additions in the same order. Reads what Backward prepared: the packed
    /// weights and the cleared bias sums.
    /// </summary>
    internal static void BackwardSteps<TCell>(TCell cell, RecurrentWorkspace ws, bool reverse, in LayerWeights w, in SequenceGradients g, in WeightGradients dw, int j0, int j1, Span<float> scratch, ref SlotSharing sharing)
        where TCell : struct, IRecurrentCell
    {
        int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
        int B = ws.BatchSize, steps = ws.Steps, N = ws.TotalRows;
        int[] order = ws.Order, batchAt = ws.BatchAt, rowStart = ws.RowStart;
        bool separate = TCell.HasSeparateRecurrentProjection;
        var buffers = PassBuffers.Of<TCell>(ws, g.Input, g.Output);
        Span<float> gates = buffers.Gates, cs = buffers.Cells, saved = buffers.Saved;
        Span<float> dGates = buffers.DGates, dGatesHidden = buffers.DGatesHidden, dhNext = buffers.DhNext, dcNext = buffers.DcNext, dh = buffers.Dh;
        ReadOnlySpan<float> packedW = ws.Segment(ws.PackedWeightOffset, Gemm.PackedLength(GH, H));
        Span<float> dBias = ws.Segment(ws.BiasGradientOffset, 2 * GH);
        Span<float> dBiasInput = dBias[..GH], dBiasHidden = dBias[GH..];
        bool rowInPlace = MultipliesRowInPlace(B, H);
        int rowStride = ws.RowInPlaceStride;
        ReadOnlySpan<float> rowWeights = rowStride == H ? w.WeightHh : packedW;
        bool dxPerStep = ComputesDxPerStep(ws, !g.DX.IsEmpty);
        ReadOnlySpan<float> packedWih = dxPerStep ? ws.Segment(ws.PackedInputWeightOffset, Gemm.PackedLength(GH, I)) : default;
        Span<float> dxStep = dxPerStep ? ws.Segment(ws.DxStepOffset, B * I) : default;
        bool weightsStream = Gemm.StepWeightsStream(packedW.Length + packedWih.Length);

        // Split by sequences: this worker's hidden units for the bias sums and dW, as the split by units would own them.
        bool split = sharing.IsShared;
        (int u0, int u1) = split ? Partition.Blocks(sharing.Worker, sharing.Workers, H, UnitSlice.Alignment) : (0, H);
        int nextBlock = WeightGradientBlocks.Last(N), unsummed = steps - 1;
        bool prefetchRows = PrefetchesStepRows<TCell>(ws);
        for (int s = steps - 1; s >= 0; s--)
        {
            // This worker's active rows of step s: positions [j0, j0 + rows), none once the batch has shrunk below j0.
            int rows = Math.Min(batchAt[s], j1) - j0;
            if (prefetchRows && s > 0)
            {
                PrefetchBackwardStep<TCell>(ws, reverse, buffers, g, dxPerStep, s - 1, j0, j1);
            }

            if (rows > 0)
            {
                // Sequences whose last step is s start here: dh_n (dc_n) enters as their carried gradient.
                for (int j = Math.Max(batchAt[s + 1], j0); j < j0 + rows; j++)
                {
                    CopyRowOrClear(g.DhN, order[j], dhNext, j, H);
                    if (TCell.HasCellState)
                    {
                        CopyRowOrClear(g.DcN, order[j], dcNext, j, H);
                    }
                }

                // dh_t = dOutput[t] + dhNext
                Span<float> dhS = dh.Slice(j0 * H, rows * H);
                if (g.DOutput.IsEmpty)
                {
                    dhNext.Slice(j0 * H, rows * H).CopyTo(dhS);
                }
                else
                {
                    for (int j = j0; j < j0 + rows; j++)
                    {
                        int t = TimeIndex(ws, reverse, s, j);
                        TensorPrimitives.Add(dhNext.Slice(j * H, H), g.DOutput.Slice(((t * B) + order[j]) * H, H), dh.Slice(j * H, H));
                    }
                }

                int prevRow = ws.StateSlotRow(s) + j0, row = ws.StateSlotRow(s + 1) + j0, packedRow = rowStart[s] + j0;
                Span<float> dGatesHiddenS = StepGateGradients(ws, dGatesHidden, s, GH).Slice(j0 * GH, rows * GH);
                var step = new BackwardStep
                {
                    Rows = rows,
                    Hidden = H,
                    UnitStart = 0,
                    UnitEnd = H,
                    Dh = dhS,
                    DcNext = dcNext.IsEmpty ? default : dcNext.Slice(j0 * H, rows * H),
                    Gates = gates.Slice(packedRow * GH, rows * GH),
                    Saved = saved.IsEmpty ? default : saved.Slice(packedRow * H, rows * H),
                    HPrev = buffers.StateRows(ws, s, j0, rows),
                    H = buffers.StateRows(ws, s + 1, j0, rows),
                    CPrev = cs.IsEmpty ? default : cs.Slice(prevRow * H, rows * H),
                    C = cs.IsEmpty ? default : cs.Slice(row * H, rows * H),
                    DGates = StepGateGradients(ws, dGates, s, GH).Slice(j0 * GH, rows * GH),
                    DGatesHidden = dGatesHiddenS,
                    DhPrevDirect = separate ? dhNext.Slice(j0 * H, rows * H) : default,
                    FetchesNextRow = weightsStream,
                };
                if (ws.RecordGradientNorms)
                {
                    GradientNormRecorder.RecordStep<TCell>(ws, reverse, s, step);
                }

                cell.BackwardStep(step);
                WrapGateGradients<TCell>(ws, buffers, s, 0, H, j0, j1);
                if (dxPerStep)
                {
                    // dx_t[B_s, I] = dGates_s[B_s, G*H] * W_ih, into its block of [T, B, I] or scattered there.
                    if (ws.StepsAreBlocks)
                    {
                        Gemm.MultiplyPackedBlocks(rows, I, GH, step.DGates, GH, packedWih, g.DX.Slice((ws.StepRow(s) + j0) * I, rows * I), I, weightsStream);
                    }
                    else
                    {
                        Gemm.MultiplyPackedBlocks(rows, I, GH, step.DGates, GH, packedWih, dxStep.Slice(j0 * I, rows * I), I, weightsStream);
                        for (int j = j0; j < j0 + rows; j++)
                        {
                            int t = TimeIndex(ws, reverse, s, j);
                            dxStep.Slice(j * I, I).CopyTo(g.DX.Slice(((t * B) + order[j]) * I, I));
                        }
                    }
                }

                if (!split)
                {
                    AddBiasSums<TCell>(ws, s, s, buffers, dBiasInput, dBiasHidden, 0, H);
                }

                // Truncated BPTT: no gradient crosses the chunk boundary between t - 1 and t = k, 2k, ...
                if (g.TruncationWindow > 0 && s > 0 && s % g.TruncationWindow == 0)
                {
                    dhNext.Slice(j0 * H, rows * H).Clear();
                    if (TCell.HasCellState)
                    {
                        dcNext.Slice(j0 * H, rows * H).Clear();
                    }
                }
                else if (rowInPlace)
                {
                    // dh_{t-1} = [direct part +] dGatesHidden_s * W_hh
                    Gemm.MultiplyRowInPlace(H, GH, dGatesHiddenS, rowWeights, rowStride, separate ? 1f : 0f, dhNext);
                }
                else
                {
                    Gemm.MultiplyPackedCore(MatrixOp.None, rows, H, GH, dGatesHiddenS, GH, packedW, separate ? 1f : 0f, dhNext.Slice(j0 * H, rows * H), H, weightsStream);
                }
            }

            // dW_ih += dGates^T * xPacked, dW_hh += dGatesHidden^T * hPrev over the row blocks this step completes.
            if (!split)
            {
                nextBlock = WeightGradientBlocks.AddCompleted<TCell>(ws, s, nextBlock, 0, H, buffers, dw.WeightIh, dw.WeightHh, scratch, ref sharing);
            }
            else if (s == 0 || WeightGradientBlocks.AddsAt(ws, s, nextBlock, sharing, scratch))
            {
                WorkerPool pool = sharing.Pool!;
                pool.Barrier(sharing.Worker);
                AddBiasSums<TCell>(ws, unsummed, s, buffers, dBiasInput, dBiasHidden, u0, u1 - u0);
                unsummed = s - 1;
                nextBlock = WeightGradientBlocks.AddCompleted<TCell>(ws, s, nextBlock, u0, u1 - u0, buffers, dw.WeightIh, dw.WeightHh, scratch, ref sharing);
                pool.Barrier(sharing.Worker);
            }
        }
    }

    /// <summary>
    /// Adds the gate-gradient rows of steps <paramref name="from"/> down to <paramref name="to"/>, rows ascending, to
    /// the bias sums, in the gate columns of units [<paramref name="u0"/>, <paramref name="u0"/> + <paramref name="units"/>):
    /// the one order both drivers use, whatever the split.
    /// </summary>
    private static void AddBiasSums<TCell>(RecurrentWorkspace ws, int from, int to, in PassBuffers buffers, Span<float> dBiasInput, Span<float> dBiasHidden, int u0, int units)
        where TCell : struct, IRecurrentCell
    {
        int H = ws.HiddenSize, GH = TCell.GateCount * H;
        for (int s = from; s >= to; s--)
        {
            Span<float> dGatesS = StepGateGradients(ws, buffers.DGates, s, GH), dGatesHiddenS = StepGateGradients(ws, buffers.DGatesHidden, s, GH);
            for (int j = 0; j < ws.BatchAt[s]; j++)
            {
                if (units == H)
                {
                    TensorPrimitives.Add(dBiasInput, dGatesS.Slice(j * GH, GH), dBiasInput);
                    if (TCell.HasSeparateRecurrentProjection)
                    {
                        TensorPrimitives.Add(dBiasHidden, dGatesHiddenS.Slice(j * GH, GH), dBiasHidden);
                    }

                    continue;
                }

                for (int g = 0; g < TCell.GateCount; g++)
                {
                    int at = (g * H) + u0;
                    TensorPrimitives.Add(dBiasInput.Slice(at, units), dGatesS.Slice((j * GH) + at, units), dBiasInput.Slice(at, units));
                    if (TCell.HasSeparateRecurrentProjection)
                    {
                        TensorPrimitives.Add(dBiasHidden.Slice(at, units), dGatesHiddenS.Slice((j * GH) + at, units), dBiasHidden.Slice(at, units));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Step <paramref name="s"/>'s rows of the inputs in processing order: xPacked[rowStart[s] + j] = x[t, order[j]],
    /// [B_s, I]; the active ones of sorted positions [<paramref name="j0"/>, <paramref name="j1"/>) only, when given.
    /// Nothing when the pass reads x in place (<see cref="PassBuffers.StepInputRows"/>).
    /// </summary>
    internal static void GatherStepInputs(RecurrentWorkspace ws, bool reverse, ReadOnlySpan<float> x, Span<float> xPacked, int s, int j0 = 0, int j1 = int.MaxValue)
    {
        if (ws.ReadsInputInPlace)
        {
            return;
        }

        int I = ws.InputSize, B = ws.BatchSize, first = ws.RowStart[s];
        int[] order = ws.Order;
        for (int j = j0, end = Math.Min(ws.BatchAt[s], j1); j < end; j++)
        {
            int t = TimeIndex(ws, reverse, s, j);
            x.Slice(((t * B) + order[j]) * I, I).CopyTo(xPacked.Slice((first + j) * I, I));
        }
    }

    /// <summary>
    /// Columns [<paramref name="u0"/>, <paramref name="u0"/> + <paramref name="units"/>) of step <paramref name="s"/>'s
    /// states back to the caller's order: output[t, order[j]] = h slot s + 1, row j; the active rows of sorted positions
    /// [<paramref name="j0"/>, <paramref name="j1"/>) only, when given.
    /// </summary>
    internal static void ScatterStepStates(RecurrentWorkspace ws, bool reverse, ReadOnlySpan<float> slots, Span<float> output, int s, int u0, int units, int j0 = 0, int j1 = int.MaxValue)
    {
        if (ws.StatesInOutput)
        {
            return;
        }

        int H = ws.HiddenSize, B = ws.BatchSize, slotRow = ws.StateSlotRow(s + 1);
        int[] order = ws.Order;
        for (int j = j0, end = Math.Min(ws.BatchAt[s], j1); j < end; j++)
        {
            int t = TimeIndex(ws, reverse, s, j);
            slots.Slice(((slotRow + j) * H) + u0, units).CopyTo(output.Slice((((t * B) + order[j]) * H) + u0, units));
        }
    }

    // destination[j] = source[order[j]] (rows of H), or 0 when source is empty.
    private static void GatherRows(ReadOnlySpan<float> source, Span<float> destination, int[] order, int B, int H)
    {
        for (int j = 0; j < B; j++)
        {
            CopyRowOrClear(source, order[j], destination, j, H);
        }
    }

    private static void CopyRowOrClear(ReadOnlySpan<float> source, int sourceRow, Span<float> destination, int destinationRow, int H)
    {
        Span<float> row = destination.Slice(destinationRow * H, H);
        if (source.IsEmpty)
        {
            row.Clear();
        }
        else
        {
            source.Slice(sourceRow * H, H).CopyTo(row);
        }
    }

    // Final state: after each sequence's last step (slot len); a zero-length sequence keeps its initial state (slot 0).
    // Units [u0, u0 + units) of every row: all of them here, a worker's own slice in the parallel driver.
    internal static void ScatterFinalStates(RecurrentWorkspace ws, in PassBuffers buffers, bool cellStates, Span<float> final, int u0 = 0, int units = -1)
    {
        if (final.IsEmpty)
        {
            return;
        }

        int H = ws.HiddenSize;
        units = units < 0 ? H : units;
        for (int j = 0; j < ws.BatchSize; j++)
        {
            int length = ws.SortedLengths[j];
            ReadOnlySpan<float> row = cellStates ? buffers.Cells.Slice((ws.StateSlotRow(length) + j) * H, H) : buffers.StateRows(ws, length, j, 1);
            row.Slice(u0, units).CopyTo(final.Slice((ws.Order[j] * H) + u0, units));
        }
    }

    private static void ScatterInitialGradients(RecurrentWorkspace ws, ReadOnlySpan<float> carried, ReadOnlySpan<float> finalGradient, Span<float> initialGradient)
    {
        if (initialGradient.IsEmpty)
        {
            return;
        }

        int H = ws.HiddenSize;
        for (int j = 0; j < ws.BatchSize; j++)
        {
            if (j < ws.BatchAt[0])
            {
                carried.Slice(j * H, H).CopyTo(initialGradient.Slice(ws.Order[j] * H, H));
            }
            else
            {
                CopyRowOrClear(finalGradient, ws.Order[j], initialGradient, ws.Order[j], H);
            }
        }
    }
}
