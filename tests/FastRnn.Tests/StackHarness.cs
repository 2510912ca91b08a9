// Builds random stacked (multi-layer, optionally bidirectional) cases and maps a fast RecurrentStack's parameters to
// the double reference, so the stack, pipeline and interop tests share one description.
using FastRnn.Layers;
using FastRnn.Testing;

namespace FastRnn.Tests;

/// <summary>One random stack configuration with its data.</summary>
internal sealed record StackCase(
    CellKind Cell, int Layers, int Directions, int T, int B, int I, int H, Nonlinearity Nonlinearity, float Dropout,
    int[]? Lengths, double[] X, double[]? H0, double[]? C0, double[] DOutput, double[]? DhN, double[]? DcN, int Seed)
{
    public int StateLength => Layers * Directions * B * H;

    public static StackCase Random(int seed, int maxLayers = 3)
    {
        var random = new Random(seed);
        var cell = (CellKind)random.Next(3);
        int L = random.Next(1, maxLayers + 1), D = random.Next(1, 3);
        int T = random.Next(1, 7), B = random.Next(1, 5), I = random.Next(1, 10), H = random.Next(1, 10);
        Nonlinearity nonlinearity = cell == CellKind.Elman ? (Nonlinearity)random.Next(3) : Nonlinearity.Tanh;
        float dropout = L > 1 && random.Next(3) == 0 ? 0.4f : 0f;
        int[]? lengths = random.Next(3) == 0 ? null : Enumerable.Range(0, B).Select(_ => random.Next(0, T + 1)).ToArray();
        int state = L * D * B * H;
        bool lstm = cell == CellKind.Lstm;
        return new StackCase(
            cell, L, D, T, B, I, H, nonlinearity, dropout, lengths,
            Values(random, T * B * I),
            random.Next(2) == 0 ? Values(random, state) : null,
            lstm && random.Next(2) == 0 ? Values(random, state) : null,
            Values(random, T * B * D * H),
            random.Next(2) == 0 ? Values(random, state) : null,
            lstm && random.Next(2) == 0 ? Values(random, state) : null,
            seed);
    }

    public static double[] Values(Random random, int count, double scale = 1)
    {
        double[] values = new double[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = scale * ((2 * random.NextDouble()) - 1);
        }

        return values;
    }

    public RecurrentStack CreateStack(ParameterStore store) =>
        new(store, Cell, I, H, Layers, Directions == 2, Nonlinearity, Dropout, Seed);

    public override string ToString() =>
        $"{Cell}/{Nonlinearity} L={Layers} D={Directions} T={T} B={B} I={I} H={H} dropout={Dropout} lengths=[{(Lengths is null ? "all" : string.Join(",", Lengths))}] seed={Seed}";
}

internal static class StackHarness
{
    /// <summary>The reference parameters of every layer and direction (index l*D + d), from the fast stack's float values.</summary>
    public static ReferenceRnnParameters[] ReferenceParameters(RecurrentStack stack)
    {
        var result = new ReferenceRnnParameters[stack.LayerCount * stack.DirectionCount];
        for (int l = 0; l < stack.LayerCount; l++)
        {
            for (int d = 0; d < stack.DirectionCount; d++)
            {
                RecurrentLayer layer = stack.Layer(l, d);
                ReferenceRnnParameters p = stack.Cell switch
                {
                    CellKind.Lstm => new ReferenceLstmParameters(layer.InputSize, layer.HiddenSize),
                    CellKind.Gru => new ReferenceGruParameters(layer.InputSize, layer.HiddenSize),
                    _ => new ReferenceElmanParameters(layer.InputSize, layer.HiddenSize) { Nonlinearity = stack.Nonlinearity },
                };
                Copy(layer.WeightIh.Values, p.WeightIh);
                Copy(layer.WeightHh.Values, p.WeightHh);
                Copy(layer.BiasIh.Values, p.BiasIh);
                Copy(layer.BiasHh.Values, p.BiasHh);
                result[(l * stack.DirectionCount) + d] = p;
            }
        }

        return result;
    }

    /// <summary>The dropout masks the last training forward pass drew, per boundary, or null without dropout.</summary>
    public static double[][]? DropoutMasks(StackWorkspace workspace, RecurrentStack stack, int T, int B)
    {
        if (!workspace.Training)
        {
            return null;
        }

        var masks = new double[stack.LayerCount - 1][];
        for (int l = 0; l < masks.Length; l++)
        {
            masks[l] = Array.ConvertAll(workspace.DropoutMask(l, T * B * stack.OutputSize).ToArray(), v => (double)v);
        }

        return masks;
    }

    public static void Copy(ReadOnlySpan<float> source, double[] destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = source[i];
        }
    }
}
