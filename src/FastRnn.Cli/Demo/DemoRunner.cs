// Runs every (cell, N, run) training of the demo on --threads workers. Runs are independent and single-threaded, and
// each one's numbers depend only on its seeds, so the results are the same for any thread count and schedule; the
// costliest runs start first so the workers finish together.
namespace FastRnn.Cli.Demo;

/// <summary>Schedules the demo's training runs over worker threads.</summary>
public static class DemoRunner
{
    /// <summary>Every job of <paramref name="settings"/>, in report order (cell, N, run).</summary>
    public static IReadOnlyList<DemoJob> Jobs(DemoSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var jobs = new List<DemoJob>();
        foreach (DemoCell cell in settings.Cells)
        {
            foreach (int fillers in settings.Lengths)
            {
                for (int run = 0; run < settings.Runs; run++)
                {
                    jobs.Add(new DemoJob(cell, fillers, run));
                }
            }
        }

        return jobs;
    }

    /// <summary>Runs every job and returns the results in report order (cell, N, run).</summary>
    public static IReadOnlyList<DemoRunResult> RunAll(DemoSettings settings, IDemoProgress progress)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(progress);
        IReadOnlyList<DemoJob> jobs = Jobs(settings);
        var testSets = new Dictionary<int, (int[] Tokens, int[] Labels)>();
        foreach (int fillers in settings.Lengths)
        {
            testSets[fillers] = DemoTraining.TestSet(settings, fillers); // read-only, shared by the workers
        }

        // Longest first (stable, so equal costs keep report order).
        int[] order = [.. Enumerable.Range(0, jobs.Count).OrderByDescending(i => jobs[i].Cost(settings.Steps))];
        var results = new DemoRunResult[jobs.Count];
        int next = -1;
        Exception? failure = null;
        void Work()
        {
            int k;
            while (Volatile.Read(ref failure) is null && (k = Interlocked.Increment(ref next)) < order.Length)
            {
                DemoJob job = jobs[order[k]];
                (int[] tokens, int[] labels) = testSets[job.Fillers];
                try
                {
                    results[order[k]] = DemoTraining.Run(settings, job, tokens, labels, progress);
                }
#pragma warning disable CA1031 // Rethrown on the caller's thread below, so the command reports it as one line.
                catch (Exception exception)
#pragma warning restore CA1031
                {
                    Interlocked.CompareExchange(ref failure, exception, null);
                }
            }
        }

        int workers = Math.Clamp(settings.Threads, 1, jobs.Count);
        var threads = new Thread[workers - 1];
        for (int w = 0; w < threads.Length; w++)
        {
            threads[w] = new Thread(Work) { IsBackground = true, Name = $"demo worker {w + 1}" };
            threads[w].Start();
        }

        Work(); // the caller is a worker too
        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return results;
    }
}
