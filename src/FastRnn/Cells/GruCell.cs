// Legend: B_t active rows, H hidden size; G = 3, gate order r, z, n (PyTorch's), linear-before-reset (cuDNN's form).
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static FastRnn.Kernels.VectorMemory;

namespace FastRnn.Cells;

/// <summary>
/// The GRU step: <c>r = sigmoid(x_r + h_r)</c>, <c>z = sigmoid(x_z + h_z)</c>, <c>n = tanh(x_n + r * (W_hn h + b_hn))</c>,
/// <c>h_t = (1 - z) * n + z * h_{t-1}</c>, where <c>x_* = W_i* x + b_i*</c> and <c>h_* = W_h* h + b_h*</c>.
/// </summary>
/// <remarks>
/// The reset gate multiplies the recurrent projection after the matrix product (linear-before-reset), so the driver
/// keeps <c>W_hh h</c> apart; the cell saves r, z, n in place and <c>W_hn h + b_hn</c> in <c>Saved</c>.
/// </remarks>
internal readonly struct GruCell : IRecurrentCell
{
    internal const int R = 0, Z = 1, N = 2;

    public static int GateCount => 3;

    public static bool HasCellState => false;

    public static bool HasSeparateRecurrentProjection => true;

    // gates: [B_t, 3H] (x side + b_ih, plus b_hh for r and z) -> r, z, n   projection: [B_t, 3H] = W_hh h   saved: [B_t, H]
    public void ForwardStep(in ForwardStep step)
    {
        int H = step.Hidden;
        ReadOnlySpan<float> bHn = step.RecurrentBias.Slice(N * H, H);
        for (int row = 0; row < step.Rows; row++)
        {
            Span<float> gates = step.Gates.Slice(row * 3 * H, 3 * H);
            ReadOnlySpan<float> projection = step.RecurrentProjection.Slice(row * 3 * H, 3 * H);
            Span<float> hn = step.Saved.Slice(row * H, H), h = step.H.Slice(row * H, H);
            Span<float> rz = gates[..(2 * H)], n = gates.Slice(N * H, H);
            TensorPrimitives.Add(rz, projection[..(2 * H)], rz);
            TensorPrimitives.Sigmoid(rz, rz);

            // hn = W_hn h + b_hn;  n = tanh(x_n + r * hn)
            TensorPrimitives.Add(projection.Slice(N * H, H), bHn, hn);
            TensorPrimitives.MultiplyAdd(gates.Slice(R * H, H), hn, n, n);
            TensorPrimitives.Tanh(n, n);

            // h = n + z * (hPrev - n)
            TensorPrimitives.Subtract(step.HPrev.Slice(row * H, H), n, h);
            TensorPrimitives.MultiplyAdd(gates.Slice(Z * H, H), h, n, h);
        }
    }

    // dn = dh (1 - z)   dz = dh (hPrev - n)   dhPrev (direct) = dh z
    // d(n pre) = dn (1 - n^2), the x side of n; the h side is d(n pre) * r (it enters through r * hn)
    // d(r pre) = d(n pre) * hn * r (1 - r)   d(z pre) = dz * z (1 - z)   (same on both sides)
    public void BackwardStep(in BackwardStep step)
    {
        int H = step.Hidden;
        for (int row = 0; row < step.Rows; row++)
        {
            BackwardRow(
                H, ref MemoryMarshal.GetReference(step.Gates.Slice(row * 3 * H, 3 * H)), ref MemoryMarshal.GetReference(step.Saved.Slice(row * H, H)),
                ref MemoryMarshal.GetReference(step.HPrev.Slice(row * H, H)), ref MemoryMarshal.GetReference(step.Dh.Slice(row * H, H)),
                ref MemoryMarshal.GetReference(step.DGates.Slice(row * 3 * H, 3 * H)), ref MemoryMarshal.GetReference(step.DGatesHidden.Slice(row * 3 * H, 3 * H)),
                ref MemoryMarshal.GetReference(step.DhPrevDirect.Slice(row * H, H)));
        }
    }

    private static void BackwardRow(int hidden, ref float gates, ref float hn, ref float hPrev, ref float dh, ref float dx, ref float dhid, ref float direct)
    {
        nint H = hidden;
        nint k = 0;
        var one = Vector<float>.One;
        for (; k <= H - Vector<float>.Count; k += Vector<float>.Count)
        {
            Vector<float> r = Load(ref gates, (R * H) + k), z = Load(ref gates, (Z * H) + k), n = Load(ref gates, (N * H) + k);
            Vector<float> g = Load(ref dh, k);
            Vector<float> dnPre = g * (one - z) * (one - (n * n));
            Vector<float> drPre = dnPre * Load(ref hn, k) * r * (one - r);
            Vector<float> dzPre = g * (Load(ref hPrev, k) - n) * z * (one - z);
            Store(drPre, ref dx, (R * H) + k);
            Store(drPre, ref dhid, (R * H) + k);
            Store(dzPre, ref dx, (Z * H) + k);
            Store(dzPre, ref dhid, (Z * H) + k);
            Store(dnPre, ref dx, (N * H) + k);
            Store(dnPre * r, ref dhid, (N * H) + k);
            Store(g * z, ref direct, k);
        }

        for (; k < H; k++)
        {
            float r = Unsafe.Add(ref gates, (R * H) + k), z = Unsafe.Add(ref gates, (Z * H) + k), n = Unsafe.Add(ref gates, (N * H) + k);
            float g = Unsafe.Add(ref dh, k);
            float dnPre = g * (1f - z) * (1f - (n * n));
            float drPre = dnPre * Unsafe.Add(ref hn, k) * r * (1f - r);
            float dzPre = g * (Unsafe.Add(ref hPrev, k) - n) * z * (1f - z);
            Unsafe.Add(ref dx, (R * H) + k) = drPre;
            Unsafe.Add(ref dhid, (R * H) + k) = drPre;
            Unsafe.Add(ref dx, (Z * H) + k) = dzPre;
            Unsafe.Add(ref dhid, (Z * H) + k) = dzPre;
            Unsafe.Add(ref dx, (N * H) + k) = dnPre;
            Unsafe.Add(ref dhid, (N * H) + k) = dnPre * r;
            Unsafe.Add(ref direct, k) = g * z;
        }
    }
}
