// The cells the demo compares: a recurrent cell of the library plus, for Elman, its nonlinearity. The CLI's own
// FastRnn.Cli.CellKind (bench) has no nonlinearity, so the demo names its cells itself: elman-tanh, elman-sigmoid,
// elman-relu, lstm, gru.
using LayerCell = FastRnn.Layers.CellKind;

namespace FastRnn.Cli.Demo;

/// <summary>A cell of the demo: the library's cell and the Elman nonlinearity, with its command-line name.</summary>
/// <param name="Name">The command-line name, e.g. <c>elman-tanh</c>.</param>
/// <param name="Cell">The recurrent cell.</param>
/// <param name="Nonlinearity">The Elman nonlinearity (tanh for LSTM and GRU, where it is not used).</param>
public sealed record DemoCell(string Name, LayerCell Cell, Nonlinearity Nonlinearity)
{
    /// <summary>Elman RNN, <c>h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)</c>.</summary>
    public static DemoCell ElmanTanh { get; } = new("elman-tanh", LayerCell.Elman, Nonlinearity.Tanh);

    /// <summary>Elman RNN with the logistic sigmoid (the seeds' first example: <c>sigmoid' &lt;= 0.25</c>).</summary>
    public static DemoCell ElmanSigmoid { get; } = new("elman-sigmoid", LayerCell.Elman, Nonlinearity.Sigmoid);

    /// <summary>Elman RNN with ReLU.</summary>
    public static DemoCell ElmanRelu { get; } = new("elman-relu", LayerCell.Elman, Nonlinearity.Relu);

    /// <summary>LSTM, gate order i, f, g, o.</summary>
    public static DemoCell Lstm { get; } = new("lstm", LayerCell.Lstm, Nonlinearity.Tanh);

    /// <summary>GRU, gate order r, z, n.</summary>
    public static DemoCell Gru { get; } = new("gru", LayerCell.Gru, Nonlinearity.Tanh);

    /// <summary>Every cell, in the order tables and plots list them.</summary>
    public static IReadOnlyList<DemoCell> All { get; } = [ElmanTanh, ElmanSigmoid, ElmanRelu, Lstm, Gru];

    /// <summary>The names accepted, for help and error messages.</summary>
    public const string Expected = "elman-tanh, elman-sigmoid, elman-relu, lstm or gru";

    /// <summary>Whether this is one of the gated cells (LSTM, GRU), as opposed to a simple (Elman) RNN.</summary>
    public bool IsGated => Cell != LayerCell.Elman;

    /// <summary>G, the gate blocks of <c>W_hh</c>: 1 (Elman), 4 (LSTM), 3 (GRU).</summary>
    public int GateCount => Cell switch
    {
        LayerCell.Lstm => 4,
        LayerCell.Gru => 3,
        _ => 1,
    };

    /// <summary>Parses a cell name (case-insensitive; <c>elman</c> alone means <c>elman-tanh</c>); false for anything else.</summary>
    public static bool TryParse(string text, out DemoCell cell)
    {
        ArgumentNullException.ThrowIfNull(text);
        string name = text.Trim().ToLowerInvariant();
        if (name == "elman")
        {
            name = ElmanTanh.Name;
        }

        foreach (DemoCell candidate in All)
        {
            if (candidate.Name == name)
            {
                cell = candidate;
                return true;
            }
        }

        cell = ElmanTanh;
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
