// `fastrnn plot FILE`: a line plot of a tab- or comma-separated table (first column x, every other column a series),
// e.g. a training log, saved as PNG in --out.
using System.CommandLine;
using System.Globalization;
using FastRnn.Cli.Output;
using Spectre.Console;

namespace FastRnn.Cli.Commands;

/// <summary>Plots the columns of a TSV/CSV file against its first column.</summary>
internal sealed class PlotCommand() : CliCommand("plot", "Line plot (PNG) of a TSV/CSV file: first column x, other columns series")
{
    private readonly Argument<FileInfo> _file = CliOptions.ExistingFile("FILE", "Table with a header line; tab- or comma-separated");
    private readonly Option<bool> _logY = new("--log-y") { Description = "Log-scale Y axis (ticks at powers of ten)" };
    private readonly Option<string?> _title = new("--title") { Description = "Plot title (default: the file name)" };
    private readonly Option<string?> _yLabel = new("--y-label") { Description = "Y axis label (default: none)" };

    protected override IReadOnlyList<Symbol> Symbols => [_file, _logY, _title, _yLabel];

    protected internal override int Execute(ParseResult parseResult, CommandContext context)
    {
        FileInfo file = parseResult.GetValue(_file)!;
        (string[] headers, List<double[]> rows) = ReadTable(file.FullName);
        var plot = new LinePlot
        {
            Title = parseResult.GetValue(_title) ?? file.Name,
            XLabel = headers[0],
            YLabel = parseResult.GetValue(_yLabel) ?? "",
            LogY = parseResult.GetValue(_logY),
        };
        double[] x = Column(rows, 0);
        for (int c = 1; c < headers.Length; c++)
        {
            plot.Add(headers[c], x, Column(rows, c));
        }

        string path = context.SavePlot(plot, Path.GetFileNameWithoutExtension(file.Name) + ".png");
        context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {path} ({headers.Length - 1} series, {rows.Count} points)"));
        return FastRnnCli.Success;
    }

    /// <summary>Reads a header line and numeric rows; empty cells and "nan" are NaN (gaps in the plot).</summary>
    internal static (string[] Headers, List<double[]> Rows) ReadTable(string path)
    {
        string[] lines = File.ReadAllLines(path);
        int first = Array.FindIndex(lines, line => line.Trim().Length > 0);
        if (first < 0)
        {
            throw new InvalidDataException($"{path}: empty file; expected a header line and rows of numbers");
        }

        char separator = lines[first].Contains('\t', StringComparison.Ordinal) ? '\t' : ',';
        string[] headers = [.. lines[first].Split(separator).Select(header => header.Trim())];
        if (headers.Length < 2)
        {
            throw new InvalidDataException($"{path}: expected at least 2 columns (x and one series) in the header, got {headers.Length}");
        }

        var rows = new List<double[]>();
        for (int l = first + 1; l < lines.Length; l++)
        {
            if (lines[l].Trim().Length == 0)
            {
                continue;
            }

            string[] cells = lines[l].Split(separator);
            if (cells.Length != headers.Length)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{path} line {l + 1}: expected {headers.Length} cells, got {cells.Length}"));
            }

            double[] row = new double[cells.Length];
            for (int c = 0; c < cells.Length; c++)
            {
                string cell = cells[c].Trim();
                if (cell.Length == 0 || cell.Equals("nan", StringComparison.OrdinalIgnoreCase))
                {
                    row[c] = double.NaN;
                }
                else if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out row[c]))
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{path} line {l + 1}, column '{headers[c]}': '{cell}' is not a number"));
                }
            }

            rows.Add(row);
        }

        if (rows.Count == 0)
        {
            throw new InvalidDataException($"{path}: no rows after the header");
        }

        return (headers, rows);
    }

    private static double[] Column(List<double[]> rows, int column)
    {
        double[] values = new double[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            values[r] = rows[r][column];
        }

        return values;
    }
}
