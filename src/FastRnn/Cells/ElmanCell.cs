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
            nint k = step.UnitStart;
            for (; k <= end - TOps.Count; k += TOps.Count)
            {
                ForwardAt<TOps, TVector>(ref z, ref bias, ref h, k);
            }

            for (; k < end; k++)
            {
                ForwardAt<OpsScalar, float>(ref z, ref bias, ref h, k);
            }
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
            nint k = step.UnitStart;
            for (; k <= end - TOps.Count; k += TOps.Count)
            {
                BackwardAt<TOps, TVector>(ref h, ref dh, ref dz, k);
            }

            for (; k < end; k++)
            {
                BackwardAt<OpsScalar, float>(ref h, ref dh, ref dz, k);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ForwardAt<TOps, TVector>(ref float z, ref float bias, ref float h, nint k)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => TOps.Store(_activation.Invoke<TOps, TVector>(TOps.Add(TOps.Load(ref z, k), TOps.Load(ref bias, k))), ref h, k);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void BackwardAt<TOps, TVector>(ref float h, ref float dh, ref float dz, nint k)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => TOps.Store(TOps.Multiply(TOps.Load(ref dh, k), _activation.DerivativeFromOutput<TOps, TVector>(TOps.Load(ref h, k))), ref dz, k);
}
