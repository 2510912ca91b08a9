// Seeded benchmark operands: the one place the layer benchmarks and the GEMM benchmarks take their data from.
using FastRnn.Kernels;

namespace FastRnn.Cli.Benchmarking;

/// <summary>Seeded inputs for benchmarks, in buffers that start a cache line as oneDNN's and PyTorch's do.</summary>
public static class BenchData
{
    /// <summary>
    /// <paramref name="count"/> values uniform in [-1, 1) from <paramref name="random"/>, in a 64-byte aligned buffer
    /// (<see cref="AlignedMemory.Allocate"/>): a <c>new float[]</c> starts a cache line only by chance, which would put
    /// chance in the timings.
    /// </summary>
    /// <param name="random">The seeded generator.</param>
    /// <param name="count">Values to draw.</param>
    /// <returns>The aligned buffer.</returns>
    public static Memory<float> Uniform(Random random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        Memory<float> memory = AlignedMemory.Allocate(count);
        Span<float> values = memory.Span;
        for (int k = 0; k < values.Length; k++)
        {
            values[k] = (float)((2 * random.NextDouble()) - 1);
        }

        return memory;
    }
}
