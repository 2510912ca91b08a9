// The output helpers: PNG plots (linear and log-scale Y), tables, and progress lines when output is not a terminal.
using System.Buffers.Binary;
using FastRnn.Cli.Output;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace FastRnn.Cli.Tests;

public class OutputTests
{
    private static readonly byte[] s_pngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Line_plot_writes_a_png_of_the_requested_size(bool logY)
    {
        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.Path);
        string path = Path.Combine(temp.Path, "loss.png");
        double[] steps = [.. Enumerable.Range(0, 50).Select(s => (double)s)];
        var plot = new LinePlot { Title = "loss", XLabel = "step", YLabel = "loss", LogY = logY, Width = 640, Height = 360 }
            .Add("train", steps, [.. steps.Select(s => 3 * Math.Exp(-s / 10))])
            .Add("valid", steps, [.. steps.Select(s => 3.2 * Math.Exp(-s / 12) + 0.01)]);
        plot.SavePng(path);

        byte[] png = File.ReadAllBytes(path);
        Assert.True(png.Length > 1000, $"PNG of {png.Length} bytes");
        Assert.Equal(s_pngSignature, png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(360, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    [Fact]
    public void Log_axis_has_major_ticks_at_the_powers_of_ten_around_the_data()
    {
        // y from 3 down to about 3e-3: decades 10^-3 .. 10^1.
        double[] steps = [.. Enumerable.Range(0, 70).Select(s => (double)s)];
        using Plot plot = new LinePlot { LogY = true }.Add("loss", steps, [.. steps.Select(s => 3 * Math.Exp(-s / 10))]).Build();
        Render(plot);

        var ticks = Assert.IsType<NumericManual>(plot.Axes.Left.TickGenerator);
        Tick[] majors = [.. ticks.Ticks.Where(t => t.IsMajor)];
        Assert.Equal([-3.0, -2, -1, 0, 1], majors.Select(t => t.Position));
        Assert.Equal(["0.001", "0.01", "0.1", "1", "10"], majors.Select(t => t.Label));
        // Minor ticks at 2..9 times each power of ten, e.g. 0.002 and 5.
        Assert.Contains(ticks.Ticks, t => !t.IsMajor && Math.Abs(t.Position - Math.Log10(0.002)) < 1e-12);
        Assert.Contains(ticks.Ticks, t => !t.IsMajor && Math.Abs(t.Position - Math.Log10(5)) < 1e-12);
        Assert.Equal(-3, plot.Axes.Left.Range.Min, 12);
        Assert.Equal(1, plot.Axes.Left.Range.Max, 12);
    }

    [Fact]
    public void Log_axis_over_many_decades_is_labelled_with_exponents()
    {
        double[] x = [0, 1, 2];
        using Plot plot = new LinePlot { LogY = true }.Add("norm", x, [1e-7, 0, 250]).Build();
        Render(plot);
        Tick[] majors = [.. Assert.IsType<NumericManual>(plot.Axes.Left.TickGenerator).Ticks.Where(t => t.IsMajor)];
        Assert.Equal("10⁻⁷", majors[0].Label);
        Assert.Equal("10³", majors[^1].Label);
        Assert.Contains(majors, t => t.Label == "10⁰");
    }

    // The tick generator lists its ticks once a render has asked it for the visible range.
    private static void Render(Plot plot)
    {
        using Image image = plot.GetImage(400, 300);
    }

    [Theory]
    [InlineData(0, true, "1")]
    [InlineData(3, true, "1000")]
    [InlineData(-2, true, "0.01")]
    [InlineData(-12, false, "10⁻¹²")]
    [InlineData(5, false, "10⁵")]
    public void Powers_of_ten_are_labelled_as_such(int exponent, bool plain, string label)
    {
        Assert.Equal(label, LinePlot.PowerOfTenLabel(exponent, plain));
    }

    [Fact]
    public void Series_of_different_lengths_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new LinePlot().Add("loss", [1, 2, 3], [1, 2]));
        Assert.Contains("expected as many y values as x values (3), got 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plot_command_writes_a_png_into_out()
    {
        using var temp = new TempDirectory();
        string file = temp.File("curve.csv", "step,train,valid\n0,2.5,2.6\n1,1.0,1.2\n2,0.4,nan\n3,0.1,0.3\n");
        CliRun run = CliHarness.Run("plot", file, "--log-y", "--out", temp.Path);
        Assert.True(run.ExitCode == 0, run.Stderr);
        string png = Path.Combine(temp.Path, "curve.png");
        Assert.Contains($"wrote {png} (2 series, 4 points)", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(s_pngSignature, File.ReadAllBytes(png)[..8]);
    }

    [Fact]
    public void Table_renders_headers_and_cells_and_saves_tsv()
    {
        using var writer = new StringWriter();
        var table = new CliTable("speeds").AddColumn("cell").AddColumn("tokens/s", numeric: true)
            .AddRow("lstm", CliTable.Number(12345.6))
            .AddRow("[gru]", CliTable.Number(double.NaN));
        table.Write(CliHarness.Console(writer, interactive: false));
        string text = writer.ToString();
        Assert.Contains("speeds", text, StringComparison.Ordinal);
        Assert.Contains("tokens/s", text, StringComparison.Ordinal);
        Assert.Contains("12,346", text, StringComparison.Ordinal);
        Assert.Contains("[gru]", text, StringComparison.Ordinal); // plain text, not Spectre markup

        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.Path);
        string path = Path.Combine(temp.Path, "t.tsv");
        table.WriteTsv(path);
        Assert.Equal(["cell\ttokens/s", "lstm\t12,346", "[gru]\t-"], File.ReadAllLines(path));
        Assert.Throws<ArgumentException>(() => table.AddRow("only one"));
    }

    [Fact]
    public void Progress_prints_lines_every_n_steps_when_not_a_terminal()
    {
        using var writer = new StringWriter();
        int result = StepProgress.Run(CliHarness.Console(writer, interactive: false), "train", 10, progress =>
        {
            for (int step = 1; step <= 10; step++)
            {
                progress.Report(step, loss: 1.0 / step, tokens: step * 64L);
            }

            return 42;
        }, lineEvery: 4);

        Assert.Equal(42, result);
        string[] lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(3, lines.Length); // steps 4, 8 and the last
        Assert.StartsWith("train: step  4/10  loss 0.2500  tokens/s ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("train: step  8/10  loss 0.1250", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("train: step 10/10  loss 0.1000", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Progress_on_a_terminal_shows_step_loss_and_speed_columns()
    {
        using var writer = new StringWriter();
        StepProgress.Run(CliHarness.Console(writer, interactive: true), "train", 5, progress =>
        {
            for (int step = 1; step <= 5; step++)
            {
                progress.Report(step, loss: 0.5, tokens: step * 10L);
            }
        });

        string text = writer.ToString();
        Assert.Contains("5/5", text, StringComparison.Ordinal);
        Assert.Contains("loss 0.5000", text, StringComparison.Ordinal);
        Assert.Contains("tok/s", text, StringComparison.Ordinal);
    }
}
