// Legend: B_t active rows, H hidden size; G = 3, gate order r, z, n (PyTorch's), linear-before-reset (cuDNN's form).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn.Cells;

/// <summary>
/// The GRU step: <c>r = sigmoid(x_r + h_r)</c>, <c>z = sigmoid(x_z + h_z)</c>, <c>n = tanh(x_n + r * (W_hn h + b_hn))</c>,
/// <c>h_t = (1 - z) * n + z * h_{t-1}</c>, where <c>x_* = W_i* x + b_i*</c> and <c>h_* = W_h* h + b_h*</c>.
/// </summary>
/// <remarks>
/// The reset gate multiplies the recurrent projection after the matrix product (linear-before-reset), so the driver
/// keeps <c>W_hh h</c> apart; the cell saves r, z, n in place and <c>W_hn h + b_hn</c> in <c>Saved</c>. Two fused passes per row (r and z, then n and h).
/// </remarks>
internal readonly struct GruCell : IRecurrentCell, IVectorKernel<ForwardStep>, IVectorKernel<BackwardStep>
{
    internal const int R = 0, Z = 1, N = 2;

    public static int GateCount => 3;

    public static bool HasCellState => false;

    public static bool HasSeparateRecurrentProjection => true;

    // r and z get the same gradients on both sides; n's hidden side is d(n pre) * r (see BackwardUnits).
    public static int FirstSeparateHiddenGradientGate => N;

    public static bool BackwardReadsGates => true;

    public void ForwardStep(in ForwardStep step) => VectorDispatch.Run<GruCell, ForwardStep>(this, step);

    public void BackwardStep(in BackwardStep step) => VectorDispatch.Run<GruCell, BackwardStep>(this, step);

    // gates: [B_t, 3H] = W_ih x -> r, z, n   bias: [3H] (b_ih + b_hh for r and z, b_in for n)   projection: [B_t, 3H] = W_hh h
    // saved: [B_t, H] = W_hn h + b_hn
    public void Run<TOps, TVector>(in ForwardStep step)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint H = step.Hidden, start = step.UnitStart, end = step.UnitEnd;
        ref float gates = ref MemoryMarshal.GetReference(step.Gates);
        ref float pre = ref step.PreActivations.IsEmpty ? ref gates : ref MemoryMarshal.GetReference(step.PreActivations);
        ref float projection = ref MemoryMarshal.GetReference(step.RecurrentProjection);
        ref float bHn = ref Unsafe.Add(ref MemoryMarshal.GetReference(step.RecurrentBias), N * H);
        ref float bias = ref MemoryMarshal.GetReference(step.Bias);
        ref float hn = ref MemoryMarshal.GetReference(step.Saved);
        ref float hPrev = ref MemoryMarshal.GetReference(step.HPrev);
        ref float h = ref MemoryMarshal.GetReference(step.H);
        for (nint r = 0; r < step.Rows; r++)
        {
            ref float gatesRow = ref Unsafe.Add(ref gates, r * 3 * H);
            ref float preRow = ref Unsafe.Add(ref pre, r * 3 * H);
            ref float projectionRow = ref Unsafe.Add(ref projection, r * 3 * H);
            nint row = r * H;

            // Two passes over the row, as in the LSTM: n waits on r, so r and z go first for the whole row (two
            // independent chains per position), then n and h: the B = 16, H = 128 step went from 16.2-17.3 to 13.9 ns
            // per 16 units on Zen 5. Same operations on the same inputs: same bits.
            var resetUpdate = new ResetUpdateUnits { Hidden = H, AddsProjection = !step.FusedRecurrentProduct, Pre = ref preRow, Gates = ref gatesRow, Projection = ref projectionRow, Bias = ref bias };
            UnitLoop.Run<ResetUpdateUnits, TOps, TVector>(ref resetUpdate, start, end);
            var newState = new NewStateUnits { Hidden = H, Row = row, Pre = ref preRow, Gates = ref gatesRow, Projection = ref projectionRow, Bias = ref bias, BHn = ref bHn, Hn = ref hn, HPrev = ref hPrev, H = ref h };
            UnitLoop.Run<NewStateUnits, TOps, TVector>(ref newState, start, end);
        }
    }

    public void Run<TOps, TVector>(in BackwardStep step)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint H = step.Hidden, start = step.UnitStart, end = step.UnitEnd;
        ref float gates = ref MemoryMarshal.GetReference(step.Gates);
        ref float hn = ref MemoryMarshal.GetReference(step.Saved);
        ref float hPrev = ref MemoryMarshal.GetReference(step.HPrev);
        ref float dh = ref MemoryMarshal.GetReference(step.Dh);
        ref float dx = ref MemoryMarshal.GetReference(step.DGates);
        ref float dhid = ref MemoryMarshal.GetReference(step.DGatesHidden);
        ref float direct = ref MemoryMarshal.GetReference(step.DhPrevDirect);
        for (nint r = 0; r < step.Rows; r++)
        {
            nint gateRow = r * 3 * H, row = r * H;
            var units = new BackwardUnits
            {
                Hidden = H, Row = row, Gates = ref Unsafe.Add(ref gates, gateRow), DGates = ref Unsafe.Add(ref dx, gateRow), DGatesHidden = ref Unsafe.Add(ref dhid, gateRow),
                Hn = ref hn, HPrev = ref hPrev, Dh = ref dh, DhPrevDirect = ref direct,
            };
            UnitLoop.Run<BackwardUnits, TOps, TVector>(ref units, start, end);
        }
    }

    private ref struct ResetUpdateUnits : IUnitKernel
    {
        public nint Hidden;

        /// <summary>Whether W_hh h comes from the projection; false when the fused step product put it in pre already.</summary>
        public bool AddsProjection;
        public ref float Pre, Gates, Projection, Bias;

        // r, z = sigmoid(x + W_hh h + bias), saved in place of their pre-activations (pre may be gates itself: its n
        // block, which NewStateUnits reads, is not written here)
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TOps, TVector>(nint k)
            where TOps : struct, IVectorOps<TVector>
            where TVector : struct
        {
            TVector rPre = TOps.Load(ref Pre, (R * Hidden) + k), zPre = TOps.Load(ref Pre, (Z * Hidden) + k);
            if (AddsProjection)
            {
                rPre = TOps.Add(rPre, TOps.Load(ref Projection, (R * Hidden) + k));
                zPre = TOps.Add(zPre, TOps.Load(ref Projection, (Z * Hidden) + k));
            }

            TVector r = VectorMath.Sigmoid<TOps, TVector>(TOps.Add(rPre, TOps.Load(ref Bias, (R * Hidden) + k)));
            TVector z = VectorMath.Sigmoid<TOps, TVector>(TOps.Add(zPre, TOps.Load(ref Bias, (Z * Hidden) + k)));
            TOps.Store(r, ref Gates, (R * Hidden) + k);
            TOps.Store(z, ref Gates, (Z * Hidden) + k);
        }
    }

    private ref struct NewStateUnits : IUnitKernel
    {
        public nint Hidden, Row;
        public ref float Pre, Gates, Projection, Bias, BHn, Hn, HPrev, H;

        // hn = W_hn h + b_hn;  n = tanh(x_n + r * hn);  h = n + z * (hPrev - n)
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TOps, TVector>(nint k)
            where TOps : struct, IVectorOps<TVector>
            where TVector : struct
        {
            TVector r = TOps.Load(ref Gates, (R * Hidden) + k), z = TOps.Load(ref Gates, (Z * Hidden) + k);
            TVector hnk = TOps.Add(TOps.Load(ref Projection, (N * Hidden) + k), TOps.Load(ref BHn, k));
            TVector n = VectorMath.Tanh<TOps, TVector>(TOps.MultiplyAdd(r, hnk, TOps.Add(TOps.Load(ref Pre, (N * Hidden) + k), TOps.Load(ref Bias, (N * Hidden) + k))));
            TOps.Store(n, ref Gates, (N * Hidden) + k);
            TOps.Store(hnk, ref Hn, Row + k);
            TOps.Store(TOps.MultiplyAdd(z, TOps.Subtract(TOps.Load(ref HPrev, Row + k), n), n), ref H, Row + k);
        }
    }

    private ref struct BackwardUnits : IUnitKernel
    {
        public nint Hidden, Row;
        public ref float Gates, DGates, DGatesHidden, Hn, HPrev, Dh, DhPrevDirect;

        // dn = dh (1 - z)   dz = dh (hPrev - n)   dhPrev (direct) = dh z
        // d(n pre) = dn (1 - n^2), the x side of n; the h side is d(n pre) * r (it enters through r * hn)
        // d(r pre) = d(n pre) * hn * r (1 - r)   d(z pre) = dz * z (1 - z)   (same on both sides)
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TOps, TVector>(nint k)
            where TOps : struct, IVectorOps<TVector>
            where TVector : struct
        {
            TVector one = TOps.Broadcast(1f);
            TVector r = TOps.Load(ref Gates, (R * Hidden) + k), z = TOps.Load(ref Gates, (Z * Hidden) + k), n = TOps.Load(ref Gates, (N * Hidden) + k);
            TVector g = TOps.Load(ref Dh, Row + k);
            TVector dnPre = TOps.Multiply(TOps.Multiply(g, TOps.Subtract(one, z)), TOps.Subtract(one, TOps.Multiply(n, n)));
            TVector drPre = TOps.Multiply(TOps.Multiply(dnPre, TOps.Load(ref Hn, Row + k)), TOps.Multiply(r, TOps.Subtract(one, r)));
            TVector dzPre = TOps.Multiply(TOps.Multiply(g, TOps.Subtract(TOps.Load(ref HPrev, Row + k), n)), TOps.Multiply(z, TOps.Subtract(one, z)));
            TOps.Store(drPre, ref DGates, (R * Hidden) + k);
            TOps.Store(drPre, ref DGatesHidden, (R * Hidden) + k);
            TOps.Store(dzPre, ref DGates, (Z * Hidden) + k);
            TOps.Store(dzPre, ref DGatesHidden, (Z * Hidden) + k);
            TOps.Store(dnPre, ref DGates, (N * Hidden) + k);
            TOps.Store(TOps.Multiply(dnPre, r), ref DGatesHidden, (N * Hidden) + k);
            TOps.Store(TOps.Multiply(g, z), ref DhPrevDirect, Row + k);
        }
    }
}
