// `activations`: the cells' tanh and sigmoid (VectorMath) in ns per element over 32K floats in L2, at every vector
// width this CPU runs, medians of Timing.Median rounds. The pointwise part of a forward step is mostly these.
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastRnn.Cli.Benchmarking;
using FastRnn.Kernels;

namespace FastRnn.Bench;

internal static class ActivationProbe
{
    private const int Length = 32 * 1024;

    public static void Run()
    {
        var random = new Random(1);
        Memory<float> input = AlignedMemory.Allocate(Length), output = AlignedMemory.Allocate(Length);
        Span<float> values = input.Span;
        for (int i = 0; i < Length; i++)
        {
            values[i] = (float)((10 * random.NextDouble()) - 5);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            Report<Ops512, Vector512<float>>("AVX-512", input, output);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            Report<Ops256, Vector256<float>>("256-bit", input, output);
        }

        Report<Ops128, Vector128<float>>("128-bit", input, output);
    }

    private static void Report<TOps, TVector>(string width, Memory<float> input, Memory<float> output)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        double tanh = Best(() => Apply<TOps, TVector>(input.Span, output.Span, tanh: true));
        double sigmoid = Best(() => Apply<TOps, TVector>(input.Span, output.Span, tanh: false));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{width,-8} tanh {tanh / Length * 1e9,6:F3} ns/element   sigmoid {sigmoid / Length * 1e9,6:F3} ns/element"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Apply<TOps, TVector>(Span<float> input, Span<float> output, bool tanh)
        where TOps : struct, IVectorOps<TVector>
        where TVector : struct
    {
        ref float x = ref input[0];
        ref float y = ref output[0];
        for (nint i = 0; i < Length; i += TOps.Count)
        {
            TVector v = TOps.Load(ref x, i);
            TOps.Store(tanh ? VectorMath.Tanh<TOps, TVector>(v) : VectorMath.Sigmoid<TOps, TVector>(v), ref y, i);
        }
    }

    private static double Best(Action action)
    {
        double best = double.MaxValue;
        for (int round = 0; round < 7; round++)
        {
            best = Math.Min(best, Timing.Median(action, 0.1));
        }

        return best;
    }
}
