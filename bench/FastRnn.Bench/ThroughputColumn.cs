using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FastRnn.Cli;
using FastRnn.Cli.Benchmarking;

namespace FastRnn.Bench;

/// <summary>Adds tokens/s and GFLOP/s columns computed from the benchmark's parameters.</summary>
public sealed class ThroughputConfig : ManualConfig
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

    public string Legend => perToken ? "Sequence steps (T*B) per second, from the median" : "Useful FLOPs per second from the median: forward 2*T*B*G*H*(I+H), training step 3x";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkReport? report = summary[benchmarkCase];
        if (report?.ResultStatistics is null)
        {
            return "-";
        }

        int Param(string param) => Convert.ToInt32(benchmarkCase.Parameters[param], CultureInfo.InvariantCulture);
        int t = Param("T"), b = Param("B"), h = Param("H"), i = Param("I");
        int g = benchmarkCase.Parameters["Cell"] switch
        {
            CellKind.Lstm => 4,
            CellKind.Gru => 3,
            _ => 1,
        };
        double seconds = report.ResultStatistics.Median * 1e-9;
        if (perToken)
        {
            return (t * b / seconds).ToString("N0", CultureInfo.InvariantCulture);
        }

        double flops = Flops.Forward(t, b, i, h, g) * (benchmarkCase.Descriptor.WorkloadMethod.Name == "TrainingStep" ? 3 : 1);
        return (flops / seconds * 1e-9).ToString("F1", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
