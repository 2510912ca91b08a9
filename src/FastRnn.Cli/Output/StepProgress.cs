// Progress of a loop of steps (training, sampling): on a terminal a Spectre progress bar with step/total, loss and
// tokens/s; otherwise (redirected output, CI, tests) a plain line every N steps, so logs stay readable.
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace FastRnn.Cli.Output;

/// <summary>
/// Reports step, loss and tokens/s of a loop. Use <see cref="Run{T}"/>: the body calls <see cref="Report"/> after each
/// step. Report stores three numbers and, at most every 50 ms, moves the bar; the display reads them on its own thread.
/// </summary>
public sealed class StepProgress
{
    private const double BarUpdateSeconds = 0.05;

    private readonly IAnsiConsole _console;
    private readonly string _description;
    private readonly int _lineEvery;
    private readonly Stopwatch _watch = new();
    private ProgressTask? _task;
    private double _lastBarUpdate = double.NegativeInfinity;
    private int _step;
    private long _tokens;
    private double _loss = double.NaN;

    private StepProgress(IAnsiConsole console, string description, int totalSteps, int lineEvery)
    {
        _console = console;
        _description = description;
        TotalSteps = totalSteps;
        _lineEvery = lineEvery;
    }

    /// <summary>The number of steps the loop will run.</summary>
    public int TotalSteps { get; }

    /// <summary>Steps done, as last reported.</summary>
    public int Step => Volatile.Read(ref _step);

    /// <summary>The loss last reported (NaN before the first report).</summary>
    public double Loss => Volatile.Read(ref _loss);

    /// <summary>Tokens processed per second since the start, from the last report.</summary>
    public double TokensPerSecond
    {
        get
        {
            double seconds = _watch.Elapsed.TotalSeconds;
            return seconds > 0 ? Volatile.Read(ref _tokens) / seconds : 0;
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> with a progress display for <paramref name="totalSteps"/> steps and returns its
    /// result. On an interactive terminal it shows a bar; otherwise it prints a line every <paramref name="lineEvery"/>
    /// steps (0: about 20 lines in all) and at the last step.
    /// </summary>
    public static T Run<T>(IAnsiConsole console, string description, int totalSteps, Func<StepProgress, T> body, int lineEvery = 0)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(lineEvery);
        var progress = new StepProgress(console, description, totalSteps, lineEvery > 0 ? lineEvery : Math.Max(1, (totalSteps + 19) / 20));
        if (!IsLive(console))
        {
            progress._watch.Start();
            return body(progress);
        }

        return console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new StepColumn(progress),
                new LossColumn(progress),
                new TokensPerSecondColumn(progress),
                new ElapsedTimeColumn(),
                new RemainingTimeColumn())
            .Start(context =>
            {
                progress._task = context.AddTask(Markup.Escape(description), maxValue: totalSteps);
                progress._watch.Start();
                T result = body(progress);
                progress._task.Value = progress.Step;
                progress._task.StopTask();
                return result;
            });
    }

    /// <summary>
    /// Whether <paramref name="console"/> can redraw in place (an interactive terminal that understands ANSI); if not,
    /// progress is printed as lines.
    /// </summary>
    public static bool IsLive(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        return console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi;
    }

    /// <summary>Runs <paramref name="body"/> with a progress display; see <see cref="Run{T}"/>.</summary>
    public static void Run(IAnsiConsole console, string description, int totalSteps, Action<StepProgress> body, int lineEvery = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Run(console, description, totalSteps, progress =>
        {
            body(progress);
            return 0;
        }, lineEvery);
    }

    /// <summary>Records that <paramref name="step"/> steps are done (1 after the first), the loss, and the tokens processed so far in all.</summary>
    public void Report(int step, double loss, long tokens)
    {
        Volatile.Write(ref _loss, loss);
        Volatile.Write(ref _tokens, tokens);
        Volatile.Write(ref _step, step);
        if (_task is not null)
        {
            double now = _watch.Elapsed.TotalSeconds;
            if (now - _lastBarUpdate >= BarUpdateSeconds || step >= TotalSteps)
            {
                _lastBarUpdate = now;
                _task.Value = step;
            }
        }
        else if (step % _lineEvery == 0 || step == TotalSteps)
        {
            _console.WriteLine(FormatLine());
        }
    }

    /// <summary>The plain progress line: description, step/total, loss, tokens/s, elapsed time.</summary>
    internal string FormatLine() => string.Create(CultureInfo.InvariantCulture,
        $"{_description}: step {StepText()}  loss {LossText()}  tokens/s {TokensText()}  elapsed {_watch.Elapsed:hh\\:mm\\:ss}");

    private string StepText()
    {
        string total = TotalSteps.ToString(CultureInfo.InvariantCulture);
        return Step.ToString(CultureInfo.InvariantCulture).PadLeft(total.Length) + "/" + total;
    }

    private string LossText() => double.IsNaN(Loss) ? "-" : Loss.ToString("F4", CultureInfo.InvariantCulture);

    private string TokensText() => TokensPerSecond.ToString("N0", CultureInfo.InvariantCulture);

    private sealed class StepColumn(StepProgress progress) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) => new Text(progress.StepText());
    }

    private sealed class LossColumn(StepProgress progress) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) => new Text("loss " + progress.LossText());
    }

    private sealed class TokensPerSecondColumn(StepProgress progress) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) => new Text(progress.TokensText() + " tok/s");
    }
}
