// Legend: T time steps, B batch, I input size, H hidden size.
// One Elman training step (forward + full BPTT, no head) per invocation. Throughput: tokens/s = T*B / time;
// FLOPs: forward 2*T*B*H*(I+H), training step 3x that.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FastRnn.Layers;

namespace FastRnn.Bench;

[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class ElmanBenchmarks
{
    private ElmanLayer _layer = null!;
    private RecurrentWorkspace _workspace = null!;
    private float[] _x = null!, _output = null!, _dOutput = null!, _dX = null!;

    [Params(16, 64, 256, 1024)]
    public int T { get; set; }

    [Params(16)]
    public int B { get; set; }

    [Params(128)]
    public int H { get; set; }

    public int I => H;

    [GlobalSetup]
    public void Setup()
    {
        _layer = new ElmanLayer(new ParameterStore(), I, H, Nonlinearity.Tanh, seed: 1);
        _workspace = _layer.CreateWorkspace(T, B);
        var random = new Random(2);
        _x = Values(random, T * B * I);
        _dOutput = Values(random, T * B * H);
        _output = new float[T * B * H];
        _dX = new float[T * B * I];
    }

    [Benchmark]
    public void Forward() => _layer.Forward(_x, T, B, _output, _workspace);

    [Benchmark]
    public void TrainingStep()
    {
        _layer.Forward(_x, T, B, _output, _workspace);
        _layer.Backward(_dOutput, _workspace, _dX);
    }

    internal static float[] Values(Random random, int count)
    {
        float[] values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((2 * random.NextDouble()) - 1);
        }

        return values;
    }
}

/// <summary>Adds tokens/s and GFLOP/s columns computed from the benchmark's parameters.</summary>
public sealed class ThroughputConfig : BenchmarkDotNet.Configs.ManualConfig
{
    public ThroughputConfig()
    {
        AddColumn(new ThroughputColumn("tokens/s", perToken: true), new ThroughputColumn("GFLOP/s", perToken: false));
    }
}

internal sealed class ThroughputColumn(string name, bool perToken) : IColumn
{
    public string Id => name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => perToken ? "Sequence steps (T*B) processed per second" : "Useful FLOPs per second: forward 2*T*B*G*H*(I+H), training step 3x";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkReport? report = summary[benchmarkCase];
        if (report?.ResultStatistics is null)
        {
            return "-";
        }

        int Param(string param) => Convert.ToInt32(benchmarkCase.Parameters[param], System.Globalization.CultureInfo.InvariantCulture);
        int t = Param("T"), b = Param("B"), h = Param("H");
        int i = benchmarkCase.Parameters.Items.Any(p => p.Name == "I") ? Param("I") : h;
        double seconds = report.ResultStatistics.Median * 1e-9;
        if (perToken)
        {
            return (t * b / seconds).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        }

        double flops = 2.0 * t * b * h * (i + h) * (benchmarkCase.Descriptor.WorkloadMethod.Name == "TrainingStep" ? 3 : 1);
        return (flops / seconds * 1e-9).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
