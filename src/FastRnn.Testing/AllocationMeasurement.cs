// Measures what a step allocates on the calling thread, immune to collections that other threads trigger.
namespace FastRnn.Testing;

/// <summary>Bytes a piece of code allocates on the calling thread, for zero-allocation tests.</summary>
public static class AllocationMeasurement
{
    /// <summary>
    /// Runs <paramref name="step"/> <paramref name="warmups"/> times (JIT tiers, lazily allocated per-thread buffers),
    /// then <paramref name="repetitions"/> times inside a no-GC region and returns the bytes those repetitions allocated
    /// on this thread (<see cref="GC.GetAllocatedBytesForCurrentThread"/>).
    /// </summary>
    /// <remarks>
    /// A collection triggered by another thread (a test running in parallel) retires this thread's allocation context,
    /// and the counter then reports its unused remainder (3-4 KB seen) although nothing was allocated. The window runs
    /// in a no-GC region and is measured again, up to three times, if a collection ran anyway. Run such tests alone
    /// (a non-parallel xunit collection) as well: the region is refused while another thread holds a large allocation.
    /// </remarks>
    /// <param name="step">The code to measure; create any closure it needs before calling.</param>
    /// <param name="warmups">Unmeasured runs first.</param>
    /// <param name="repetitions">Measured runs.</param>
    public static long BytesAllocatedBy(Action step, int warmups = 3, int repetitions = 5)
    {
        ArgumentNullException.ThrowIfNull(step);
        for (int i = 0; i < warmups; i++)
        {
            step();
        }

        long allocated = 0;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            bool noGc = GC.TryStartNoGCRegion(64 << 20);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < repetitions; i++)
            {
                step();
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
                break;
            }
        }

        return allocated;
    }
}
