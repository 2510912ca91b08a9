// Legend: T time steps, B batch, I input size, H hidden size, G gates.
// One layer's forward, and one training step (forward + full BPTT including dX), per invocation.
// Throughput: tokens/s = T*B / time; FLOPs: forward 2*T*B*G*H*(I+H), training step 3x that.
using BenchmarkDotNet.Attributes;
using FastRnn.Cli;
using FastRnn.Cli.Benchmarking;

namespace FastRnn.Bench;

[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class RecurrentBenchmarks
{
    private BenchLayer _layer = null!;

    [Params(CellKind.Elman, CellKind.Lstm, CellKind.Gru)]
    public CellKind Cell { get; set; }

    [Params(16, 64, 256, 1024)]
    public int T { get; set; }

    [Params(16)]
    public int B { get; set; }

    [Params(128)]
    public int H { get; set; }

    [Params(128)]
    public int I { get; set; }

    [GlobalSetup]
    public void Setup() => _layer = new BenchLayer(Cell, T, B, I, H);

    [Benchmark]
    public void Forward() => _layer.Forward();

    [Benchmark]
    public void TrainingStep() => _layer.TrainingStep();
}
