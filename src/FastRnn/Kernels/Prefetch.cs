using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

/// <summary>Software prefetch hints: they never fault and never change a value, so they cannot change a result.</summary>
internal static class Prefetch
{
    /// <summary>Bytes per cache line on the x86 cores this runs on.</summary>
    internal const int LineBytes = 64;

    /// <summary>
    /// Asks for every cache line of <paramref name="region"/> in L2 (<c>PREFETCHT1</c>); a no-op where x86 prefetch is
    /// not available. For the next time step's rows, which past the last-level cache arrive from DRAM: a step of the
    /// time loop touches a few KiB at scattered places, too little for the hardware's stream prefetchers to lock on.
    /// </summary>
    public static void ToL2(ReadOnlySpan<float> region) => Lines(region, toL1: false);

    /// <summary>
    /// Asks for every cache line of <paramref name="region"/> in L1 (<c>PREFETCHT0</c>): for data a loop reads a few
    /// iterations later, in an order the hardware prefetchers do not follow (rows thousands of bytes apart).
    /// </summary>
    public static void ToL1(ReadOnlySpan<float> region) => Lines(region, toL1: true);

    /// <summary>
    /// Asks for the cache line holding <paramref name="at"/> in L1 (<c>PREFETCHT0</c>); a no-op where x86 prefetch is not
    /// available. For a loop that walks several rows in step and asks for the next row's line at each of its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void LineToL1(ref float at)
    {
        if (Sse.IsSupported)
        {
            // Not pinned, as in Lines: a hint for an address the GC has moved meanwhile is wasted, never wrong.
            Sse.Prefetch0(Unsafe.AsPointer(ref at));
        }
    }

    private static unsafe void Lines(ReadOnlySpan<float> region, bool toL1)
    {
        if (!Sse.IsSupported || region.IsEmpty)
        {
            return;
        }

        // Not pinned: a prefetch never faults, so an address the GC has moved meanwhile costs one wasted hint.
        byte* line = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(region));
        byte* end = line + ((nint)region.Length * sizeof(float));
        line = (byte*)((nint)line & ~(nint)(LineBytes - 1));
        for (; line < end; line += LineBytes)
        {
            if (toL1)
            {
                Sse.Prefetch0(line);
            }
            else
            {
                Sse.Prefetch1(line);
            }
        }
    }
}
