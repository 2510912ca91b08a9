namespace FastRnn.Threading;

/// <summary>
/// One parallel section run by <see cref="WorkerPool.Run"/>: every participating worker calls <see cref="Execute"/>
/// once with its index, and the section meets at <see cref="WorkerPool.Barrier"/> between phases. An implementation is
/// a preallocated object whose fields the caller sets before the run, so a run allocates nothing.
/// </summary>
internal interface IParallelWork
{
    /// <summary>Does worker <paramref name="worker"/>'s share, in 0..participants-1; worker 0 is the calling thread.</summary>
    void Execute(int worker);
}
