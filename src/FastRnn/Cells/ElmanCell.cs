// Legend: B_t active rows, H hidden size; G = 1.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FastRnn.Kernels;

namespace FastRnn.Cells;

/// <summary>The Elman step <c>h_t = f(z_t)</c>, <c>z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh</c>.</summary>
/// <remarks>Saves nothing beyond <c>h_t</c>: the derivative is taken from the output.</remarks>
internal readonly struct ElmanCell<TActivation>(TActivation activation) : IRecurrentCell
    where TActivation : struct, IActivation
{
    private readonly TActivation _activation = activation;

    public static int GateCount => 1;

    public static bool HasCellState => false;

    public static bool HasSeparateRecurrentProjection => false;

    // gates: [B_t, H] = W_ih x + W_hh h (left as is)  bias: [H]  h: [B_t, H] = f(gates + bias)
    public void ForwardStep(in ForwardStep step)
    {
        switch (VectorDispatch.Current)
        {
            case VectorWidth.W512:
                Forward<Ops512, Vector512<float>>(step);
                break;
            case VectorWidth.W256:
                Forward<Ops256, Vector256<float>>(step);
                break;
            case VectorWidth.W128:
                Forward<Ops128, Vector128<float>>(step);
                break;
            default:
                Forward<OpsScalar, float>(step);
                break;
        }
    }

    // h_t = f(z_t)  =>  dz_t = dh_t * f'(z_t), with f' taken from h_t.
    public void BackwardStep(in BackwardStep step)
    {
        int count = step.Rows * step.Hidden;
        ref float h = ref MemoryMarshal.GetReference(step.H[..count]);
        ref float dh = ref MemoryMarshal.GetReference(step.Dh[..count]);
        ref float dz = ref MemoryMarshal.GetReference(step.DGates[..count]);
        switch (VectorDispatch.Current)
        {
            case VectorWidth.W512:
                Backward<Ops512, Vector512<float>>(count, ref h, ref dh, ref dz);
                break;
            case VectorWidth.W256:
                Backward<Ops256, Vector256<float>>(count, ref h, ref dh, ref dz);
                break;
            case VectorWidth.W128:
                Backward<Ops128, Vector128<float>>(count, ref h, ref dh, ref dz);
                break;
            default:
                Backward<OpsScalar, float>(count, ref h, ref dh, ref dz);
                break;
        }
    }

    private void Forward<TOps, TVector>(in ForwardStep step)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint H = step.Hidden;
        ref float bias = ref MemoryMarshal.GetReference(step.Bias);
        for (nint r = 0; r < step.Rows; r++)
        {
            ref float z = ref Unsafe.Add(ref MemoryMarshal.GetReference(step.Gates), r * H);
            ref float h = ref Unsafe.Add(ref MemoryMarshal.GetReference(step.H), r * H);
            nint k = 0;
            for (; k <= H - TOps.Count; k += TOps.Count)
            {
                ForwardAt<TOps, TVector>(ref z, ref bias, ref h, k);
            }

            for (; k < H; k++)
            {
                ForwardAt<OpsScalar, float>(ref z, ref bias, ref h, k);
            }
        }
    }

    private void Backward<TOps, TVector>(int count, ref float h, ref float dh, ref float dz)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint k = 0;
        for (; k <= count - TOps.Count; k += TOps.Count)
        {
            BackwardAt<TOps, TVector>(ref h, ref dh, ref dz, k);
        }

        for (; k < count; k++)
        {
            BackwardAt<OpsScalar, float>(ref h, ref dh, ref dz, k);
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
