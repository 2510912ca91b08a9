// Legend: T time steps, B_s rows active at processing step s, H hidden size; s processing step, j sorted batch position.
//
// Per-step gradient norms taken from the BPTT pass itself: the driver hands each step's spans here just before the
// cell's backward step (when RecurrentWorkspace.RecordGradientNorms is on), while dh_t = dOutput[t] + dhNext is formed
// and dcNext still holds the carried cell gradient (the LSTM cell overwrites it in place). Each active row's squared
// norm is added, in double, at that row's time index: for a reverse layer the rows of one processing step belong to
// different times (t = len_j - 1 - s), so the batch's norm at time t is assembled across processing steps.
using FastRnn.Cells;
using FastRnn.Layers;

namespace FastRnn.Diagnostics;

internal static class GradientNormRecorder
{
    // dh, dcNext, c: [B_s, H]  gates: [B_s, G*H] post-activation (LSTM: i, f, g, o)
    internal static void RecordStep<TCell>(RecurrentWorkspace ws, bool reverse, int s, in BackwardStep step)
        where TCell : struct, IRecurrentCell
    {
        int H = step.Hidden, GH = TCell.GateCount * H;
        Span<double> hidden = ws.HiddenSquaresAccumulator;
        Span<double> cell = ws.CellSquaresAccumulator;
        for (int j = 0; j < step.Rows; j++)
        {
            int t = reverse ? ws.SortedLengths[j] - 1 - s : s;
            ReadOnlySpan<float> dh = step.Dh.Slice(j * H, H);
            hidden[t] += SumOfSquares(dh);
            if (TCell.HasCellState)
            {
                // The total dL/dc_t, as the LSTM cell forms it: dc = dcNext + dh * o * (1 - tanh^2(c_t)).
                ReadOnlySpan<float> dcNext = step.DcNext.Slice(j * H, H);
                ReadOnlySpan<float> o = step.Gates.Slice((j * GH) + (LstmCell.O * H), H);
                ReadOnlySpan<float> c = step.C.Slice(j * H, H);
                double sum = 0;
                for (int k = 0; k < H; k++)
                {
                    double tc = Math.Tanh(c[k]);
                    double dc = dcNext[k] + ((double)dh[k] * o[k] * (1 - (tc * tc)));
                    sum += dc * dc;
                }

                cell[t] += sum;
            }
        }
    }

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values)
        {
            sum += (double)v * v;
        }

        return sum;
    }
}
