// Legend: B_t active rows, H hidden size; G = 4, gate order i, f, g, o (PyTorch's), each a block of H per row.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn.Cells;

/// <summary>The LSTM step: <c>c_t = f*c_{t-1} + i*g</c>, <c>h_t = o*tanh(c_t)</c>, with i, f, o sigmoid and g tanh.</summary>
/// <remarks>
/// Two fused passes per row (oneDNN's post-GEMM, split where tanh(c) waits on the gates): i, f, g, o and c, then h.
/// Saves the post-activation gates in place; <c>tanh(c_t)</c> is recomputed in backward from the saved <c>c_t</c>.
/// </remarks>
internal readonly struct LstmCell : IRecurrentCell, IVectorKernel<ForwardStep>, IVectorKernel<BackwardStep>
{
    internal const int I = 0, F = 1, G = 2, O = 3;

    public static int GateCount => 4;

    public static bool HasCellState => true;

    public static bool HasSeparateRecurrentProjection => false;

    public static int FirstSeparateHiddenGradientGate => GateCount;

    public static bool BackwardReadsGates => true;

    public void ForwardStep(in ForwardStep step) => VectorDispatch.Run<LstmCell, ForwardStep>(this, step);

    public void BackwardStep(in BackwardStep step) => VectorDispatch.Run<LstmCell, BackwardStep>(this, step);

    // gates: [B_t, 4H] pre-activations -> post-activations (saved)  cPrev, c, h: [B_t, H]
    public void Run<TOps, TVector>(in ForwardStep step)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint H = step.Hidden, start = step.UnitStart, end = step.UnitEnd;
        ref float gates = ref MemoryMarshal.GetReference(step.Gates);
        ref float pre = ref step.PreActivations.IsEmpty ? ref gates : ref MemoryMarshal.GetReference(step.PreActivations);
        ref float cPrev = ref MemoryMarshal.GetReference(step.CPrev);
        ref float c = ref MemoryMarshal.GetReference(step.C);
        ref float h = ref MemoryMarshal.GetReference(step.H);
        ref float bias = ref MemoryMarshal.GetReference(step.Bias);
        for (nint r = 0; r < step.Rows; r++)
        {
            ref float gatesRow = ref Unsafe.Add(ref gates, r * 4 * H);
            ref float preRow = ref Unsafe.Add(ref pre, r * 4 * H);
            nint row = r * H;

            // Two passes over the row: tanh(c_t) waits on three activations, and with all five in one loop body
            // (~220 instructions, two exp chains deep) the core held only about two positions in flight. The gates
            // pass has four independent chains per position, the h pass a short body, so both overlap positions: the
            // B = 16, H = 128 step went from 24.5-26.2 to 19.3-19.5 ns per 16 units on Zen 5. Same operations on the
            // same inputs: same bits.
            var gateUnits = new GateUnits { Hidden = H, Row = row, Pre = ref preRow, Gates = ref gatesRow, Bias = ref bias, CPrev = ref cPrev, C = ref c };
            UnitLoop.Run<GateUnits, TOps, TVector>(ref gateUnits, start, end);
            var outputUnits = new OutputUnits { Hidden = H, Row = row, Gates = ref gatesRow, C = ref c, H = ref h };
            UnitLoop.Run<OutputUnits, TOps, TVector>(ref outputUnits, start, end);
        }
    }

    public void Run<TOps, TVector>(in BackwardStep step)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        if (step.FetchesNextRow)
        {
            BackwardRows<NextRowFetch, TOps, TVector>(step);
        }
        else
        {
            BackwardRows<NoRowFetch, TOps, TVector>(step);
        }
    }

    private static void BackwardRows<TFetch, TOps, TVector>(in BackwardStep step)
        where TFetch : struct, IRowFetch
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint H = step.Hidden, start = step.UnitStart, end = step.UnitEnd;
        ref float gates = ref MemoryMarshal.GetReference(step.Gates);
        ref float dGates = ref MemoryMarshal.GetReference(step.DGates);
        ref float cPrev = ref MemoryMarshal.GetReference(step.CPrev);
        ref float c = ref MemoryMarshal.GetReference(step.C);
        ref float dh = ref MemoryMarshal.GetReference(step.Dh);
        ref float dcNext = ref MemoryMarshal.GetReference(step.DcNext);
        for (nint r = 0; r < step.Rows; r++)
        {
            // The last row asks for its own lines again: already there, and no address past the buffers.
            nint next = TFetch.FetchesNextRow && r + 1 < step.Rows ? 1 : 0;
            ref float gatesRow = ref Unsafe.Add(ref gates, r * 4 * H);
            ref float dGatesRow = ref Unsafe.Add(ref dGates, r * 4 * H);
            var units = new BackwardUnits<TFetch> { Hidden = H, Row = r * H, NextGates = next * 4 * H, NextRow = next * H, Gates = ref gatesRow, DGates = ref dGatesRow, CPrev = ref cPrev, C = ref c, Dh = ref dh, DcNext = ref dcNext };
            UnitLoop.Run<BackwardUnits<TFetch>, TOps, TVector>(ref units, start, end);
        }
    }

    private ref struct GateUnits : IUnitKernel
    {
        public nint Hidden, Row;
        public ref float Pre, Gates, Bias, CPrev, C;

        // i, f, g, o = act(pre + bias), saved in place of the pre-activations;  c = f * cPrev + i * g
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TOps, TVector>(nint k)
            where TOps : struct, IVectorOps<TVector>
            where TVector : struct
        {
            TVector i = VectorMath.Sigmoid<TOps, TVector>(TOps.Add(TOps.Load(ref Pre, (I * Hidden) + k), TOps.Load(ref Bias, (I * Hidden) + k)));
            TVector f = VectorMath.Sigmoid<TOps, TVector>(TOps.Add(TOps.Load(ref Pre, (F * Hidden) + k), TOps.Load(ref Bias, (F * Hidden) + k)));
            TVector g = VectorMath.Tanh<TOps, TVector>(TOps.Add(TOps.Load(ref Pre, (G * Hidden) + k), TOps.Load(ref Bias, (G * Hidden) + k)));
            TVector o = VectorMath.Sigmoid<TOps, TVector>(TOps.Add(TOps.Load(ref Pre, (O * Hidden) + k), TOps.Load(ref Bias, (O * Hidden) + k)));
            TOps.Store(i, ref Gates, (I * Hidden) + k);
            TOps.Store(f, ref Gates, (F * Hidden) + k);
            TOps.Store(g, ref Gates, (G * Hidden) + k);
            TOps.Store(o, ref Gates, (O * Hidden) + k);
            TOps.Store(TOps.MultiplyAdd(f, TOps.Load(ref CPrev, Row + k), TOps.Multiply(i, g)), ref C, Row + k);
        }
    }

    private ref struct OutputUnits : IUnitKernel
    {
        public nint Hidden, Row;
        public ref float Gates, C, H;

        // h = o * tanh(c)
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TOps, TVector>(nint k)
            where TOps : struct, IVectorOps<TVector>
            where TVector : struct
            => TOps.Store(TOps.Multiply(TOps.Load(ref Gates, (O * Hidden) + k), VectorMath.Tanh<TOps, TVector>(TOps.Load(ref C, Row + k))), ref H, Row + k);
    }

    private ref struct BackwardUnits<TFetch> : IUnitKernel
        where TFetch : struct, IRowFetch
    {
        public nint Hidden, Row;

        // Floats from this row to the next in the gate rows (4H) and in the [B_t, H] rows (H); 0 on the last row.
        public nint NextGates, NextRow;
        public ref float Gates, DGates, CPrev, C, Dh, DcNext;

        // With tc = tanh(c_t) and dc = dcNext + dh * o * (1 - tc^2):
        //   d(i pre) = dc * g * i (1 - i)      d(f pre) = dc * cPrev * f (1 - f)
        //   d(g pre) = dc * i * (1 - g^2)      d(o pre) = dh * tc * o (1 - o)      dcPrev = dc * f
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TOps, TVector>(nint k)
            where TOps : struct, IVectorOps<TVector>
            where TVector : struct
        {
            if (TFetch.FetchesNextRow)
            {
                // The next row's saved gates, c_t and c_{t-1} (from DRAM when the saved rows are past the caches) and its
                // gate-gradient lines (written next). (512, 64, 256, 512) LSTM training step: the backward cell's share of
                // the samples 2.3 -> 1.8%, the step 142.5-144.1 -> 144.2-144.5 GFLOP/s. In cache, the ten hints cost more
                // than they save (the cell over [64, 512] in L2: 26-27 -> 28-29 us), hence only with streamed weights.
                for (int gate = 0; gate < 4; gate++)
                {
                    Prefetch.LineToL1(ref Unsafe.Add(ref Gates, NextGates + (gate * Hidden) + k));
                    Prefetch.LineToL1(ref Unsafe.Add(ref DGates, NextGates + (gate * Hidden) + k));
                }

                Prefetch.LineToL1(ref Unsafe.Add(ref C, Row + NextRow + k));
                Prefetch.LineToL1(ref Unsafe.Add(ref CPrev, Row + NextRow + k));
            }

            TVector one = TOps.Broadcast(1f);
            TVector i = TOps.Load(ref Gates, (I * Hidden) + k), f = TOps.Load(ref Gates, (F * Hidden) + k);
            TVector g = TOps.Load(ref Gates, (G * Hidden) + k), o = TOps.Load(ref Gates, (O * Hidden) + k);
            TVector tc = VectorMath.Tanh<TOps, TVector>(TOps.Load(ref C, Row + k));
            TVector dhk = TOps.Load(ref Dh, Row + k);
            TVector dc = TOps.MultiplyAdd(TOps.Multiply(dhk, o), TOps.Subtract(one, TOps.Multiply(tc, tc)), TOps.Load(ref DcNext, Row + k));
            TOps.Store(TOps.Multiply(TOps.Multiply(dc, g), TOps.Multiply(i, TOps.Subtract(one, i))), ref DGates, (I * Hidden) + k);
            TOps.Store(TOps.Multiply(TOps.Multiply(dc, TOps.Load(ref CPrev, Row + k)), TOps.Multiply(f, TOps.Subtract(one, f))), ref DGates, (F * Hidden) + k);
            TOps.Store(TOps.Multiply(TOps.Multiply(dc, i), TOps.Subtract(one, TOps.Multiply(g, g))), ref DGates, (G * Hidden) + k);
            TOps.Store(TOps.Multiply(TOps.Multiply(dhk, tc), TOps.Multiply(o, TOps.Subtract(one, o))), ref DGates, (O * Hidden) + k);
            TOps.Store(TOps.Multiply(dc, f), ref DcNext, Row + k);
        }
    }
}
