// Legend: T time steps, B batch, I input size, H hidden size, G gates, N = sum of lengths (packed rows),
// s processing step, [u0, u0 + U) a worker's hidden units.
using FastRnn.Cells;
using FastRnn.Kernels;

namespace FastRnn.Layers;

/// <summary>
/// The weight gradients <c>dW_ih += dGates^T * xPacked</c> and <c>dW_hh += dGatesHidden^T * hPrev</c>, added block by
/// block inside the backward time loop, while the block's gate gradients are still in cache: after the whole loop they
/// would come back from DRAM (G*H*N floats; 256 MiB for the LSTM at T = 512, B = 64, H = 512).
/// </summary>
/// <remarks>
/// The reduction order over the N packed rows is part of the determinism contract: block b holds rows
/// [b * <see cref="Rows"/>, min((b + 1) * <see cref="Rows"/>, N)); the backward loop completes the blocks from the last
/// to the first, and each is added to dW as it completes, every element as one FMA chain over the block's rows
/// ascending (a block is at most one GEMM K block) plus the running sum. Both drivers, on any number of workers, add
/// the same blocks in the same order, whichever gate columns a worker owns.
/// </remarks>
internal static class WeightGradientBlocks
{
    /// <summary>Packed rows per block: one GEMM K block, so a block's product is a single FMA chain per element.</summary>
    internal const int Rows = Gemm.KC;

    /// <summary>The last block of <paramref name="totalRows"/> packed rows, or -1 when there are none.</summary>
    internal static int Last(int totalRows) => ((totalRows + Rows - 1) / Rows) - 1;

    /// <summary>
    /// Adds the blocks that are complete once processing step <paramref name="step"/> has its gate gradients, from
    /// <paramref name="next"/> down, for the gate columns of units [<paramref name="u0"/>, <paramref name="u0"/> +
    /// <paramref name="units"/>); returns the next block still to add.
    /// </summary>
    internal static int AddCompleted<TCell>(RecurrentWorkspace ws, int step, int next, int u0, int units, in PassBuffers buffers, Span<float> dWeightIh, Span<float> dWeightHh, Span<float> scratch)
        where TCell : struct, IRecurrentCell
    {
        int firstRow = ws.RowStart[step];
        for (; next >= 0 && next * Rows >= firstRow; next--)
        {
            Add<TCell>(ws, next, u0, units, buffers, dWeightIh, dWeightHh, scratch);
        }

        return next;
    }

    // scratch: Gemm.ScratchLength floats: one block of xPacked or hPrev packed NC columns at a time (KC x NC), then an
    // MC x KC block of dGates^T.
    private static void Add<TCell>(RecurrentWorkspace ws, int block, int u0, int units, in PassBuffers buffers, Span<float> dWeightIh, Span<float> dWeightHh, Span<float> scratch)
        where TCell : struct, IRecurrentCell
    {
        int I = ws.InputSize, H = ws.HiddenSize, GH = TCell.GateCount * H;
        int r0 = block * Rows, rows = Math.Min(Rows, ws.TotalRows - r0);
        Span<float> packed = scratch[..(Gemm.KC * Gemm.NC)], packedA = scratch.Slice(Gemm.KC * Gemm.NC, Gemm.PackedALength);

        // dW_ih[own rows of each gate, I] += dGates[r0.., own columns]^T * xPacked[r0.., I]
        ReadOnlySpan<float> xRows = buffers.XPacked.Slice(r0 * I, rows * I);
        for (int jc = 0; jc < I; jc += Gemm.NC)
        {
            int nc = Math.Min(Gemm.NC, I - jc);
            Gemm.PackColumns(MatrixOp.None, rows, jc, nc, xRows, I, packed);
            AddGates<TCell>(units, nc, rows, buffers.DGates[(r0 * GH)..], GH, H, u0, packed, packedA, dWeightIh[jc..], I);
        }

        // dW_hh[own rows of each gate, H] += dGatesHidden[r0.., own columns]^T * hPrev[r0.., H]. Packed row r of step s
        // reads h_{t-1} from state slot s, row r - rowStart[s]: packed straight from the slots, step by step.
        int[] rowStart = ws.RowStart, batchAt = ws.BatchAt;
        int s0 = ws.StepOfRow(r0), s1 = ws.StepOfRow(r0 + rows - 1);
        for (int jc = 0; jc < H; jc += Gemm.NC)
        {
            int nc = Math.Min(Gemm.NC, H - jc);
            for (int s = s0; s <= s1; s++)
            {
                int first = Math.Max(r0, rowStart[s]), end = Math.Min(r0 + rows, rowStart[s] + batchAt[s]);
                int slotRow = ws.StateSlotRow(s) + (first - rowStart[s]);
                Gemm.PackRowsInto(end - first, jc, nc, buffers.States[(slotRow * H)..], H, packed, first - r0, rows);
            }

            AddGates<TCell>(units, nc, rows, buffers.DGatesHidden[(r0 * GH)..], GH, H, u0, packed, packedA, dWeightHh[jc..], H);
        }
    }

    // dW[g*H + u0 + i, 0..n) += sum over r < rows of dG[r, g*H + u0 + i] * packed[r, 0..n), for each gate g and i < units.
    private static void AddGates<TCell>(int units, int n, int rows, ReadOnlySpan<float> dGatesBlock, int ldg, int H, int u0, ReadOnlySpan<float> packed, Span<float> packedA, Span<float> dWeight, int ldw)
        where TCell : struct, IRecurrentCell
    {
        for (int g = 0; g < TCell.GateCount; g++)
        {
            int column = (g * H) + u0;
            Gemm.MultiplyPackedTransposedA(units, n, rows, dGatesBlock[column..], ldg, packed, 1f, dWeight[(column * ldw)..], ldw, packedA);
        }
    }
}
