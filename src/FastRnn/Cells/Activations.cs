// Elementwise activations as operator structs: the cells are generic over them, so the JIT emits one
// specialized loop per activation (TensorPrimitives' operator pattern). Derivatives are computed from
// the saved OUTPUT y = f(z), as oneDNN does (tanh' = 1 - y^2, sigmoid' = y (1 - y)), so the forward
// pass saves one tensor instead of two.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn.Cells;

/// <summary>An elementwise activation with its derivative expressed through its output.</summary>
internal interface IActivation
{
    /// <summary>Scalar specification of <c>y = f(z)</c>.</summary>
    float Invoke(float z);

    /// <summary>Scalar specification of <c>f'(z)</c> given <c>y = f(z)</c>.</summary>
    float DerivativeFromOutput(float y);

    /// <summary><c>y = f(z)</c> over a span; <paramref name="z"/> and <paramref name="y"/> may be the same memory.</summary>
    void Invoke(ReadOnlySpan<float> z, Span<float> y);

    /// <summary><c>dz = dy * f'(z)</c> from the saved outputs; <paramref name="dz"/> may alias <paramref name="dy"/>.</summary>
    void MultiplyByDerivative(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz);
}

internal readonly struct TanhActivation : IActivation
{
    public float Invoke(float z) => MathF.Tanh(z);

    public float DerivativeFromOutput(float y) => 1f - (y * y);

    public void Invoke(ReadOnlySpan<float> z, Span<float> y) => TensorPrimitives.Tanh(z, y);

    public void MultiplyByDerivative(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        // dz = dy * (1 - y^2) = dy - (dy * y) * y
        int i = 0;
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float dyr = ref MemoryMarshal.GetReference(dy);
        ref float dzr = ref MemoryMarshal.GetReference(dz);
        for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> yv = Vector.LoadUnsafe(ref yr, (nuint)i);
            Vector<float> g = Vector.LoadUnsafe(ref dyr, (nuint)i);
            (g - (g * yv * yv)).StoreUnsafe(ref dzr, (nuint)i);
        }

        for (; i < y.Length; i++)
        {
            float g = Unsafe.Add(ref dyr, i);
            float yi = Unsafe.Add(ref yr, i);
            Unsafe.Add(ref dzr, i) = g - (g * yi * yi);
        }
    }
}

internal readonly struct SigmoidActivation : IActivation
{
    public float Invoke(float z) => 1f / (1f + MathF.Exp(-z));

    public float DerivativeFromOutput(float y) => y * (1f - y);

    public void Invoke(ReadOnlySpan<float> z, Span<float> y) => TensorPrimitives.Sigmoid(z, y);

    public void MultiplyByDerivative(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        // dz = dy * y * (1 - y)
        int i = 0;
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float dyr = ref MemoryMarshal.GetReference(dy);
        ref float dzr = ref MemoryMarshal.GetReference(dz);
        for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> yv = Vector.LoadUnsafe(ref yr, (nuint)i);
            (Vector.LoadUnsafe(ref dyr, (nuint)i) * yv * (Vector<float>.One - yv)).StoreUnsafe(ref dzr, (nuint)i);
        }

        for (; i < y.Length; i++)
        {
            float yi = Unsafe.Add(ref yr, i);
            Unsafe.Add(ref dzr, i) = Unsafe.Add(ref dyr, i) * yi * (1f - yi);
        }
    }
}

/// <summary>Leaky ReLU with slope &gt;= 0; slope 0 is plain ReLU (derivative 0 at z = 0, as in PyTorch).</summary>
internal readonly struct LeakyReluActivation(float slope) : IActivation
{
    private readonly float _slope = slope;

    public float Invoke(float z) => z > 0f ? z : _slope * z;

    // With slope >= 0, y > 0 exactly when z > 0, so the output decides the branch.
    public float DerivativeFromOutput(float y) => y > 0f ? 1f : _slope;

    public void Invoke(ReadOnlySpan<float> z, Span<float> y)
    {
        int i = 0;
        ref float zr = ref MemoryMarshal.GetReference(z);
        ref float yr = ref MemoryMarshal.GetReference(y);
        var slope = new Vector<float>(_slope);
        for (; i <= z.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> zv = Vector.LoadUnsafe(ref zr, (nuint)i);
            Vector.ConditionalSelect(Vector.GreaterThan(zv, Vector<float>.Zero), zv, zv * slope).StoreUnsafe(ref yr, (nuint)i);
        }

        for (; i < z.Length; i++)
        {
            Unsafe.Add(ref yr, i) = Invoke(Unsafe.Add(ref zr, i));
        }
    }

    public void MultiplyByDerivative(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        int i = 0;
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float dyr = ref MemoryMarshal.GetReference(dy);
        ref float dzr = ref MemoryMarshal.GetReference(dz);
        var slope = new Vector<float>(_slope);
        for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> g = Vector.LoadUnsafe(ref dyr, (nuint)i);
            Vector.ConditionalSelect(Vector.GreaterThan(Vector.LoadUnsafe(ref yr, (nuint)i), Vector<float>.Zero), g, g * slope).StoreUnsafe(ref dzr, (nuint)i);
        }

        for (; i < y.Length; i++)
        {
            Unsafe.Add(ref dzr, i) = Unsafe.Add(ref dyr, i) * DerivativeFromOutput(Unsafe.Add(ref yr, i));
        }
    }
}

/// <summary><c>f(z) = z</c>: lets tests check the data flow exactly.</summary>
internal readonly struct IdentityActivation : IActivation
{
    public float Invoke(float z) => z;

    public float DerivativeFromOutput(float y) => 1f;

    public void Invoke(ReadOnlySpan<float> z, Span<float> y) => z.CopyTo(y);

    public void MultiplyByDerivative(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz) => dy.CopyTo(dz);
}
