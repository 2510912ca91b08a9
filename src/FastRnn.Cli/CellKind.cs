// The recurrent cells the command line offers, and their names on the command line.
namespace FastRnn.Cli;

/// <summary>The recurrent cells the command line and the benchmarks cover.</summary>
public enum CellKind
{
    /// <summary>Elman RNN with tanh: <c>h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)</c> (G = 1).</summary>
    Elman,

    /// <summary>LSTM, gate order i, f, g, o (G = 4).</summary>
    Lstm,

    /// <summary>GRU, gate order r, z, n, linear-before-reset (G = 3).</summary>
    Gru,
}

/// <summary>Command-line names of <see cref="CellKind"/>: <c>elman</c>, <c>lstm</c>, <c>gru</c>.</summary>
public static class CellNames
{
    /// <summary>Every cell, in the order tables list them.</summary>
    public static IReadOnlyList<CellKind> All { get; } = [CellKind.Elman, CellKind.Lstm, CellKind.Gru];

    /// <summary>The names accepted, for help and error messages.</summary>
    public const string Expected = "elman, lstm or gru";

    /// <summary>The command-line name of <paramref name="cell"/>.</summary>
    public static string Name(CellKind cell) => cell switch
    {
        CellKind.Lstm => "lstm",
        CellKind.Gru => "gru",
        _ => "elman",
    };

    /// <summary>Parses a cell name (case-insensitive); false for anything else.</summary>
    public static bool TryParse(string text, out CellKind cell)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "elman":
                cell = CellKind.Elman;
                return true;
            case "lstm":
                cell = CellKind.Lstm;
                return true;
            case "gru":
                cell = CellKind.Gru;
                return true;
            default:
                cell = default;
                return false;
        }
    }
}
