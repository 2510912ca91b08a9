namespace FastRnn.Cli.CharModel;

/// <summary>
/// Steele, Lea and Flood's SplitMix64, as the library uses for its seeds and masks: a fixed sequence whose whole state
/// is one <see cref="ulong"/>, so a checkpoint can store it and a resumed run continues the same sequence.
/// </summary>
/// <param name="state">The state (a seed, or a saved <see cref="State"/>).</param>
public struct SplitMixGenerator(ulong state)
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

    /// <summary>Uniform in [0, <paramref name="count"/>) (Lemire's multiply-shift on the top 32 bits; bias below 2^-32 * count).</summary>
    public int NextInt(int count) => (int)(((Next() >> 32) * (ulong)(uint)count) >> 32);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
