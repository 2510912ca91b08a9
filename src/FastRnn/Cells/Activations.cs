// Elementwise activations as operator structs: the Elman cell is generic over them, so the JIT emits one specialized
// loop per activation and vector width (TensorPrimitives' operator pattern). Derivatives are computed from the saved
// OUTPUT y = f(z), as oneDNN does (tanh' = 1 - y^2, sigmoid' = y (1 - y)), so the forward pass saves one tensor.
// The same generic code runs on one lane (OpsScalar) for loop tails and as the scalar path.
using System.Runtime.CompilerServices;
using FastRnn.Kernels;

namespace FastRnn.Cells;

/// <summary>An elementwise activation with its derivative expressed through its output.</summary>
internal interface IActivation
{
    /// <summary><c>y = f(z)</c>.</summary>
    TVector Invoke<TOps, TVector>(TVector z)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct;

    /// <summary><c>f'(z)</c> given <c>y = f(z)</c>.</summary>
    TVector DerivativeFromOutput<TOps, TVector>(TVector y)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct;
}

internal readonly struct TanhActivation : IActivation
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVector Invoke<TOps, TVector>(TVector z)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => VectorMath.Tanh<TOps, TVector>(z);

    // 1 - y^2
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVector DerivativeFromOutput<TOps, TVector>(TVector y)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => TOps.MultiplyAdd(TOps.Subtract(TOps.Zero, y), y, TOps.Broadcast(1f));
}

internal readonly struct SigmoidActivation : IActivation
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVector Invoke<TOps, TVector>(TVector z)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => VectorMath.Sigmoid<TOps, TVector>(z);

    // y (1 - y)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVector DerivativeFromOutput<TOps, TVector>(TVector y)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => TOps.Multiply(y, TOps.Subtract(TOps.Broadcast(1f), y));
}

/// <summary>Leaky ReLU with slope &gt;= 0; slope 0 is plain ReLU (derivative 0 at z = 0, as in PyTorch).</summary>
internal readonly struct LeakyReluActivation(float slope) : IActivation
{
    private readonly float _slope = slope;

    // z > 0 ? z : slope * z  (NaN fails the comparison and stays NaN through the product)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVector Invoke<TOps, TVector>(TVector z)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => TOps.Select(TOps.LessThan(TOps.Zero, z), z, TOps.Multiply(z, TOps.Broadcast(_slope)));

    // With slope >= 0, y > 0 exactly when z > 0, so the output decides the branch.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVector DerivativeFromOutput<TOps, TVector>(TVector y)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => TOps.Select(TOps.LessThan(TOps.Zero, y), TOps.Broadcast(1f), TOps.Broadcast(_slope));
}

/// <summary><c>f(z) = z</c>: lets tests check the data flow exactly.</summary>
internal readonly struct IdentityActivation : IActivation
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVector Invoke<TOps, TVector>(TVector z)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => z;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVector DerivativeFromOutput<TOps, TVector>(TVector y)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
        => TOps.Broadcast(1f);
}
