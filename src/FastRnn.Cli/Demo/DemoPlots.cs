// Legend: N filler words, T = N + 2, d = T-1-t distance from the last step.
// The demo's PNGs. They start from LinePlot (fonts, legend, labels) and adjust the ScottPlot plot: N on a log axis
// labelled with the measured lengths, a dashed chance line, markers at measured points, and the two gradient plots
// (at initialisation, after training) on one shared Y range so they can be compared side by side.
using System.Globalization;
using FastRnn.Cli.Output;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace FastRnn.Cli.Demo;

/// <summary>Builds and saves the demo's plots.</summary>
public static class DemoPlots
{
    /// <summary>File name of the accuracy plot.</summary>
    public const string AccuracyFile = "demo-accuracy.png";

    /// <summary>File name of the gradient-norm plot at initialisation.</summary>
    public const string GradientsInitFile = "demo-gradients-init.png";

    /// <summary>File name of the gradient-norm plot after training.</summary>
    public const string GradientsTrainedFile = "demo-gradients-trained.png";

    private const int Width = 1000, Height = 560;

    private static readonly MarkerShape[] s_shapes = [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond, MarkerShape.FilledTriangleDown];

    /// <summary>Test accuracy against N per cell (mean over runs), with chance at 50%; saved as <see cref="AccuracyFile"/>.</summary>
    public static string SaveAccuracy(DemoReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        DemoSettings settings = report.Settings;
        string runs = settings.Runs == 1 ? "1 run" : $"lines: mean of {settings.Runs} runs, circles: single runs";
        var lines = new LinePlot
        {
            Title = Invariant($"Long-range sentiment: test accuracy vs distance\n{settings.Steps} steps x batch {settings.BatchSize} per run; {runs}"),
            XLabel = "N = filler words between the key words and the end (log scale)",
            YLabel = "test accuracy (%)",
        };
        // Cells that score the same (e.g. all at 100% or at chance) would hide each other: each cell is shifted
        // sideways by a small fraction of a decade and gets its own marker shape.
        double[] x = [.. settings.Lengths.Select(n => Math.Log10(n))];
        int cells = settings.Cells.Count;
        double Dodge(int c) => 0.012 * (c - ((cells - 1) / 2.0));
        for (int c = 0; c < cells; c++)
        {
            DemoCell cell = settings.Cells[c];
            lines.Add(cell.Name, [.. x.Select(v => v + Dodge(c))], [.. settings.Lengths.Select(n => report.MeanAccuracy(cell, n))]);
        }

        using Plot plot = lines.Build();
        Style(plot, markers: true);
        var scatters = plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        for (int c = 0; c < scatters.Count; c++)
        {
            scatters[c].MarkerShape = s_shapes[c % s_shapes.Length];
        }

        // Every run as a small hollow marker in its cell's colour, so the mean's spread is visible.
        if (settings.Runs > 1)
        {
            for (int c = 0; c < cells; c++)
            {
                var xs = new List<double>();
                var ys = new List<double>();
                foreach (DemoRunResult run in report.Results.Where(r => r.Job.Cell == settings.Cells[c]))
                {
                    xs.Add(Math.Log10(run.Job.Fillers) + Dodge(c));
                    ys.Add(run.AccuracyPercent);
                }

                var markers = plot.Add.Markers(xs.ToArray(), ys.ToArray(), MarkerShape.OpenCircle, 6, scatters[c].Color);
                markers.LegendText = "";
            }
        }

        var band = plot.Add.VerticalSpan(50 - report.ChanceBand, 50 + report.ChanceBand); // a span of the vertical axis
        band.FillStyle.Color = Colors.SteelBlue.WithAlpha(0.18);
        band.LineStyle.Width = 0;
        band.LegendText = Invariant($"chance range (99%: 50 +- {report.ChanceBand:F1})");
        var chance = plot.Add.HorizontalLine(50);
        chance.LinePattern = LinePattern.Dashed;
        chance.LineWidth = 1.5f;
        chance.Color = Colors.Gray;
        chance.LegendText = "chance (50%)";
        var learned = plot.Add.HorizontalLine(DemoReport.LearnedPercent);
        learned.LinePattern = LinePattern.Dotted;
        learned.LineWidth = 1;
        learned.Color = Colors.Gray;
        learned.LegendText = Invariant($"learned ({DemoReport.LearnedPercent}%)");

        var ticks = new NumericManual();
        foreach (int n in settings.Lengths)
        {
            ticks.AddMajor(Math.Log10(n), n.ToString(CultureInfo.InvariantCulture));
        }

        plot.Axes.Bottom.TickGenerator = ticks;
        double span = Math.Max(x[^1] - x[0], 0.5);
        plot.Axes.SetLimitsX(x[0] - (0.05 * span), x[^1] + (0.05 * span));
        plot.Axes.SetLimitsY(0, 104);
        plot.ShowLegend(Alignment.LowerLeft);
        return Save(plot, directory, AccuracyFile);
    }

    /// <summary>
    /// <c>||dL/dh_t|| / ||dL/dh_{T-1}||</c> against the distance d = T-1-t at the longest N, per cell, at initialisation and
    /// after training, as two PNGs with the same log-scale Y range. Returns both paths.
    /// </summary>
    public static IReadOnlyList<string> SaveGradients(DemoReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        DemoSettings settings = report.Settings;
        int n = settings.LongestLength, T = n + 2;

        // One Y range (whole decades) for both plots, from every positive value; float32 underflow (0) ends a line.
        double lowest = 0, highest = 0;
        foreach (DemoCell cell in settings.Cells)
        {
            DemoRunResult run = report.Showcase(cell);
            foreach (GradientProfile profile in (ReadOnlySpan<GradientProfile>)[run.InitialGradients, run.TrainedGradients])
            {
                foreach (double value in profile.RelativeByDistance())
                {
                    if (value > 0 && double.IsFinite(value))
                    {
                        lowest = Math.Min(lowest, Math.Log10(value));
                        highest = Math.Max(highest, Math.Log10(value));
                    }
                }
            }
        }

        int bottom = (int)Math.Floor(lowest), top = Math.Max((int)Math.Ceiling(highest), bottom + 1);
        var paths = new List<string>();
        foreach ((string phase, string file, bool trained) in (ReadOnlySpan<(string, string, bool)>)
            [("at initialisation", GradientsInitFile, false), ("after training", GradientsTrainedFile, true)])
        {
            var lines = new LinePlot
            {
                Title = Invariant($"Gradient reaching h_t {phase} (N={n}, T={T}; mean of {settings.ProbeBatches} batches, run 1)\na line ends where the norm underflows float32 (~1e-45) or is exactly 0"),
                XLabel = "distance from the last step, T-1-t (steps back in time)",
                YLabel = "||dL/dh_t|| / ||dL/dh_T-1|| (log scale)",
            };
            double[] distances = [.. Enumerable.Range(0, T).Select(d => (double)d)];
            foreach (DemoCell cell in settings.Cells)
            {
                DemoRunResult run = report.Showcase(cell);
                GradientProfile profile = trained ? run.TrainedGradients : run.InitialGradients;
                double[] relative = profile.RelativeByDistance();
                string name = profile.CutAt() is int cut ? Invariant($"{cell.Name} (exactly 0 from d={cut})") : cell.Name;
                lines.Add(name, distances, [.. relative.Select(v => v > 0 && double.IsFinite(v) ? Math.Log10(v) : double.NaN)]);
            }

            using Plot plot = lines.Build();
            Style(plot, markers: false);
            plot.Axes.Left.TickGenerator = LogTicks(bottom, top);
            plot.Axes.SetLimitsY(bottom - 0.3, top + 0.6);
            plot.Axes.SetLimitsX(0, T - 1);
            plot.ShowLegend(Edge.Right); // outside the data: lines fill every corner
            paths.Add(Save(plot, directory, file));
        }

        return paths;
    }

    // Major ticks at powers of ten (every k-th labelled when there are many), minor ticks between.
    private static NumericManual LogTicks(int bottom, int top)
    {
        bool plain = bottom >= -3 && top <= 4;
        int every = Math.Max(1, (int)Math.Ceiling((top - bottom) / 10.0));
        var ticks = new NumericManual();
        for (int exponent = bottom; exponent <= top; exponent++)
        {
            if ((top - exponent) % every == 0)
            {
                ticks.AddMajor(exponent, LinePlot.PowerOfTenLabel(exponent, plain));
            }
            else
            {
                ticks.AddMinor(exponent);
            }

            if (every == 1 && exponent < top)
            {
                for (int multiple = 2; multiple <= 9; multiple++)
                {
                    ticks.AddMinor(exponent + Math.Log10(multiple));
                }
            }
        }

        return ticks;
    }

    private static void Style(Plot plot, bool markers)
    {
        foreach (ScottPlot.Plottables.Scatter scatter in plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>())
        {
            scatter.LineWidth = 2;
            scatter.MarkerSize = markers ? 8 : 0;
        }
    }

    private static string Save(Plot plot, string directory, string file)
    {
        string path = Path.Combine(directory, file);
        plot.SavePng(path, Width, Height);
        return path;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
