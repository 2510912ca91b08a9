// Legend: B_t active rows, H hidden size; G = 4, gate order i, f, g, o (PyTorch's), each a block of H per row.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static FastRnn.Kernels.VectorMemory;

namespace FastRnn.Cells;

/// <summary>The LSTM step: <c>c_t = f*c_{t-1} + i*g</c>, <c>h_t = o*tanh(c_t)</c>, with i, f, o sigmoid and g tanh.</summary>
/// <remarks>Saves the post-activation gates in place; <c>tanh(c_t)</c> is recomputed in backward from the saved <c>c_t</c>.</remarks>
internal readonly struct LstmCell : IRecurrentCell
{
    internal const int I = 0, F = 1, G = 2, O = 3;

    public static int GateCount => 4;

    public static bool HasCellState => true;

    public static bool HasSeparateRecurrentProjection => false;

    // gates: [B_t, 4H] pre-activations -> post-activations (saved)  c, h: [B_t, H]
    public void ForwardStep(in ForwardStep step)
    {
        int H = step.Hidden;
        for (int r = 0; r < step.Rows; r++)
        {
            Span<float> gates = step.Gates.Slice(r * 4 * H, 4 * H);
            Span<float> c = step.C.Slice(r * H, H), h = step.H.Slice(r * H, H);
            TensorPrimitives.Sigmoid(gates[..(2 * H)], gates[..(2 * H)]);
            TensorPrimitives.Tanh(gates.Slice(G * H, H), gates.Slice(G * H, H));
            TensorPrimitives.Sigmoid(gates.Slice(O * H, H), gates.Slice(O * H, H));

            // c = f * cPrev + i * g;  h = o * tanh(c)
            TensorPrimitives.Multiply(gates.Slice(F * H, H), step.CPrev.Slice(r * H, H), c);
            TensorPrimitives.MultiplyAdd(gates.Slice(I * H, H), gates.Slice(G * H, H), c, c);
            TensorPrimitives.Tanh(c, h);
            TensorPrimitives.Multiply(h, gates.Slice(O * H, H), h);
        }
    }

    // With tc = tanh(c_t) and dc = dcNext + dh * o * (1 - tc^2):
    //   d(i pre) = dc * g * i (1 - i)      d(f pre) = dc * cPrev * f (1 - f)
    //   d(g pre) = dc * i * (1 - g^2)      d(o pre) = dh * tc * o (1 - o)      dcPrev = dc * f
    public void BackwardStep(in BackwardStep step)
    {
        int H = step.Hidden;
        for (int r = 0; r < step.Rows; r++)
        {
            ReadOnlySpan<float> gates = step.Gates.Slice(r * 4 * H, 4 * H);
            Span<float> dGates = step.DGates.Slice(r * 4 * H, 4 * H);

            // tanh(c_t) goes into the o block of dGates, which the loop below reads before overwriting.
            TensorPrimitives.Tanh(step.C.Slice(r * H, H), dGates.Slice(O * H, H));
            BackwardRow(
                H, ref MemoryMarshal.GetReference(gates), ref MemoryMarshal.GetReference(step.CPrev.Slice(r * H, H)),
                ref MemoryMarshal.GetReference(step.Dh.Slice(r * H, H)), ref MemoryMarshal.GetReference(step.DcNext.Slice(r * H, H)),
                ref MemoryMarshal.GetReference(dGates));
        }
    }

    private static void BackwardRow(int hidden, ref float gates, ref float cPrev, ref float dh, ref float dcNext, ref float dGates)
    {
        nint H = hidden;
        nint k = 0;
        var one = Vector<float>.One;
        for (; k <= H - Vector<float>.Count; k += Vector<float>.Count)
        {
            Vector<float> i = Load(ref gates, (I * H) + k), f = Load(ref gates, (F * H) + k), g = Load(ref gates, (G * H) + k), o = Load(ref gates, (O * H) + k);
            Vector<float> tc = Load(ref dGates, (O * H) + k), dhk = Load(ref dh, k);
            Vector<float> dc = Load(ref dcNext, k) + (dhk * o * (one - (tc * tc)));
            Store(dc * g * i * (one - i), ref dGates, (I * H) + k);
            Store(dc * Load(ref cPrev, k) * f * (one - f), ref dGates, (F * H) + k);
            Store(dc * i * (one - (g * g)), ref dGates, (G * H) + k);
            Store(dhk * tc * o * (one - o), ref dGates, (O * H) + k);
            Store(dc * f, ref dcNext, k);
        }

        for (; k < H; k++)
        {
            float i = Unsafe.Add(ref gates, (I * H) + k), f = Unsafe.Add(ref gates, (F * H) + k), g = Unsafe.Add(ref gates, (G * H) + k), o = Unsafe.Add(ref gates, (O * H) + k);
            float tc = Unsafe.Add(ref dGates, (O * H) + k), dhk = Unsafe.Add(ref dh, k);
            float dc = Unsafe.Add(ref dcNext, k) + (dhk * o * (1f - (tc * tc)));
            Unsafe.Add(ref dGates, (I * H) + k) = dc * g * i * (1f - i);
            Unsafe.Add(ref dGates, (F * H) + k) = dc * Unsafe.Add(ref cPrev, k) * f * (1f - f);
            Unsafe.Add(ref dGates, (G * H) + k) = dc * i * (1f - (g * g));
            Unsafe.Add(ref dGates, (O * H) + k) = dhk * tc * o * (1f - o);
            Unsafe.Add(ref dcNext, k) = dc * f;
        }
    }
}
