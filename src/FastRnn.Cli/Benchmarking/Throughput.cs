// Legend: T time steps, B batch, I input size, H hidden size, G gates.
// The quick throughput measurement per (cell, T): what `fastrnn bench` and bench/FastRnn.Bench's `quick` print.
using FastRnn.Threading;

namespace FastRnn.Cli.Benchmarking;

/// <summary>One measured case: forward and training-step medians of one layer shape, and bytes allocated per step.</summary>
/// <param name="Cell">The cell.</param>
/// <param name="SequenceLength">T.</param>
/// <param name="BatchSize">B.</param>
/// <param name="InputSize">I.</param>
/// <param name="HiddenSize">H.</param>
/// <param name="GateCount">G.</param>
/// <param name="ForwardSeconds">Median time of one forward pass.</param>
/// <param name="StepSeconds">Median time of one training step (forward + BPTT incl. dX).</param>
/// <param name="BytesPerStep">Bytes the process allocated during one training step after warm-up, worker threads included (0 expected).</param>
public readonly record struct ThroughputResult(
    CellKind Cell, int SequenceLength, int BatchSize, int InputSize, int HiddenSize, int GateCount,
    double ForwardSeconds, double StepSeconds, long BytesPerStep)
{
    /// <summary>Forward FLOPs, 2*T*B*G*H*(I+H).</summary>
    public double ForwardFlops => Flops.Forward(SequenceLength, BatchSize, InputSize, HiddenSize, GateCount);

    /// <summary>Sequence steps (T*B) per second in the forward pass.</summary>
    public double ForwardTokensPerSecond => (double)SequenceLength * BatchSize / ForwardSeconds;

    /// <summary>Sequence steps (T*B) per second in a training step.</summary>
    public double StepTokensPerSecond => (double)SequenceLength * BatchSize / StepSeconds;

    /// <summary>Forward GFLOP/s.</summary>
    public double ForwardGflops => ForwardFlops / ForwardSeconds * 1e-9;

    /// <summary>Training-step GFLOP/s, counting 3x the forward FLOPs.</summary>
    public double StepGflops => 3 * ForwardFlops / StepSeconds * 1e-9;
}

/// <summary>Measures <see cref="ThroughputResult"/>s.</summary>
public static class Throughput
{
    /// <summary>The sequence lengths of the standard table.</summary>
    public static IReadOnlyList<int> DefaultSequenceLengths { get; } = [16, 64, 256, 1024];

    /// <summary>
    /// Times one case: the forward pass and the training step, each for about <paramref name="seconds"/> after its
    /// warm-up (see <see cref="Timing.Median"/>), then counts the bytes one more step allocates.
    /// </summary>
    public static ThroughputResult Measure(
        CellKind cell, int sequenceLength, int batchSize, int inputSize, int hiddenSize, double seconds = Timing.DefaultSeconds, int seed = 1, WorkerPool? pool = null)
    {
        var layer = new BenchLayer(cell, sequenceLength, batchSize, inputSize, hiddenSize, seed, pool);
        double forward = Timing.Median(layer.Forward, seconds);
        double step = Timing.Median(layer.TrainingStep, seconds);

        // Process-wide, so that a pool's workers count too.
        long before = GC.GetTotalAllocatedBytes(precise: true);
        layer.TrainingStep();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        return new ThroughputResult(cell, sequenceLength, batchSize, inputSize, hiddenSize, layer.GateCount, forward, step, allocated);
    }
}
