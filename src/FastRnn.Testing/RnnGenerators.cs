// Legend: T time steps, B batch, I input size, H hidden size.
using FsCheck;
using FsCheck.Fluent;

namespace FastRnn.Testing;

/// <summary>
/// FsCheck generators for RNN test cases, biased toward the edges: sizes that are not multiples of the vector width
/// (1, 3, 15, 17, 33), T = 1, B = 1, zero-length and full-length sequences.
/// Pass <c>typeof(RnnGenerators)</c> as a property's <c>Arbitrary</c> to get <see cref="ElmanCase"/>, <see cref="LstmCase"/> and
/// <see cref="GruCase"/> arguments.
/// </summary>
public static class RnnGenerators
{
    // Awkward sizes first: below, just above and just below the 8/16/32-float vector widths.
    private static readonly int[] s_edgeSizes = [1, 3, 15, 17, 33, 2, 5, 7, 9, 31];

    private static readonly Nonlinearity[] s_nonlinearities =
        [Nonlinearity.Tanh, Nonlinearity.Sigmoid, Nonlinearity.Relu, Nonlinearity.LeakyRelu, Nonlinearity.Identity];

    /// <summary>Random shapes: T in 1..maxT, B in 1..maxB, I and H in 1..maxSize, each often at an edge value.</summary>
    /// <param name="maxT">The largest T (at least 1).</param>
    /// <param name="maxB">The largest B (at least 1).</param>
    /// <param name="maxSize">The largest I and H (at least 1).</param>
    /// <returns>The generator.</returns>
    public static Gen<RnnShape> Shapes(int maxT = 12, int maxB = 6, int maxSize = 40)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxT);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxB);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSize);
        var steps = Gen.Frequency((1, Gen.Constant(1)), (1, Gen.Constant(maxT)), (4, Gen.Choose(1, maxT)));
        var batch = Gen.Frequency((2, Gen.Constant(1)), (4, Gen.Choose(1, maxB)));
        var size = Sizes(maxSize);
        return
            from t in steps
            from b in batch
            from i in size
            from h in size
            select new RnnShape(t, b, i, h);
    }

    /// <summary>
    /// Random sequence lengths, <c>[B]</c>, each in <c>0..T</c>: about one in five arrays is all T (what a <see langword="null"/> length array means);
    /// otherwise each entry is 0, T or uniform, so zero-length and full-length sequences are common inside a batch.
    /// </summary>
    /// <param name="T">The number of time steps.</param>
    /// <param name="B">The batch size.</param>
    /// <returns>The generator.</returns>
    public static Gen<int[]> Lengths(int T, int B)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(T);
        ArgumentOutOfRangeException.ThrowIfNegative(B);
        var one = Gen.Frequency((2, Gen.Constant(0)), (3, Gen.Constant(T)), (4, Gen.Choose(0, T)));
        // Gen.Fresh: a new array per sample, never one shared instance.
        var full = Gen.Fresh(() => Enumerable.Repeat(T, B).ToArray());
        return Gen.Frequency((1, full), (4, Gen.ArrayOf(one, B)));
    }

    /// <summary>Arrays of <paramref name="count"/> values uniform in <c>[-scale, scale]</c>, drawn from one generated seed.</summary>
    /// <param name="count">The number of values.</param>
    /// <param name="scale">The bound.</param>
    /// <returns>The generator.</returns>
    public static Gen<double[]> Values(int count, double scale)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return Seeds().Select(seed => Uniform(new Random(seed), count, scale));
    }

    /// <summary>
    /// Random Elman cases: a shape from <see cref="Shapes"/>, one of the five nonlinearities, a leaky slope,
    /// lengths from <see cref="Lengths"/>, either direction, <c>h0</c> and <c>dh_n</c> sometimes <see langword="null"/>,
    /// and arrays drawn from a seed.
    /// </summary>
    /// <param name="maxT">The largest T.</param>
    /// <param name="maxB">The largest B.</param>
    /// <param name="maxSize">The largest I and H.</param>
    /// <returns>The generator.</returns>
    public static Gen<ElmanCase> ElmanCases(int maxT = 12, int maxB = 6, int maxSize = 40) =>
        from shape in Shapes(maxT, maxB, maxSize)
        from nonlinearity in Gen.Elements(s_nonlinearities)
        from slope in Gen.Elements(0.0, 0.01, 0.1, 0.5)
        from lengths in Lengths(shape.T, shape.B)
        from reverse in Gen.Elements(false, true)
        from hasH0 in Gen.Frequency((1, Gen.Constant(false)), (3, Gen.Constant(true)))
        from hasDhN in Gen.Frequency((1, Gen.Constant(false)), (3, Gen.Constant(true)))
        from seed in Seeds()
        select CreateElmanCase(shape, nonlinearity, slope, lengths, reverse, hasH0, hasDhN, seed);

    /// <summary>The <see cref="ElmanCases"/> generator with default bounds as an FsCheck arbitrary (no shrinking: a case is reproduced from its seed).</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<ElmanCase> ElmanCaseArbitrary() => Arb.From(ElmanCases());

    /// <summary>Builds the case's arrays deterministically from <paramref name="seed"/>, so a failing case can be rebuilt from its summary.</summary>
    /// <param name="shape">The sizes.</param>
    /// <param name="nonlinearity">The nonlinearity.</param>
    /// <param name="leakySlope">The leaky relu slope.</param>
    /// <param name="lengths">The lengths, <c>[B]</c>.</param>
    /// <param name="reverse">The direction.</param>
    /// <param name="hasH0">Whether to draw an <c>h0</c> (else <see langword="null"/>).</param>
    /// <param name="hasDhN">Whether to draw a <c>dh_n</c> (else <see langword="null"/>).</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The case.</returns>
    public static ElmanCase CreateElmanCase(
        RnnShape shape, Nonlinearity nonlinearity, double leakySlope, int[] lengths, bool reverse, bool hasH0, bool hasDhN, int seed)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(lengths);
        var rng = new Random(seed);
        var p = new ReferenceElmanParameters(shape.I, shape.H) { Nonlinearity = nonlinearity, LeakySlope = leakySlope };
        FillParameters(rng, p, 1.0);
        // x: [T, B, I]  h0: [B, H]  dOutputs: [T, B, H]  dhN: [B, H]
        double[] x = Uniform(rng, shape.T * shape.B * shape.I, 1.0);
        double[]? h0 = hasH0 ? Uniform(rng, shape.B * shape.H, 1.0) : null;
        double[] dOutputs = Uniform(rng, shape.T * shape.B * shape.H, 1.0);
        double[]? dhN = hasDhN ? Uniform(rng, shape.B * shape.H, 1.0) : null;
        return new ElmanCase(shape, p, x, h0, (int[])lengths.Clone(), reverse, dOutputs, dhN, seed);
    }

    /// <summary>
    /// Random LSTM cases: a shape from <see cref="Shapes"/>, lengths from <see cref="Lengths"/>, either direction,
    /// <c>h0</c>, <c>c0</c>, <c>dh_n</c> and <c>dc_n</c> each sometimes <see langword="null"/>, weights scaled by 3 in about one case in five
    /// (saturated gates), and arrays drawn from a seed.
    /// </summary>
    /// <param name="maxT">The largest T.</param>
    /// <param name="maxB">The largest B.</param>
    /// <param name="maxSize">The largest I and H.</param>
    /// <returns>The generator.</returns>
    public static Gen<LstmCase> LstmCases(int maxT = 12, int maxB = 6, int maxSize = 40) =>
        GatedDraws(maxT, maxB, maxSize).Select(d => CreateLstmCase(d.Shape, d.Lengths, d.Reverse, d.HasH0, d.HasC0, d.HasDhN, d.HasDcN, d.WeightScale, d.Seed));

    /// <summary>The <see cref="LstmCases"/> generator with default bounds as an FsCheck arbitrary (no shrinking: a case is reproduced from its seed).</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<LstmCase> LstmCaseArbitrary() => Arb.From(LstmCases());

    /// <summary>
    /// Random GRU cases: a shape from <see cref="Shapes"/>, lengths from <see cref="Lengths"/>, either direction,
    /// <c>h0</c> and <c>dh_n</c> each sometimes <see langword="null"/>, weights scaled by 3 in about one case in five
    /// (saturated gates), and arrays drawn from a seed.
    /// </summary>
    /// <param name="maxT">The largest T.</param>
    /// <param name="maxB">The largest B.</param>
    /// <param name="maxSize">The largest I and H.</param>
    /// <returns>The generator.</returns>
    public static Gen<GruCase> GruCases(int maxT = 12, int maxB = 6, int maxSize = 40) =>
        GatedDraws(maxT, maxB, maxSize).Select(d => CreateGruCase(d.Shape, d.Lengths, d.Reverse, d.HasH0, d.HasDhN, d.WeightScale, d.Seed));

    /// <summary>The <see cref="GruCases"/> generator with default bounds as an FsCheck arbitrary (no shrinking: a case is reproduced from its seed).</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<GruCase> GruCaseArbitrary() => Arb.From(GruCases());

    /// <summary>Builds an LSTM case's arrays deterministically from <paramref name="seed"/>, so a failing case can be rebuilt from its summary.</summary>
    /// <param name="shape">The sizes.</param>
    /// <param name="lengths">The lengths, <c>[B]</c>.</param>
    /// <param name="reverse">The direction.</param>
    /// <param name="hasH0">Whether to draw an <c>h0</c> (else <see langword="null"/>).</param>
    /// <param name="hasC0">Whether to draw a <c>c0</c> (else <see langword="null"/>).</param>
    /// <param name="hasDhN">Whether to draw a <c>dh_n</c> (else <see langword="null"/>).</param>
    /// <param name="hasDcN">Whether to draw a <c>dc_n</c> (else <see langword="null"/>).</param>
    /// <param name="weightScale">s: the parameters are uniform in <c>[-s/sqrt(H), s/sqrt(H)]</c>.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The case.</returns>
    public static LstmCase CreateLstmCase(
        RnnShape shape, int[] lengths, bool reverse, bool hasH0, bool hasC0, bool hasDhN, bool hasDcN, double weightScale, int seed)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(lengths);
        var rng = new Random(seed);
        var p = new ReferenceLstmParameters(shape.I, shape.H);
        FillParameters(rng, p, weightScale);
        // x: [T, B, I]  h0, c0: [B, H]  dOutputs: [T, B, H]  dhN, dcN: [B, H]
        double[] x = Uniform(rng, shape.T * shape.B * shape.I, 1.0);
        double[]? h0 = hasH0 ? Uniform(rng, shape.B * shape.H, 1.0) : null;
        double[]? c0 = hasC0 ? Uniform(rng, shape.B * shape.H, 1.0) : null;
        double[] dOutputs = Uniform(rng, shape.T * shape.B * shape.H, 1.0);
        double[]? dhN = hasDhN ? Uniform(rng, shape.B * shape.H, 1.0) : null;
        double[]? dcN = hasDcN ? Uniform(rng, shape.B * shape.H, 1.0) : null;
        return new LstmCase(shape, p, x, h0, c0, (int[])lengths.Clone(), reverse, dOutputs, dhN, dcN, weightScale, seed);
    }

    /// <summary>Builds a GRU case's arrays deterministically from <paramref name="seed"/>, so a failing case can be rebuilt from its summary.</summary>
    /// <param name="shape">The sizes.</param>
    /// <param name="lengths">The lengths, <c>[B]</c>.</param>
    /// <param name="reverse">The direction.</param>
    /// <param name="hasH0">Whether to draw an <c>h0</c> (else <see langword="null"/>).</param>
    /// <param name="hasDhN">Whether to draw a <c>dh_n</c> (else <see langword="null"/>).</param>
    /// <param name="weightScale">s: the parameters are uniform in <c>[-s/sqrt(H), s/sqrt(H)]</c>.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The case.</returns>
    public static GruCase CreateGruCase(RnnShape shape, int[] lengths, bool reverse, bool hasH0, bool hasDhN, double weightScale, int seed)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(lengths);
        var rng = new Random(seed);
        var p = new ReferenceGruParameters(shape.I, shape.H);
        FillParameters(rng, p, weightScale);
        // x: [T, B, I]  h0: [B, H]  dOutputs: [T, B, H]  dhN: [B, H]
        double[] x = Uniform(rng, shape.T * shape.B * shape.I, 1.0);
        double[]? h0 = hasH0 ? Uniform(rng, shape.B * shape.H, 1.0) : null;
        double[] dOutputs = Uniform(rng, shape.T * shape.B * shape.H, 1.0);
        double[]? dhN = hasDhN ? Uniform(rng, shape.B * shape.H, 1.0) : null;
        return new GruCase(shape, p, x, h0, (int[])lengths.Clone(), reverse, dOutputs, dhN, weightScale, seed);
    }

    /// <summary>A copy of <paramref name="x"/>, <c>[T, B, I]</c>, with NaN at every padded step (<c>t &gt;= lengths[b]</c>).</summary>
    internal static double[] WithNaNPadding(RnnShape shape, int[] lengths, double[] x)
    {
        var copy = (double[])x.Clone();
        for (int t = 0; t < shape.T; t++)
        {
            for (int b = 0; b < shape.B; b++)
            {
                if (t >= lengths[b])
                    Array.Fill(copy, double.NaN, ((t * shape.B) + b) * shape.I, shape.I);
            }
        }
        return copy;
    }

    /// <summary>How a case summary names an optional array.</summary>
    internal static string Describe(double[]? values) => values is null ? "zeros" : "random";

    // The draws shared by the gated cells (c0 and dc_n are ignored by the GRU).
    private static Gen<GatedDraw> GatedDraws(int maxT, int maxB, int maxSize) =>
        from shape in Shapes(maxT, maxB, maxSize)
        from lengths in Lengths(shape.T, shape.B)
        from reverse in Gen.Elements(false, true)
        from hasH0 in Mostly()
        from hasC0 in Mostly()
        from hasDhN in Mostly()
        from hasDcN in Mostly()
        from weightScale in Gen.Frequency((4, Gen.Constant(1.0)), (1, Gen.Constant(3.0)))
        from seed in Seeds()
        select new GatedDraw(shape, lengths, reverse, hasH0, hasC0, hasDhN, hasDcN, weightScale, seed);

    // True three times in four: optional arrays are usually present, sometimes null (zeros).
    private static Gen<bool> Mostly() => Gen.Frequency((1, Gen.Constant(false)), (3, Gen.Constant(true)));

    // PyTorch's initialization scaled by s: every parameter uniform in [-s/sqrt(H), s/sqrt(H)], drawn in the order W_ih, W_hh, b_ih, b_hh.
    private static void FillParameters(Random rng, ReferenceRnnParameters p, double scale)
    {
        double bound = scale / Math.Sqrt(p.HiddenSize);
        Fill(rng, bound, p.WeightIh);
        Fill(rng, bound, p.WeightHh);
        Fill(rng, bound, p.BiasIh);
        Fill(rng, bound, p.BiasHh);
    }

    private static Gen<int> Sizes(int maxSize)
    {
        int[] edges = s_edgeSizes.Where(s => s <= maxSize).ToArray();
        return Gen.Frequency((3, Gen.Elements(edges)), (2, Gen.Choose(1, maxSize)));
    }

    private static Gen<int> Seeds() => Gen.Choose(0, int.MaxValue);

    private static double[] Uniform(Random rng, int count, double scale)
    {
        var values = new double[count];
        Fill(rng, scale, values);
        return values;
    }

    private static void Fill(Random rng, double scale, double[] values)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = scale * ((2.0 * rng.NextDouble()) - 1.0);
    }

    private sealed record GatedDraw(
        RnnShape Shape, int[] Lengths, bool Reverse, bool HasH0, bool HasC0, bool HasDhN, bool HasDcN, double WeightScale, int Seed);
}
