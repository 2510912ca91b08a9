// Line plots saved as PNG with ScottPlot 5 (SkiaSharp, no display needed). A log-scale Y axis in ScottPlot 5 is not an
// axis mode: the data is plotted as log10(y) and a tick generator places and labels ticks in the original units; here
// major ticks sit at every power of ten and are labelled as such, minor ticks at 2..9 times each power.
using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace FastRnn.Cli.Output;

/// <summary>One named line: <c>Y[k]</c> against <c>X[k]</c>.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="X">X values.</param>
/// <param name="Y">Y values, as many as <paramref name="X"/>; non-finite points (and non-positive ones on a log axis) are left out.</param>
public sealed record PlotSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>A line plot of one or more series with title, axis labels, legend and optional log-scale Y, saved to PNG.</summary>
public sealed class LinePlot
{
    // Sans fonts to try, in order, before whatever the system offers. The Linux Skia build used here does not ask
    // fontconfig: it scans /usr/share/fonts itself, and with no font there it draws no text at all (lines still
    // render). FASTRNN_FONT=/path/to/font.ttf supplies a font explicitly.
    private static readonly string[] s_preferredFonts = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica"];
    private static readonly char[] s_superscriptDigits = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    private static readonly Lazy<string?> s_font = new(FindFont);

    private const string FontVariable = "FASTRNN_FONT";
    private const string ExplicitFontName = "FastRnn plot font";

    private readonly List<PlotSeries> _series = [];

    /// <summary>The font family plots use; null when the machine has none, and text is then not drawn.</summary>
    public static string? FontFamily => s_font.Value;

    /// <summary>Title above the plot.</summary>
    public string Title { get; init; } = "";

    /// <summary>Label of the X axis.</summary>
    public string XLabel { get; init; } = "";

    /// <summary>Label of the Y axis.</summary>
    public string YLabel { get; init; } = "";

    /// <summary>Log-scale Y: ticks at powers of ten; points with y &lt;= 0 are left out.</summary>
    public bool LogY { get; init; }

    /// <summary>Where the legend sits inside the plot area; pick the corner the data leaves empty.</summary>
    public Alignment LegendAlignment { get; init; } = Alignment.UpperRight;

    /// <summary>Width of the PNG in pixels.</summary>
    public int Width { get; init; } = 800;

    /// <summary>Height of the PNG in pixels.</summary>
    public int Height { get; init; } = 500;

    /// <summary>The series added so far.</summary>
    public IReadOnlyList<PlotSeries> Series => _series;

    /// <summary>Adds a series; <paramref name="x"/> and <paramref name="y"/> must have the same length.</summary>
    public LinePlot Add(string name, IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"series '{name}': expected as many y values as x values ({x.Count}), got {y.Count}", nameof(y));
        }

        _series.Add(new PlotSeries(name, x, y));
        return this;
    }

    /// <summary>Renders the plot and saves it as a PNG at <paramref name="path"/> (the directory must exist).</summary>
    public void SavePng(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Width < 50 || Height < 50)
        {
            throw new ArgumentException($"expected a plot of at least 50x50 pixels, got {Width}x{Height}");
        }

        using Plot plot = Build();
        plot.SavePng(path, Width, Height);
    }

    /// <summary>The ScottPlot plot, for callers that want to adjust it further.</summary>
    public Plot Build()
    {
        var plot = new Plot();
        if (s_font.Value is string font)
        {
            plot.Font.Set(font);
        }

        double lowest = double.PositiveInfinity, highest = double.NegativeInfinity;
        foreach (PlotSeries series in _series)
        {
            (double[] xs, double[] ys) = Points(series, LogY);
            var line = plot.Add.ScatterLine(xs, ys);
            line.LegendText = series.Name;
            line.LineWidth = 2;
            foreach (double y in ys)
            {
                lowest = Math.Min(lowest, y);
                highest = Math.Max(highest, y);
            }
        }

        if (LogY && lowest <= highest)
        {
            UseLogTicks(plot, lowest, highest);
        }

        if (Title.Length > 0)
        {
            plot.Title(Title);
        }

        plot.XLabel(XLabel);
        plot.YLabel(YLabel);
        if (_series.Count > 0)
        {
            plot.ShowLegend(LegendAlignment);
        }

        return plot;
    }

    /// <summary>The label of 10^<paramref name="exponent"/>: plain decimals (0.001 to 10000) or "10" with a superscript exponent.</summary>
    internal static string PowerOfTenLabel(int exponent, bool plain)
    {
        if (plain)
        {
            return Math.Pow(10, exponent).ToString(exponent < 0 ? "0.#########" : "0", CultureInfo.InvariantCulture);
        }

        string digits = Math.Abs(exponent).ToString(CultureInfo.InvariantCulture);
        var label = new System.Text.StringBuilder("10");
        if (exponent < 0)
        {
            label.Append('⁻');
        }

        foreach (char digit in digits)
        {
            label.Append(s_superscriptDigits[digit - '0']);
        }

        return label.ToString();
    }

    private static (double[] X, double[] Y) Points(PlotSeries series, bool logY)
    {
        var xs = new List<double>(series.X.Count);
        var ys = new List<double>(series.Y.Count);
        for (int k = 0; k < series.X.Count; k++)
        {
            double x = series.X[k], y = series.Y[k];
            if (!double.IsFinite(x) || !double.IsFinite(y) || (logY && y <= 0))
            {
                continue;
            }

            xs.Add(x);
            ys.Add(logY ? Math.Log10(y) : y);
        }

        return ([.. xs], [.. ys]);
    }

    // lowest, highest: the data's range in log10 units. The axis spans whole decades around it, so at least two
    // labelled powers of ten are always visible, however narrow the data.
    private static void UseLogTicks(Plot plot, double lowest, double highest)
    {
        int first = (int)Math.Floor(lowest);
        int last = (int)Math.Ceiling(highest);
        if (last == first)
        {
            last++;
        }

        bool plain = first >= -3 && last <= 4;
        int labelEvery = Math.Max(1, (last - first + 9) / 10);
        var ticks = new NumericManual();
        for (int exponent = first; exponent <= last; exponent++)
        {
            if ((exponent - first) % labelEvery == 0)
            {
                ticks.AddMajor(exponent, PowerOfTenLabel(exponent, plain));
            }
            else
            {
                ticks.AddMinor(exponent);
            }

            if (exponent < last && labelEvery == 1)
            {
                for (int multiple = 2; multiple <= 9; multiple++)
                {
                    ticks.AddMinor(exponent + Math.Log10(multiple));
                }
            }
        }

        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.SetLimitsY(first, last);
    }

    private static string? FindFont()
    {
        string? file = Environment.GetEnvironmentVariable(FontVariable);
        if (!string.IsNullOrEmpty(file) && File.Exists(file))
        {
            Fonts.AddFontFile(ExplicitFontName, file);
            return ExplicitFontName;
        }

        // With no font files Skia still lists one family, named "" and without glyphs.
        var available = new List<string>();
        foreach (string family in SkiaSharp.SKFontManager.Default.FontFamilies)
        {
            if (family.Length > 0)
            {
                available.Add(family);
            }
        }

        foreach (string font in s_preferredFonts)
        {
            if (available.Contains(font, StringComparer.OrdinalIgnoreCase))
            {
                return font;
            }
        }

        return available.Count > 0 ? available[0] : null;
    }

    /// <summary>The warning to show when <see cref="FontFamily"/> is null.</summary>
    internal const string NoFontWarning =
        "no font found under /usr/share/fonts, so plot text (title, labels, ticks) is not drawn; install one (e.g. Debian's fonts-dejavu-core) or set " + FontVariable + " to a .ttf file";
}
