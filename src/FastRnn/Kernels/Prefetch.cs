using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

/// <summary>Software prefetch hints: they never fault and never change a value, so they cannot change a result.</summary>
internal static class Prefetch
{
    private const int LineBytes = 64;

    /// <summary>
    /// Asks for every cache line of <paramref name="region"/> in L2 (<c>PREFETCHT1</c>); a no-op where x86 prefetch is
    /// not available. For the next time step's rows, which past the last-level cache arrive from DRAM: a step of the
    /// time loop touches a few KiB at scattered places, too little for the hardware's stream prefetchers to lock on.
    /// </summary>
    public static unsafe void ToL2(ReadOnlySpan<float> region)
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
            Sse.Prefetch1(line);
        }
    }
}
