// Legend: T time steps, B batch, I input size, H hidden size, G gates.
// One layer's forward, and one training step (forward + full BPTT including dX), per invocation.
// Throughput: tokens/s = T*B / time; FLOPs: forward 2*T*B*G*H*(I+H), training step 3x that.
using BenchmarkDotNet.Attributes;
using FastRnn.Layers;

namespace FastRnn.Bench;

/// <summary>The cells the benchmarks cover.</summary>
public enum CellKind
{
    Elman,
    Lstm,
    Gru,
}

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

/// <summary>A layer with seeded data and preallocated buffers, shared by the BenchmarkDotNet suites and the quick table.</summary>
internal sealed class BenchLayer
{
    private readonly RecurrentLayer _layer;
    private readonly RecurrentWorkspace _workspace;
    private readonly float[] _x, _output, _dOutput, _dX;
    private readonly int _t, _b;

    public BenchLayer(CellKind cell, int t, int b, int i, int h)
    {
        var store = new ParameterStore();
        _layer = cell switch
        {
            CellKind.Lstm => new LstmLayer(store, i, h, seed: 1),
            CellKind.Gru => new GruLayer(store, i, h, seed: 1),
            _ => new ElmanLayer(store, i, h, Nonlinearity.Tanh, seed: 1),
        };
        _t = t;
        _b = b;
        _workspace = _layer.CreateWorkspace(t, b);
        var random = new Random(2);
        _x = Values(random, t * b * i);
        _dOutput = Values(random, t * b * h);
        _output = new float[t * b * h];
        _dX = new float[t * b * i];
    }

    public int GateCount => _layer.GateCount;

    public void Forward() => _layer.Forward(_x, _t, _b, _output, _workspace);

    public void TrainingStep()
    {
        _layer.Forward(_x, _t, _b, _output, _workspace);
        _layer.Backward(_dOutput, _workspace, _dX);
    }

    private static float[] Values(Random random, int count)
    {
        float[] values = new float[count];
        for (int k = 0; k < values.Length; k++)
        {
            values[k] = (float)((2 * random.NextDouble()) - 1);
        }

        return values;
    }
}
