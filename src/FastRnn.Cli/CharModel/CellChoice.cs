// The cell of a trainable model as the command line names it: elman-tanh, elman-relu, elman-sigmoid, lstm, gru. Unlike
// FastRnn.Cli.CellKind (the benchmark's three cells), this names the library's cell and the Elman nonlinearity together.
using System.CommandLine;
using FastRnn.IO;
using LayerCell = FastRnn.Layers.CellKind;

namespace FastRnn.Cli.CharModel;

/// <summary>A recurrent cell with its Elman nonlinearity (tanh for LSTM and GRU, where it does not apply).</summary>
/// <param name="Cell">The library's cell.</param>
/// <param name="Nonlinearity">The Elman nonlinearity.</param>
public readonly record struct CellChoice(LayerCell Cell, Nonlinearity Nonlinearity)
{
    /// <summary>The names accepted, for help and error messages.</summary>
    public const string Expected = "elman-tanh, elman-relu, elman-sigmoid, lstm or gru";

    /// <summary>The command-line name: <c>lstm</c>, <c>gru</c> or <c>elman-</c> plus the nonlinearity.</summary>
    public string Name => Cell switch
    {
        LayerCell.Lstm => "lstm",
        LayerCell.Gru => "gru",
        _ => "elman-" + RecurrentStackFiles.MetadataName(Nonlinearity),
    };

    /// <summary>Parses a name (case-insensitive; <c>elman</c> alone means <c>elman-tanh</c>); false for anything else.</summary>
    /// <remarks>The names are the demo's (<see cref="Demo.DemoCell"/>), so every command spells cells alike.</remarks>
    public static bool TryParse(string text, out CellChoice choice)
    {
        bool ok = Demo.DemoCell.TryParse(text, out Demo.DemoCell cell);
        choice = ok ? new CellChoice(cell.Cell, cell.Nonlinearity) : default;
        return ok;
    }

    /// <summary>A <c>--cell</c> option; an unknown name is a parse error listing the accepted ones.</summary>
    public static Option<CellChoice> Option(string name, CellChoice defaultValue, string description)
    {
        return new Option<CellChoice>(name)
        {
            Description = $"{description} ({Expected})",
            HelpName = "CELL",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (!TryParse(text, out CellChoice choice))
                {
                    result.AddError($"{name}: unknown cell '{text}' (expected {Expected})");
                }

                return choice;
            },
        };
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
