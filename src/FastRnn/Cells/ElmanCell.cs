// Legend: B_t active rows, H hidden size; G = 1.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn.Cells;

/// <summary>The Elman step <c>h_t = f(z_t)</c>, <c>z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh</c>.</summary>
/// <remarks>Saves nothing beyond <c>h_t</c>: the derivative is taken from the output.</remarks>
internal readonly struct ElmanCell<TActivation>(TActivation activation) : IRecurrentCell, IVectorKernel<ForwardStep>, IVectorKernel<BackwardStep>
    where TActivation : struct, IActivation
{
    private readonly TActivation _activation = activation;

    public static int GateCount => 1;

    public static bool HasCellState => false;

    public static bool HasSeparateRecurrentProjection => false;

    public static int FirstSeparateHiddenGradientGate => GateCount;

    public static bool BackwardReadsGates => false;

    // gates: [B_t, H] = W_ih x + W_hh h (left as is)  bias: [H]  h: [B_t, H] = f(gates + bias)
    public void ForwardStep(in ForwardStep step) => VectorDispatch.Run<ElmanCell<TActivation>, ForwardStep>(this, step);

    // h_t = f(z_t)  =>  dz_t = dh_t * f'(z_t), with f' taken from h_t.
    public void BackwardStep(in BackwardStep step) => VectorDispatch.Run<ElmanCell<TActivation>, BackwardStep>(this, step);

    public void Run<TOps, TVector>(in ForwardStep step)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint H = step.Hidden, end = step.UnitEnd;
        ref float bias = ref MemoryMarshal.GetReference(step.Bias);
        for (nint r = 0; r < step.Rows; r++)
        {
            ref float z = ref Unsafe.Add(ref MemoryMarshal.GetReference(step.Gates), r * H);
            ref float h = ref Unsafe.Add(ref MemoryMarshal.GetReference(step.H), r * H);
            var units = new ForwardUnits { Activation = _activation, Z = ref z, Bias = ref bias, H = ref h };
            UnitLoop.Run<ForwardUnits, TOps, TVector>(ref units, step.UnitStart, end);
        }
    }

    // Row by row over [UnitStart, UnitEnd), like the forward step: one loop over all rows * H floats would put a unit
    // in a vector lane on one thread and in the scalar tail of a worker's slice, and the two need not round alike.
    public void Run<TOps, TVector>(in BackwardStep step)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint H = step.Hidden, end = step.UnitEnd;
        for (nint r = 0; r < step.Rows; r++)
        {
            ref float h = ref Unsafe.Add(ref MemoryMarshal.GetReference(step.H), r * H);
            ref float dh = ref Unsafe.Add(ref MemoryMarshal.GetReference(step.Dh), r * H);
            ref float dz = ref Unsafe.Add(ref MemoryMarshal.GetReference(step.DGates), r * H);
            var units = new BackwardUnits { Activation = _activation, H = ref h, Dh = ref dh, Dz = ref dz };
            UnitLoop.Run<BackwardUnits, TOps, TVector>(ref units, step.UnitStart, end);
        }
    }

    // h = f(z + bias) at units k.. of one row
    private ref struct ForwardUnits : IUnitKernel
    {
        public TActivation Activation;
        public ref float Z, Bias, H;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TOps, TVector>(nint k)
            where TOps : struct, IVectorOps<TVector>
            where TVector : struct
            => TOps.Store(Activation.Invoke<TOps, TVector>(TOps.Add(TOps.Load(ref Z, k), TOps.Load(ref Bias, k))), ref H, k);
    }

    // dz = dh * f'(z), f' from h, at units k.. of one row
    private ref struct BackwardUnits : IUnitKernel
    {
        public TActivation Activation;
        public ref float H, Dh, Dz;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TOps, TVector>(nint k)
            where TOps : struct, IVectorOps<TVector>
            where TVector : struct
            => TOps.Store(TOps.Multiply(TOps.Load(ref Dh, k), Activation.DerivativeFromOutput<TOps, TVector>(TOps.Load(ref H, k))), ref Dz, k);
    }
}
