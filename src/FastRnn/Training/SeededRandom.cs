// A small explicit generator, so initializations are reproducible from their seed independently of System.Random's
// implementation (which .NET may change): xoshiro256** (Blackman and Vigna, 2018, https://prng.di.unimi.it/), its state
// filled from the seed by SplitMix64 as the authors recommend.
using System.Numerics;

namespace FastRnn.Training;

/// <summary>xoshiro256** seeded through SplitMix64; uniform doubles from the top 53 bits, normals by Marsaglia's polar method.</summary>
internal struct SeededRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spare;
    private bool _hasSpare;

    public SeededRandom(long seed)
    {
        var seeder = new SplitMix64((ulong)seed);
        _s0 = seeder.Next();
        _s1 = seeder.Next();
        _s2 = seeder.Next();
        _s3 = seeder.Next();
    }

    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1), a multiple of 2^-53.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// Standard normal by Marsaglia's polar method; the pair's second value is kept for the next call. Uses Math.Log,
    /// which the platform's math library may round differently in the last bit of a double (almost never visible after
    /// rounding to float).
    /// </summary>
    public double NextGaussian()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }

        double u, v, s;
        do
        {
            u = (2 * NextDouble()) - 1;
            v = (2 * NextDouble()) - 1;
            s = (u * u) + (v * v);
        }
        while (s >= 1 || s == 0);

        double f = Math.Sqrt(-2 * Math.Log(s) / s);
        _spare = v * f;
        _hasSpare = true;
        return u * f;
    }
}
