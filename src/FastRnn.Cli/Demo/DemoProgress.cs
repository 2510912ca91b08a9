// Progress of the demo's training runs. On a terminal: one Spectre progress bar per cell (its runs' steps together),
// showing the run in progress, its smoothed loss and tokens/s. Otherwise (redirected output, tests): one line per
// finished run. Called from the worker threads; the bars are redrawn by Spectre's own thread.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using FastRnn.Cli.Output;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace FastRnn.Cli.Demo;

/// <summary>Shows the progress of <see cref="DemoRunner.RunAll"/>; see the file header.</summary>
internal sealed class DemoProgress : IDemoProgress
{
    private const double BarUpdateSeconds = 0.1;

    private readonly IAnsiConsole _console;
    private readonly DemoSettings _settings;
    private readonly int _totalRuns;
    private readonly Lock _lineLock = new();
    private readonly ConcurrentDictionary<DemoJob, RunState> _running = new();
    private readonly Dictionary<string, CellState> _cells = [];
    private int _finishedRuns;

    private DemoProgress(IAnsiConsole console, DemoSettings settings)
    {
        _console = console;
        _settings = settings;
        _totalRuns = settings.Cells.Count * settings.Lengths.Count * settings.Runs;
    }

    /// <summary>Runs <paramref name="body"/> with the progress display and returns its result.</summary>
    public static T Run<T>(IAnsiConsole console, DemoSettings settings, Func<IDemoProgress, T> body)
    {
        var progress = new DemoProgress(console, settings);
        if (!StepProgress.IsLive(console))
        {
            return body(progress);
        }

        return console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new TextColumn(progress, static state => state.StepsText()),
                new TextColumn(progress, static state => state.LossText()),
                new TextColumn(progress, static state => state.SpeedText()),
                new ElapsedTimeColumn(),
                new RemainingTimeColumn())
            .Start(context =>
            {
                long runSteps = (long)settings.Lengths.Count * settings.Runs * settings.Steps;
                foreach (DemoCell cell in settings.Cells)
                {
                    ProgressTask task = context.AddTask(Markup.Escape(cell.Name), maxValue: runSteps);
                    progress._cells[cell.Name] = new CellState(cell, task, runSteps);
                }

                T result = body(progress);
                foreach (CellState state in progress._cells.Values)
                {
                    state.Task.Description = Markup.Escape(state.Cell.Name + " (done)");
                    state.Task.Value = state.Task.MaxValue;
                    state.Task.StopTask();
                }

                return result;
            });
    }

    public void Started(DemoJob job)
    {
        var state = new RunState();
        _running[job] = state;
        if (_cells.TryGetValue(job.Cell.Name, out CellState? cell))
        {
            cell.Current = state;
            cell.Task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{job.Cell.Name} N={job.Fillers} run {job.Run + 1}"));
        }
    }

    public void Step(DemoJob job, int step, double loss, long tokens)
    {
        if (_cells.Count == 0 || !_running.TryGetValue(job, out RunState? state))
        {
            return;
        }

        state.Loss = loss;
        state.Tokens = tokens;
        double now = state.Watch.Elapsed.TotalSeconds;
        if (now - state.LastUpdate >= BarUpdateSeconds || step == _settings.Steps)
        {
            CellState cell = _cells[job.Cell.Name];
            cell.Task.Increment(step - state.StepsShown);
            state.StepsShown = step;
            state.LastUpdate = now;
            cell.Current = state;
        }
    }

    public void Finished(DemoRunResult result)
    {
        _running.TryRemove(result.Job, out _);
        int finished = Interlocked.Increment(ref _finishedRuns);
        if (_cells.Count > 0)
        {
            return;
        }

        string total = _totalRuns.ToString(CultureInfo.InvariantCulture);
        string line = string.Create(CultureInfo.InvariantCulture,
            $"[{finished.ToString(CultureInfo.InvariantCulture).PadLeft(total.Length)}/{total}] {result.Job.Cell.Name,-13} N={result.Job.Fillers,-4} run {result.Job.Run + 1}: test accuracy {result.AccuracyPercent,5:F1}%  loss {result.FinalLoss:F4}  {result.TokensPerSecond,10:N0} tokens/s  {result.Seconds,6:F1} s");
        lock (_lineLock)
        {
            _console.WriteLine(line);
        }
    }

    private sealed class RunState
    {
        public Stopwatch Watch { get; } = Stopwatch.StartNew();

        public double Loss { get; set; } = double.NaN;

        public long Tokens { get; set; }

        public int StepsShown { get; set; }

        public double LastUpdate { get; set; } = double.NegativeInfinity;
    }

    private sealed class CellState(DemoCell cell, ProgressTask task, long totalSteps)
    {
        public DemoCell Cell { get; } = cell;

        public ProgressTask Task { get; } = task;

        public RunState? Current { get; set; }

        public string StepsText()
        {
            string total = totalSteps.ToString("N0", CultureInfo.InvariantCulture);
            return ((long)Task.Value).ToString("N0", CultureInfo.InvariantCulture).PadLeft(total.Length) + "/" + total;
        }

        public string LossText() => Current is { Loss: double loss } && !double.IsNaN(loss) ? "loss " + loss.ToString("F4", CultureInfo.InvariantCulture) : "loss -";

        public string SpeedText()
        {
            if (Current is not RunState run)
            {
                return "- tok/s";
            }

            double seconds = run.Watch.Elapsed.TotalSeconds;
            return (seconds > 0 ? run.Tokens / seconds : 0).ToString("N0", CultureInfo.InvariantCulture) + " tok/s";
        }
    }

    // A column whose text comes from the task's cell state.
    private sealed class TextColumn(DemoProgress progress, Func<CellState, string> text) : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            foreach (CellState state in progress._cells.Values)
            {
                if (ReferenceEquals(state.Task, task))
                {
                    return new Text(text(state));
                }
            }

            return new Text("");
        }
    }
}
