// The cells' sigmoid and tanh approximations meet their stated bound, |error| <= 4e-7 |f(x)| + 1e-9, at every width.
using System.Runtime.Intrinsics;
using FastRnn.Kernels;

namespace FastRnn.Tests;

public class VectorMathTests
{
    private const double Relative = 4e-7, Absolute = 1e-9;

    private static IEnumerable<float> Inputs()
    {
        // Dense over the interesting range, out to tanh's switch to sign(x) at |x| = 9, sigmoid's exp clamps and beyond.
        for (double x = -30; x <= 30; x += 1.0 / 4096)
        {
            yield return (float)x;
        }

        var random = new Random(7);
        for (int i = 0; i < 200_000; i++)
        {
            // Random bit patterns cover tiny, huge and subnormal magnitudes.
            float value = BitConverter.Int32BitsToSingle(random.Next() | (random.Next(2) << 31));
            if (float.IsFinite(value))
            {
                yield return value;
            }
        }

        foreach (float special in (float[])[0f, -0f, 0.3f, -0.3f, 0.29999998f, 8.999999f, 9f, 9.000001f, -9f, 87.3f, -87.3f, 88.7f, 100f, -100f, 1e19f, float.MaxValue, float.MinValue, float.Epsilon])
        {
            yield return special;
        }
    }

    private static void Check(string name, float x, float actual, double expected)
    {
        double error = Math.Abs(actual - expected);
        if (!(error <= (Relative * Math.Abs(expected)) + Absolute))
        {
            Assert.Fail($"{name}({x:R}) = {actual:R}, exact {expected:R}, error {error:E3} above {Relative} relative + {Absolute}");
        }
    }

    private static void CheckWidth<TOps, TVector>(Func<float[], int, TVector> load, Func<TVector, int, float> lane)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        float[] inputs = Inputs().ToArray();
        int width = TOps.Count;
        float[] chunk = new float[width];
        for (int start = 0; start < inputs.Length; start += width)
        {
            for (int j = 0; j < width; j++)
            {
                chunk[j] = inputs[Math.Min(start + j, inputs.Length - 1)];
            }

            TVector x = load(chunk, 0);
            TVector sigmoid = VectorMath.Sigmoid<TOps, TVector>(x), tanh = VectorMath.Tanh<TOps, TVector>(x);
            for (int j = 0; j < width; j++)
            {
                Check("sigmoid", chunk[j], lane(sigmoid, j), 1.0 / (1.0 + Math.Exp(-(double)chunk[j])));
                Check("tanh", chunk[j], lane(tanh, j), Math.Tanh(chunk[j]));
            }
        }

        // Infinities saturate; NaN stays NaN.
        float[] special = new float[width];
        Array.Fill(special, float.NaN);
        special[0] = float.PositiveInfinity;
        if (width > 1)
        {
            special[1] = float.NegativeInfinity;
        }

        TVector s = VectorMath.Sigmoid<TOps, TVector>(load(special, 0)), t = VectorMath.Tanh<TOps, TVector>(load(special, 0));
        Assert.Equal(1f, lane(s, 0));
        Assert.Equal(1f, lane(t, 0));
        if (width > 1)
        {
            Assert.True(lane(s, 1) >= 0f && lane(s, 1) < 1e-30f);
            Assert.Equal(-1f, lane(t, 1));
            Assert.True(float.IsNaN(lane(s, width - 1)) && float.IsNaN(lane(t, width - 1)));
        }
    }

    [Fact]
    public void Scalar_lane_meets_the_bound() => CheckWidth<OpsScalar, float>((a, i) => a[i], (v, _) => v);

    [Fact]
    public void Vector128_meets_the_bound() => CheckWidth<Ops128, Vector128<float>>((a, i) => Vector128.Create(a.AsSpan(i)), (v, j) => v[j]);

    [Fact]
    public void Vector256_meets_the_bound() => CheckWidth<Ops256, Vector256<float>>((a, i) => Vector256.Create(a.AsSpan(i)), (v, j) => v[j]);

    [Fact]
    public void Vector512_meets_the_bound() => CheckWidth<Ops512, Vector512<float>>((a, i) => Vector512.Create(a.AsSpan(i)), (v, j) => v[j]);

    [Fact]
    public void NaN_propagates_in_the_scalar_lane()
    {
        Assert.True(float.IsNaN(VectorMath.Sigmoid<OpsScalar, float>(float.NaN)));
        Assert.True(float.IsNaN(VectorMath.Tanh<OpsScalar, float>(float.NaN)));
    }
}
