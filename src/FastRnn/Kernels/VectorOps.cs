// Width-generic SIMD operations for the kernels. A kernel is written once, generic over an
// IVectorOps<TVector> struct, and the JIT specializes it per width (TensorPrimitives' operator
// pattern; ISimdVector<,> is not public in .NET 10, so we carry our own minimal one).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

/// <summary>The vector width a kernel runs at. <see cref="Scalar"/> is the plain-loop specification.</summary>
internal enum VectorWidth
{
    Scalar = 1,
    W128 = 4,
    W256 = 8,
    W512 = 16,
}

internal interface IVectorOps<TVector>
    where TVector : struct
{
    static abstract int Count { get; }

    static abstract TVector Zero { get; }

    static abstract TVector Broadcast(float value);

    static abstract TVector Load(ref float source, nint elementOffset);

    static abstract void Store(TVector value, ref float destination, nint elementOffset);

    static abstract TVector Add(TVector left, TVector right);

    static abstract TVector Multiply(TVector left, TVector right);

    /// <summary><c>a * b + c</c>, fused where the hardware has FMA.</summary>
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector c);

    static abstract TVector Subtract(TVector left, TVector right);

    static abstract TVector Divide(TVector left, TVector right);

    /// <summary>Lane-wise min with the hardware's NaN behaviour (callers that care restore NaN themselves).</summary>
    static abstract TVector MinNative(TVector left, TVector right);

    static abstract TVector MaxNative(TVector left, TVector right);

    static abstract TVector Abs(TVector value);

    static abstract TVector CopySign(TVector value, TVector sign);

    /// <summary>Round to nearest, ties to even.</summary>
    static abstract TVector Round(TVector value);

    /// <summary>
    /// <c>value * 2^n</c> for integral <paramref name="n"/> (exp's range, [-126, 128]): AVX-512's <c>VSCALEFPS</c>, one
    /// instruction; elsewhere 2^n built in the exponent field, then a multiply (four). The field's conversion is the
    /// native one: n is integral, so the saturating conversion's fix-up for NaN and out-of-range lanes changes nothing.
    /// The field holds 2^n up to n = 127; at 128 (exp of x past 88.03, where exp's callers only need "huge") it gives
    /// infinity where VSCALEFPS gives the finite product.
    /// </summary>
    static abstract TVector ScaleByPow2(TVector value, TVector n);

    /// <summary>All-ones lanes where <c>left &lt; right</c>.</summary>
    static abstract TVector LessThan(TVector left, TVector right);

    /// <summary>All-ones lanes where the value is not NaN.</summary>
    static abstract TVector IsNotNaN(TVector value);

    /// <summary><paramref name="whenTrue"/> where <paramref name="mask"/> lanes are all-ones, else <paramref name="whenFalse"/>.</summary>
    static abstract TVector Select(TVector mask, TVector whenTrue, TVector whenFalse);
}

internal readonly struct Ops512 : IVectorOps<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float source, nint elementOffset) => Vector512.LoadUnsafe(ref source, (nuint)elementOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float destination, nint elementOffset) => value.StoreUnsafe(ref destination, (nuint)elementOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> left, Vector512<float> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> left, Vector512<float> right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.MultiplyAddEstimate(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> left, Vector512<float> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Divide(Vector512<float> left, Vector512<float> right) => left / right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MinNative(Vector512<float> left, Vector512<float> right) => Vector512.MinNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MaxNative(Vector512<float> left, Vector512<float> right) => Vector512.MaxNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Abs(Vector512<float> value) => Vector512.Abs(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> CopySign(Vector512<float> value, Vector512<float> sign) => Vector512.CopySign(value, sign);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Round(Vector512<float> value) => Vector512.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pow2(Vector512<float> n) => Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaleByPow2(Vector512<float> value, Vector512<float> n)
        => Avx512F.IsSupported ? Avx512F.Scale(value, n) : value * Pow2(n); // software Vector512 (AVX-512 off): the multiply

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LessThan(Vector512<float> left, Vector512<float> right) => Vector512.LessThan(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> IsNotNaN(Vector512<float> value) => Vector512.Equals(value, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Select(Vector512<float> mask, Vector512<float> whenTrue, Vector512<float> whenFalse) => Vector512.ConditionalSelect(mask, whenTrue, whenFalse);
}

internal readonly struct Ops256 : IVectorOps<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float source, nint elementOffset) => Vector256.LoadUnsafe(ref source, (nuint)elementOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, ref float destination, nint elementOffset) => value.StoreUnsafe(ref destination, (nuint)elementOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> left, Vector256<float> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> left, Vector256<float> right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> left, Vector256<float> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Divide(Vector256<float> left, Vector256<float> right) => left / right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MinNative(Vector256<float> left, Vector256<float> right) => Vector256.MinNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MaxNative(Vector256<float> left, Vector256<float> right) => Vector256.MaxNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Abs(Vector256<float> value) => Vector256.Abs(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> CopySign(Vector256<float> value, Vector256<float> sign) => Vector256.CopySign(value, sign);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Round(Vector256<float> value) => Vector256.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Pow2(Vector256<float> n) => Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaleByPow2(Vector256<float> value, Vector256<float> n) => value * Pow2(n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LessThan(Vector256<float> left, Vector256<float> right) => Vector256.LessThan(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> IsNotNaN(Vector256<float> value) => Vector256.Equals(value, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> whenTrue, Vector256<float> whenFalse) => Vector256.ConditionalSelect(mask, whenTrue, whenFalse);
}

internal readonly struct Ops128 : IVectorOps<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float source, nint elementOffset) => Vector128.LoadUnsafe(ref source, (nuint)elementOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, ref float destination, nint elementOffset) => value.StoreUnsafe(ref destination, (nuint)elementOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> left, Vector128<float> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> left, Vector128<float> right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> left, Vector128<float> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Divide(Vector128<float> left, Vector128<float> right) => left / right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MinNative(Vector128<float> left, Vector128<float> right) => Vector128.MinNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MaxNative(Vector128<float> left, Vector128<float> right) => Vector128.MaxNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Abs(Vector128<float> value) => Vector128.Abs(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> CopySign(Vector128<float> value, Vector128<float> sign) => Vector128.CopySign(value, sign);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Round(Vector128<float> value) => Vector128.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Pow2(Vector128<float> n) => Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ScaleByPow2(Vector128<float> value, Vector128<float> n) => value * Pow2(n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LessThan(Vector128<float> left, Vector128<float> right) => Vector128.LessThan(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> IsNotNaN(Vector128<float> value) => Vector128.Equals(value, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Select(Vector128<float> mask, Vector128<float> whenTrue, Vector128<float> whenFalse) => Vector128.ConditionalSelect(mask, whenTrue, whenFalse);
}

/// <summary>A kernel written once for any vector width; <see cref="VectorDispatch.Run"/> picks the width.</summary>
internal interface IVectorKernel<TArgs>
    where TArgs : allows ref struct
{
    void Run<TOps, TVector>(in TArgs args)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct;
}

/// <summary>The pointwise work at one position of a row's units, at any width: a ref struct holding the row's references.</summary>
internal interface IUnitKernel
{
    void At<TOps, TVector>(nint k)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct;
}

/// <summary>
/// Whether a unit kernel asks for the next row's lines as it goes (<see cref="Prefetch.LineToL1"/>): a type, so the JIT
/// drops the hints and their test from the kernel that has none.
/// </summary>
internal interface IRowFetch
{
    /// <summary>Whether the kernel asks for the next row's lines.</summary>
    static abstract bool FetchesNextRow { get; }
}

/// <summary>The unit kernel asks for the next row's lines.</summary>
internal readonly struct NextRowFetch : IRowFetch
{
    public static bool FetchesNextRow => true;
}

/// <summary>The unit kernel asks for nothing ahead.</summary>
internal readonly struct NoRowFetch : IRowFetch
{
    public static bool FetchesNextRow => false;
}

/// <summary>Runs a row's units through an <see cref="IUnitKernel"/>, widest vectors first.</summary>
internal static class UnitLoop
{
    /// <summary>
    /// Units [<paramref name="start"/>, <paramref name="end"/>): whole <typeparamref name="TOps"/> vectors, then what is
    /// left in one 8-wide and then 4-wide vectors where <typeparamref name="TOps"/> is wider, then single floats. With
    /// H = 100 the last 4 units were 4 scalar passes costing as much as ~3.5 of the row's six 16-wide vectors. Which
    /// path a unit takes depends only on <paramref name="end"/> - <paramref name="start"/>; worker slices start at
    /// multiples of 16 and only the last one has a tail, so every unit takes the same path for any worker count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TKernel, TOps, TVector>(ref TKernel kernel, nint start, nint end)
        where TKernel : struct, IUnitKernel, allows ref struct
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        nint k = start;
        for (; k <= end - TOps.Count; k += TOps.Count)
        {
            kernel.At<TOps, TVector>(k);
        }

        // A 16-wide width implies 8- and 4-wide hardware, an 8-wide one 4-wide (AVX-512 > AVX2 > SSE; NEON is 4-wide).
        if (TOps.Count > Vector256<float>.Count && k <= end - Vector256<float>.Count)
        {
            kernel.At<Ops256, Vector256<float>>(k);
            k += Vector256<float>.Count;
        }

        if (TOps.Count > Vector128<float>.Count)
        {
            for (; k <= end - Vector128<float>.Count; k += Vector128<float>.Count)
            {
                kernel.At<Ops128, Vector128<float>>(k);
            }
        }

        for (; k < end; k++)
        {
            kernel.At<OpsScalar, float>(k);
        }
    }
}

/// <summary>Chooses the widest accelerated width, capped by an internal limit so tests can run every path in one process.</summary>
internal static class VectorDispatch
{
    /// <summary>Runs <paramref name="kernel"/> at the current width (the scalar lane when no SIMD is available).</summary>
    public static void Run<TKernel, TArgs>(in TKernel kernel, in TArgs args)
        where TKernel : struct, IVectorKernel<TArgs>
        where TArgs : allows ref struct
    {
        switch (Current)
        {
            case VectorWidth.W512:
                kernel.Run<Ops512, Vector512<float>>(args);
                break;
            case VectorWidth.W256:
                kernel.Run<Ops256, Vector256<float>>(args);
                break;
            case VectorWidth.W128:
                kernel.Run<Ops128, Vector128<float>>(args);
                break;
            default:
                kernel.Run<OpsScalar, float>(args);
                break;
        }
    }

    // Per thread, so a test that narrows the path does not change what concurrently running tests execute.
    // 0 (the default of a thread-static) means no limit.
    [ThreadStatic]
    private static VectorWidth s_limit;

    /// <summary>Test hook: the widest path kernels on this thread may take. Setting it wider than the hardware has no effect.</summary>
    internal static VectorWidth Limit
    {
        get => s_limit == 0 ? VectorWidth.W512 : s_limit;
        set => s_limit = value;
    }

    internal static VectorWidth Current
    {
        get
        {
            VectorWidth limit = Limit;
            if (limit >= VectorWidth.W512 && Vector512.IsHardwareAccelerated)
            {
                return VectorWidth.W512;
            }

            if (limit >= VectorWidth.W256 && Vector256.IsHardwareAccelerated)
            {
                return VectorWidth.W256;
            }

            if (limit >= VectorWidth.W128 && Vector128.IsHardwareAccelerated)
            {
                return VectorWidth.W128;
            }

            return VectorWidth.Scalar;
        }
    }
}

/// <summary>
/// One lane: lets a kernel written for vectors run its loop tail (and the scalar path) with the very same code.
/// Masks are all-ones or all-zero bit patterns, as in the vector types.
/// </summary>
internal readonly struct OpsScalar : IVectorOps<float>
{
    private static readonly float s_allOnes = BitConverter.Int32BitsToSingle(-1);

    public static int Count => 1;

    public static float Zero => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Broadcast(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref float source, nint elementOffset) => Unsafe.Add(ref source, elementOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float value, ref float destination, nint elementOffset) => Unsafe.Add(ref destination, elementOffset) = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float left, float right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Multiply(float left, float right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float c) => float.MultiplyAddEstimate(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Subtract(float left, float right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Divide(float left, float right) => left / right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MinNative(float left, float right) => left < right ? left : right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxNative(float left, float right) => left > right ? left : right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Abs(float value) => MathF.Abs(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float CopySign(float value, float sign) => MathF.CopySign(value, sign);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float value) => MathF.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Pow2(float n) => BitConverter.Int32BitsToSingle(((int)n + 127) << 23);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ScaleByPow2(float value, float n) => value * Pow2(n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LessThan(float left, float right) => left < right ? s_allOnes : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float IsNotNaN(float value) => float.IsNaN(value) ? 0f : s_allOnes;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Select(float mask, float whenTrue, float whenFalse) => BitConverter.SingleToInt32Bits(mask) != 0 ? whenTrue : whenFalse;
}
