// Legend: T time steps, B batch, I input size, H hidden size, G gates.
namespace FastRnn.Cli.Benchmarking;

/// <summary>The useful floating-point work of a recurrent layer, for GFLOP/s figures.</summary>
public static class Flops
{
    /// <summary>
    /// Forward FLOPs, 2*T*B*G*H*(I+H): the multiply-adds of both projections over all steps. A training step (forward +
    /// BPTT) counts 3x this.
    /// </summary>
    public static double Forward(int sequenceLength, int batchSize, int inputSize, int hiddenSize, int gateCount) =>
        2.0 * sequenceLength * batchSize * gateCount * hiddenSize * (inputSize + hiddenSize);
}
