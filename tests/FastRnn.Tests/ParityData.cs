// Loads the PyTorch parity data in tests/parity/<case>.txt: one tensor per line, "<name> <dims> <values...>".
using System.Globalization;

namespace FastRnn.Tests;

internal sealed class ParityData
{
    private readonly Dictionary<string, (int[] Shape, double[] Values)> _tensors = [];

    public static ParityData Load(string caseName)
    {
        var data = new ParityData();
        foreach (string line in System.IO.File.ReadLines(RepositoryPaths.File($"tests/parity/{caseName}.txt")))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int[] shape = Array.ConvertAll(parts[1].Split(','), s => int.Parse(s, CultureInfo.InvariantCulture));
            double[] values = new double[parts.Length - 2];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = double.Parse(parts[i + 2], CultureInfo.InvariantCulture);
            }

            Assert.Equal(shape.Aggregate(1, (a, b) => a * b), values.Length);
            data._tensors.Add(parts[0], (shape, values));
        }

        return data;
    }

    public bool Has(string name) => _tensors.ContainsKey(name);

    public double[] this[string name] => _tensors[name].Values;

    public int[] Shape(string name) => _tensors[name].Shape;

    public float[] Float(string name) => Array.ConvertAll(this[name], v => (float)v);

    public int[] Ints(string name) => Array.ConvertAll(this[name], v => (int)v);

    /// <summary>Direction d of a [D, B, H] tensor.</summary>
    public float[] Direction(string name, int d)
    {
        int[] shape = Shape(name);
        int size = shape[1] * shape[2];
        return Float(name).AsSpan(d * size, size).ToArray();
    }

    /// <summary>Half d (of D) of the last dimension of a [T, B, D*H] tensor, as [T, B, H].</summary>
    public float[] Half(string name, int d, int directions)
    {
        int[] shape = Shape(name);
        int h = shape[2] / directions, rows = shape[0] * shape[1];
        float[] all = Float(name), half = new float[rows * h];
        for (int r = 0; r < rows; r++)
        {
            all.AsSpan((r * shape[2]) + (d * h), h).CopyTo(half.AsSpan(r * h, h));
        }

        return half;
    }

    /// <summary>The PyTorch parity bound: |a - b| &lt;= 1e-5 * max(1, |b|).</summary>
    public void AssertMatches(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double bound = 1e-5 * Math.Max(1, Math.Abs(expected[i]));
            if (!(Math.Abs(actual[i] - expected[i]) <= bound))
            {
                Assert.Fail($"{name}[{i}] = {actual[i]:R}, PyTorch {expected[i]:R} (|diff| {Math.Abs(actual[i] - expected[i]):E2} > {bound:E2})");
            }
        }
    }

    public void AssertMatches(ReadOnlySpan<float> actual, string name) => AssertMatches(actual, this[name], name);

    public void AssertMatches(ReadOnlySpan<float> actual, ReadOnlySpan<float> expectedAsFloat, string name)
    {
        double[] expected = new double[expectedAsFloat.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = expectedAsFloat[i];
        }

        AssertMatches(actual, expected, name);
    }
}
