// Entry point: `simd` prints the SIMD widths this process sees (CI proves its environment switches with it),
// `quick` prints the throughput table without BenchmarkDotNet, `gemm` compares the GEMM with OpenBLAS (`gemm --k-blocks`: whole-K against K-blocked packed products; `gemm --packs`: the packing of the weight-gradient products and the micro-kernel's in-cache rate), `targets` times the performance issue's shapes (`quick` and `targets` take `--threads N`), `peak` measures the FMA rate per thread the GFLOP/s are a fraction of, `activations` times the cells' tanh and sigmoid per element, anything else goes to BenchmarkDotNet's switcher.
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Running;
using FastRnn.Bench;

if (args.Length > 0 && args[0] == "simd")
{
    Console.WriteLine($"Vector512.IsHardwareAccelerated={Vector512.IsHardwareAccelerated} Vector256.IsHardwareAccelerated={Vector256.IsHardwareAccelerated} Vector128.IsHardwareAccelerated={Vector128.IsHardwareAccelerated} Vector<float>.Count={System.Numerics.Vector<float>.Count}");
    return;
}

if (args.Length > 0 && args[0] == "gemm")
{
    if (args.AsSpan(1).Contains("--packs"))
    {
        PackProbe.Run();
        return;
    }

    if (args.AsSpan(1).Contains("--k-blocks"))
    {
        KBlockProbe.Run();
        return;
    }

    GemmQuick.Run();
    return;
}

if (args.Length > 0 && args[0] == "targets")
{
    QuickTable.RunTargets(args.AsSpan(1));
    return;
}

if (args.Length > 0 && args[0] == "peak")
{
    FmaPeak.Run(args.AsSpan(1));
    return;
}

if (args.Length > 0 && args[0] == "activations")
{
    ActivationProbe.Run();
    return;
}

if (args.Length > 0 && args[0] == "quick")
{
    QuickTable.Run(args.AsSpan(1));
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(RecurrentBenchmarks).Assembly).Run(args);
