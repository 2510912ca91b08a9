using System.Numerics;
using System.Runtime.CompilerServices;

namespace FastRnn.Kernels;

/// <summary>Unchecked <see cref="Vector{T}"/> loads and stores at an element offset, for kernels whose bounds were validated.</summary>
internal static class VectorMemory
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Load(ref float source, nint offset) => Vector.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector<float> value, ref float destination, nint offset) => value.StoreUnsafe(ref destination, (nuint)offset);
}
