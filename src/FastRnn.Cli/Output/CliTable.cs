// Tables for humans (Spectre) and for tools (tab-separated), from the same rows.
using System.Globalization;
using Spectre.Console;

namespace FastRnn.Cli.Output;

/// <summary>
/// A table of text cells: <see cref="Write"/> renders it with Spectre (right-aligned numeric columns), and
/// <see cref="WriteTsv"/> saves it tab-separated. Cells are plain text, never Spectre markup.
/// </summary>
public sealed class CliTable
{
    private readonly List<(string Header, bool Numeric)> _columns = [];
    private readonly List<string[]> _rows = [];

    /// <summary>Creates an empty table with an optional title shown above it.</summary>
    public CliTable(string? title = null) => Title = title;

    /// <summary>The title shown above the table, if any.</summary>
    public string? Title { get; }

    /// <summary>The number of rows added.</summary>
    public int RowCount => _rows.Count;

    /// <summary>Adds a column; numeric columns are right-aligned.</summary>
    public CliTable AddColumn(string header, bool numeric = false)
    {
        if (_rows.Count > 0)
        {
            throw new InvalidOperationException("add every column before the first row");
        }

        _columns.Add((header, numeric));
        return this;
    }

    /// <summary>Adds a row with one cell per column.</summary>
    public CliTable AddRow(params string[] cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if (cells.Length != _columns.Count)
        {
            throw new ArgumentException($"expected {_columns.Count} cells (one per column), got {cells.Length}", nameof(cells));
        }

        _rows.Add(cells);
        return this;
    }

    /// <summary>Formats a number for a numeric cell: invariant culture, thousands separators, <paramref name="decimals"/> decimals.</summary>
    public static string Number(double value, int decimals = 0) =>
        double.IsFinite(value) ? value.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : "-";

    /// <summary>The Spectre renderable of the table as it is now (for live displays).</summary>
    public Table ToRenderable()
    {
        var table = new Table { Border = TableBorder.Rounded };
        if (Title is not null)
        {
            table.Title = new TableTitle(Title);
        }

        foreach ((string header, bool numeric) in _columns)
        {
            var column = new TableColumn(new Text(header)) { NoWrap = true };
            if (numeric)
            {
                column.RightAligned();
            }

            table.AddColumn(column);
        }

        foreach (string[] row in _rows)
        {
            var cells = new Text[row.Length];
            for (int c = 0; c < row.Length; c++)
            {
                cells[c] = new Text(row[c]);
            }

            table.AddRow(cells);
        }

        return table;
    }

    /// <summary>Writes the table to <paramref name="console"/>.</summary>
    public void Write(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        console.Write(ToRenderable());
    }

    /// <summary>Saves the table tab-separated with a header line (tabs and newlines inside cells become spaces).</summary>
    public void WriteTsv(string path)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine(string.Join('\t', _columns.Select(column => Clean(column.Header))));
        foreach (string[] row in _rows)
        {
            writer.WriteLine(string.Join('\t', row.Select(Clean)));
        }
    }

    private static string Clean(string cell) => cell.Replace('\t', ' ').ReplaceLineEndings(" ");
}
