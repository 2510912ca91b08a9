namespace FastRnn;

/// <summary>
/// Steele, Lea and Flood's SplitMix64 generator: a fixed, documented sequence for seeds, masks and sampled data, so
/// results do not depend on the runtime's <see cref="Random"/> implementation. Its whole state is one <see cref="ulong"/>,
/// so a checkpoint can store <see cref="State"/> and a resumed run continues the same sequence.
/// </summary>
/// <param name="state">The state: a seed, or a saved <see cref="State"/>.</param>
public struct SplitMix64(ulong state)
{
    /// <summary>The state; the next value depends on it alone.</summary>
    public ulong State { readonly get; set; } = state;

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        ulong z = State += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, <paramref name="count"/>) (Lemire's multiply-shift on the top 32 bits; bias below count / 2^32).</summary>
    /// <param name="count">The number of values, at least 1.</param>
    public int NextInt(int count) => (int)(((Next() >> 32) * (ulong)(uint)count) >> 32);

    /// <summary>Uniform in [0, 1) with 24 random bits (every value exactly representable).</summary>
    public float NextSingle() => (Next() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
