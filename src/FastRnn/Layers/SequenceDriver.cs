// Legend: T time steps, B batch, I input size, H hidden size, G gates, N = sum of lengths (packed rows),
// s processing step (s = t forward; s = len - 1 - t for the reverse direction), j sorted batch position.
//
// The time loop shared by every cell (oneDNN's grid driver): hoisted input GEMM, then per step the recurrent
// GEMM fused with the cell's pointwise step; backward in reverse time, then the weight and input gradients as
// big GEMMs over all steps at once. See RecurrentWorkspace for the packed layout.
using System.Numerics.Tensors;
using FastRnn.Cells;
using FastRnn.Kernels;

namespace FastRnn.Layers;

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

    // x: [T, B, I]  h0: [B, H] or empty  output: [T, B, H]  hN: [B, H] or empty
    // wIh: [G*H, I]  wHh: [G*H, H]  bIh, bHh: [G*H]
    internal static void Forward<TCell>(
        TCell cell, RecurrentWorkspace ws, bool reverse,
        ReadOnlySpan<float> wIh, ReadOnlySpan<float> wHh, ReadOnlySpan<float> bIh, ReadOnlySpan<float> bHh,
        ReadOnlySpan<float> x, ReadOnlySpan<float> h0, int T, int B,
        Span<float> output, Span<float> hN)
        where TCell : struct, IRecurrentCell
    {
        int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
        int steps = ws.Steps, N = ws.TotalRows;
        int[] order = ws.Order, batchAt = ws.BatchAt, rowStart = ws.RowStart;
        Span<float> xPacked = ws.Segment(ws.XPackedOffset, N * I);
        Span<float> gates = ws.Segment(ws.GatesOffset, N * GH);
        Span<float> states = ws.Segment(ws.StatesOffset, (B + N) * H);
        Span<float> packedW = ws.Segment(ws.PackedWeightOffset, Gemm.PackedLength(H, GH));
        Span<float> scratch = ws.Segment(ws.GemmScratchOffset, Gemm.ScratchLength);

        // Gather the valid inputs in processing order: xPacked[rowStart[s] + j] = x[t, order[j]].
        for (int s = 0; s < steps; s++)
        {
            for (int j = 0; j < batchAt[s]; j++)
            {
                int t = TimeIndex(ws, reverse, s, j);
                x.Slice(((t * B) + order[j]) * I, I).CopyTo(xPacked.Slice((rowStart[s] + j) * I, I));
            }
        }

        // Both biases are folded into the hoisted projection: gates[N, G*H] = b_ih + b_hh + xPacked * W_ih^T.
        Span<float> bias = ws.Segment(ws.BiasOffset, GH);
        TensorPrimitives.Add(bIh, bHh, bias);
        for (int r = 0; r < N; r++)
        {
            bias.CopyTo(gates.Slice(r * GH, GH));
        }

        Gemm.MultiplyCore(MatrixOp.None, MatrixOp.Transpose, N, GH, I, xPacked, I, wIh, I, 1f, gates, GH, scratch);

        // Slot 0 holds h0 in sorted order.
        for (int j = 0; j < B; j++)
        {
            Span<float> slot = states.Slice(j * H, H);
            if (h0.IsEmpty)
            {
                slot.Clear();
            }
            else
            {
                h0.Slice(order[j] * H, H).CopyTo(slot);
            }
        }

        // W_hh^T [H, G*H] is packed once and reused by every step.
        Gemm.PackB(MatrixOp.Transpose, H, GH, wHh, H, packedW);
        for (int s = 0; s < steps; s++)
        {
            int rows = batchAt[s];
            Span<float> hPrev = states.Slice(ws.StateSlotRow(s) * H, rows * H);
            Span<float> gatesS = gates.Slice(rowStart[s] * GH, rows * GH);
            Span<float> h = states.Slice(ws.StateSlotRow(s + 1) * H, rows * H);

            // gates_s[B_s, G*H] += h_{t-1}[B_s, H] * W_hh^T, then the cell's pointwise step.
            Gemm.MultiplyPacked(MatrixOp.None, rows, GH, H, hPrev, H, packedW, 1f, gatesS, GH);
            cell.ForwardStep(rows, H, gatesS, hPrev, h);
        }

        // Scatter the states back to [T, B, H]; every padded position is written as 0.
        for (int s = 0; s < steps; s++)
        {
            int slotRow = ws.StateSlotRow(s + 1);
            for (int j = 0; j < batchAt[s]; j++)
            {
                int t = TimeIndex(ws, reverse, s, j);
                states.Slice((slotRow + j) * H, H).CopyTo(output.Slice(((t * B) + order[j]) * H, H));
            }
        }

        for (int t = 0; t < T; t++)
        {
            for (int j = batchAt[t]; j < B; j++)
            {
                output.Slice(((t * B) + order[j]) * H, H).Clear();
            }
        }

        if (!hN.IsEmpty)
        {
            // h_n: the state after each sequence's last step (slot len); a zero-length sequence keeps h0 (slot 0).
            for (int j = 0; j < B; j++)
            {
                int length = ws.SortedLengths[j];
                int row = length == 0 ? j : ws.StateSlotRow(length) + j;
                states.Slice(row * H, H).CopyTo(hN.Slice(order[j] * H, H));
            }
        }
    }

    // dOutput: [T, B, H] or empty (zero)  dhN: [B, H] or empty  dX: [T, B, I] or empty (not computed)  dh0: [B, H] or empty
    // dWIh: [G*H, I] +=  dWHh: [G*H, H] +=  dBIh, dBHh: [G*H] +=
    internal static void Backward<TCell>(
        TCell cell, RecurrentWorkspace ws, bool reverse,
        ReadOnlySpan<float> wIh, ReadOnlySpan<float> wHh,
        ReadOnlySpan<float> dOutput, ReadOnlySpan<float> dhN, int truncationWindow,
        Span<float> dX, Span<float> dh0,
        Span<float> dWIh, Span<float> dWHh, Span<float> dBIh, Span<float> dBHh)
        where TCell : struct, IRecurrentCell
    {
        int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
        int T = ws.SequenceLength, B = ws.BatchSize, steps = ws.Steps, N = ws.TotalRows;
        int[] order = ws.Order, batchAt = ws.BatchAt, rowStart = ws.RowStart;
        Span<float> xPacked = ws.Segment(ws.XPackedOffset, N * I);
        Span<float> gates = ws.Segment(ws.GatesOffset, N * GH);
        Span<float> states = ws.Segment(ws.StatesOffset, (B + N) * H);
        Span<float> dGates = ws.Segment(ws.DGatesOffset, N * GH);
        Span<float> dhNext = ws.Segment(ws.DhNextOffset, B * H);
        Span<float> dh = ws.Segment(ws.DhOffset, B * H);
        Span<float> packedW = ws.Segment(ws.PackedWeightOffset, Gemm.PackedLength(GH, H));
        Span<float> scratch = ws.Segment(ws.GemmScratchOffset, Gemm.ScratchLength);

        // W_hh [G*H, H] packed once: dhNext[B_s, H] = dGates_s[B_s, G*H] * W_hh.
        Gemm.PackB(MatrixOp.None, GH, H, wHh, H, packedW);
        for (int s = steps - 1; s >= 0; s--)
        {
            int rows = batchAt[s];

            // Sequences whose last step is s start here: dh_n enters as their carried gradient.
            for (int j = batchAt[s + 1]; j < rows; j++)
            {
                Span<float> carried = dhNext.Slice(j * H, H);
                if (dhN.IsEmpty)
                {
                    carried.Clear();
                }
                else
                {
                    dhN.Slice(order[j] * H, H).CopyTo(carried);
                }
            }

            // dh_t = dOutput[t] + dhNext
            Span<float> dhS = dh[..(rows * H)];
            if (dOutput.IsEmpty)
            {
                dhNext[..(rows * H)].CopyTo(dhS);
            }
            else
            {
                for (int j = 0; j < rows; j++)
                {
                    int t = TimeIndex(ws, reverse, s, j);
                    TensorPrimitives.Add(dhNext.Slice(j * H, H), dOutput.Slice(((t * B) + order[j]) * H, H), dhS.Slice(j * H, H));
                }
            }

            Span<float> dGatesS = dGates.Slice(rowStart[s] * GH, rows * GH);
            cell.BackwardStep(
                rows, H, dhS, gates.Slice(rowStart[s] * GH, rows * GH),
                states.Slice(ws.StateSlotRow(s) * H, rows * H), states.Slice(ws.StateSlotRow(s + 1) * H, rows * H), dGatesS);

            // Truncated BPTT: no gradient crosses the chunk boundary between t - 1 and t = k, 2k, ...
            if (truncationWindow > 0 && s > 0 && s % truncationWindow == 0)
            {
                dhNext[..(rows * H)].Clear();
            }
            else
            {
                Gemm.MultiplyPacked(MatrixOp.None, rows, H, GH, dGatesS, GH, packedW, 0f, dhNext, H);
            }
        }

        if (!dh0.IsEmpty)
        {
            // Rows active at step 0 carry dh0; zero-length sequences pass dh_n straight through.
            for (int j = 0; j < B; j++)
            {
                Span<float> destination = dh0.Slice(order[j] * H, H);
                if (j < batchAt[0])
                {
                    dhNext.Slice(j * H, H).CopyTo(destination);
                }
                else if (dhN.IsEmpty)
                {
                    destination.Clear();
                }
                else
                {
                    dhN.Slice(order[j] * H, H).CopyTo(destination);
                }
            }
        }

        // Parameter gradients over all N rows at once.
        // db += sum_rows dGates (both biases see the same gradient: they are added to the same pre-activation)
        for (int r = 0; r < N; r++)
        {
            ReadOnlySpan<float> row = dGates.Slice(r * GH, GH);
            TensorPrimitives.Add(dBIh, row, dBIh);
            TensorPrimitives.Add(dBHh, row, dBHh);
        }

        // dW_ih[G*H, I] += dGates^T[G*H, N] * xPacked[N, I]
        Gemm.MultiplyCore(MatrixOp.Transpose, MatrixOp.None, GH, I, N, dGates, GH, xPacked, I, 1f, dWIh, I, scratch);

        // dW_hh[G*H, H] += dGates^T * hPrev[N, H]; hPrev rows are contiguous only when no sequence ends early.
        ReadOnlySpan<float> hPrevRows = states[..(N * H)];
        if (N != steps * B)
        {
            Span<float> gathered = ws.Segment(ws.RowsOffset, N * H);
            for (int s = 0; s < steps; s++)
            {
                states.Slice(ws.StateSlotRow(s) * H, batchAt[s] * H).CopyTo(gathered.Slice(rowStart[s] * H, batchAt[s] * H));
            }

            hPrevRows = gathered;
        }

        Gemm.MultiplyCore(MatrixOp.Transpose, MatrixOp.None, GH, H, N, dGates, GH, hPrevRows, H, 1f, dWHh, H, scratch);

        if (!dX.IsEmpty)
        {
            // dxPacked[N, I] = dGates[N, G*H] * W_ih[G*H, I], scattered back; padding gets 0.
            Span<float> dxPacked = ws.Segment(ws.RowsOffset, N * I);
            Gemm.MultiplyCore(MatrixOp.None, MatrixOp.None, N, I, GH, dGates, GH, wIh, I, 0f, dxPacked, I, scratch);
            for (int s = 0; s < steps; s++)
            {
                for (int j = 0; j < batchAt[s]; j++)
                {
                    int t = TimeIndex(ws, reverse, s, j);
                    dxPacked.Slice((rowStart[s] + j) * I, I).CopyTo(dX.Slice(((t * B) + order[j]) * I, I));
                }
            }

            for (int t = 0; t < T; t++)
            {
                for (int j = batchAt[t]; j < B; j++)
                {
                    dX.Slice(((t * B) + order[j]) * I, I).Clear();
                }
            }
        }
    }
}
