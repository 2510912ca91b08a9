// Legend: P participants of one run, workers 0..P-1; worker 0 is the thread that called Run.
//
// A persistent pool for the layers' parallel passes (DeepCPU, USENIX ATC 2018: each core keeps its slice of W_hh in
// its own cache for the whole sequence, and the cores meet once per time step). Threads start once. A run publishes
// its work object with one interlocked write of (generation, P); the caller runs worker 0's share itself, and the
// participants meet at a sense-reversing barrier between phases. Nothing is allocated per run or per barrier.
//
// Waiting: at a barrier a worker spins, then yields (SpinWait with Sleep(1) disabled), never blocks: a time step is
// microseconds. Between runs an idle worker spins and yields for 50 us (runs follow each other within a training
// step: layer after layer, forward then backward), then sleeps on a monitor until the next run wakes it.
//
// Concurrency: runs on one pool are serialized by a lock, so several models on several threads may share a pool
// (they take turns); to run them truly in parallel give each its own pool with fewer threads. A worker's exception
// ends the run on every worker (barriers waiting on it give up), and the first one by worker index is rethrown to
// the caller with its original type and stack; the pool stays usable.
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;

namespace FastRnn.Threading;

/// <summary>
/// A persistent pool of worker threads for the recurrent layers' parallel forward and backward passes. Give it to a
/// workspace (<see cref="Layers.RecurrentWorkspace.Pool"/>) and the passes through that workspace split their hidden
/// units across the workers; results are bitwise identical for any number of threads.
/// </summary>
/// <remarks>
/// <para>The threads start in the constructor and stop in <see cref="Dispose"/>. They are background threads, so a pool
/// that is never disposed does not keep the process alive, but its threads live until it exits.</para>
/// <para>One pool may serve several workspaces and several threads: runs take turns on it (a lock), so two models
/// training on two threads with one pool are safe but not concurrent. For concurrency, give each model its own pool
/// and split the cores between them. A layer's pass must not use the pool it is running on from inside itself.</para>
/// </remarks>
public sealed class WorkerPool : IDisposable
{
    /// <summary>Ints per worker in the barrier-sense array: one 64-byte cache line each.</summary>
    private const int SenseStride = 16;

    /// <summary>The largest degree of parallelism: P shares one 64-bit word with the run's generation.</summary>
    private const int MaxDegree = 1 << 15;

    private const int ParticipantBits = 16;

    /// <summary>The idle spin of the constructors without one (OpenMP runtimes poll for milliseconds too).</summary>
    private static readonly TimeSpan s_defaultIdleSpin = TimeSpan.FromMilliseconds(2);

    [ThreadStatic]
    private static WorkerPool? s_workerOf;

    private readonly Thread[] _threads;
    private readonly object _runLock = new();
    private readonly object _sleepLock = new();
    private readonly int[] _senses;
    private readonly Exception?[] _faults;
    private HotFields _hot;
    private IParallelWork? _work;
    private int _participants;
    private VectorWidth _widthLimit;
    private int _sleepers;
    private readonly long _idleSpinTicks;
    private volatile bool _disposed;

    /// <summary>Creates a pool with one worker per logical processor (<see cref="Environment.ProcessorCount"/>).</summary>
    public WorkerPool()
        : this(Environment.ProcessorCount)
    {
    }

    /// <summary>Creates a pool of <paramref name="degreeOfParallelism"/> workers: the calling thread plus that many minus one threads.</summary>
    /// <param name="degreeOfParallelism">Workers per run, at least 1 (1 starts no thread and runs everything on the caller).</param>
    /// <exception cref="ArgumentOutOfRangeException">The degree is below 1 or above 32768.</exception>
    public WorkerPool(int degreeOfParallelism)
        : this(degreeOfParallelism, s_defaultIdleSpin)
    {
    }

    /// <summary>
    /// Creates a pool of <paramref name="degreeOfParallelism"/> workers whose idle threads keep polling for the next run
    /// for <paramref name="idleSpin"/> before they sleep.
    /// </summary>
    /// <param name="degreeOfParallelism">Workers per run, at least 1 (1 starts no thread and runs everything on the caller).</param>
    /// <param name="idleSpin">
    /// How long an idle worker polls (spinning, then yielding its core to any other runnable thread) before it sleeps.
    /// A sleeping worker costs a wake-up at the next run: 10-700 us on a virtual machine whose idle vCPUs halt, more
    /// than a whole small training step. Longer polling makes the runs of a training loop start at once; shorter
    /// polling leaves the cores idle sooner when the pool is not in use. <see cref="TimeSpan.Zero"/> sleeps at once.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">The degree is below 1 or above 32768, or the spin is negative.</exception>
    public WorkerPool(int degreeOfParallelism, TimeSpan idleSpin)
    {
        if (idleSpin < TimeSpan.Zero)
        {
            ThrowHelper.ThrowOutOfRange(nameof(idleSpin), $"must not be negative, was {idleSpin}");
        }

        IdleSpin = idleSpin;
        _idleSpinTicks = (long)(idleSpin.TotalSeconds * Stopwatch.Frequency);
        if (degreeOfParallelism < 1 || degreeOfParallelism > MaxDegree)
        {
            ThrowHelper.ThrowOutOfRange(nameof(degreeOfParallelism), $"must be in 1..{MaxDegree}, was {degreeOfParallelism}");
        }

        DegreeOfParallelism = degreeOfParallelism;
        _senses = new int[2 * degreeOfParallelism * SenseStride];
        _faults = new Exception?[degreeOfParallelism];
        _threads = new Thread[degreeOfParallelism - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"FastRnn worker {i + 1}" };
            _threads[i].Start(i + 1);
        }
    }

    /// <summary>The most workers a run uses, the calling thread included.</summary>
    public int DegreeOfParallelism { get; }

    /// <summary>How long an idle worker polls for the next run before it sleeps (default 2 ms).</summary>
    public TimeSpan IdleSpin { get; }

    /// <summary>Stops the worker threads and waits for them; waits first for a run in progress on another thread.</summary>
    /// <exception cref="InvalidOperationException">Called from inside a run of this pool.</exception>
    public void Dispose()
    {
        ThrowIfInsideRun();
        lock (_runLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Publish(0);
        }

        foreach (Thread thread in _threads)
        {
            thread.Join();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on <paramref name="participants"/> workers (clamped to 1..<see cref="DegreeOfParallelism"/>)
    /// and returns when all have finished. Worker 0 is the calling thread. Workers run with the caller's vector-width limit.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The pool was disposed.</exception>
    /// <exception cref="InvalidOperationException">Called from inside a run of this pool.</exception>
    internal void Run(IParallelWork work, int participants)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfInsideRun();
        participants = Math.Clamp(participants, 1, DegreeOfParallelism);
        lock (_runLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _hot.BarrierRemaining = participants;
            _hot.BarrierSense = 0;
            _hot.SideRemaining = participants;
            _hot.SideSense = 0;
            _hot.Broken = 0;
            Array.Clear(_senses, 0, participants * SenseStride);
            Array.Clear(_senses, DegreeOfParallelism * SenseStride, participants * SenseStride);
            _work = work;
            _participants = participants;
            _widthLimit = VectorDispatch.Limit;
            _hot.Pending = participants - 1;
            if (participants > 1)
            {
                Publish(participants);
            }

            RunShare(work, 0);
            SpinWait spin = default;
            while (Volatile.Read(ref _hot.Pending) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            _work = null;
            for (int w = 0; w < participants; w++)
            {
                if (_faults[w] is Exception fault)
                {
                    Array.Clear(_faults);
                    ExceptionDispatchInfo.Throw(fault);
                }
            }
        }
    }

    /// <summary>
    /// Waits until every participant of the current run has arrived (sense-reversing: each arrival flips the worker's
    /// own sense; the last one resets the count and publishes its sense, which releases the others).
    /// </summary>
    internal void Barrier(int worker)
    {
        Arrive(worker);
        Wait(worker);
    }

    /// <summary>
    /// The first half of a split-phase barrier: marks this worker's part of the phase done and returns at once. Work
    /// that reads nothing the others write in this phase (and writes nothing they read) may run before the matching
    /// <see cref="Wait"/>, so a worker that arrives first fills the time it would spend waiting. Every
    /// <see cref="Arrive"/> must be followed by a <see cref="Wait"/> before the next <see cref="Arrive"/>.
    /// </summary>
    internal void Arrive(int worker) => ArriveOn(worker, ref _hot.BarrierRemaining, ref _hot.BarrierSense, worker * SenseStride);

    /// <summary>The second half of a split-phase barrier: returns once every participant has made its last <see cref="Arrive"/>.</summary>
    internal void Wait(int worker) => WaitOn(ref _hot.BarrierSense, worker * SenseStride);

    /// <summary>
    /// A full barrier with its own count and sense, independent of <see cref="Arrive"/> and <see cref="Wait"/>: it may
    /// be crossed between a worker's <see cref="Arrive"/> and its <see cref="Wait"/> (the backward's weight-gradient
    /// groups, whose packed operands the workers share, meet here inside a time step's split barrier). Every
    /// participant must cross it the same number of times in a run.
    /// </summary>
    internal void SideBarrier(int worker)
    {
        int senseIndex = (DegreeOfParallelism + worker) * SenseStride;
        ArriveOn(worker, ref _hot.SideRemaining, ref _hot.SideSense, senseIndex);
        WaitOn(ref _hot.SideSense, senseIndex);
    }

    // Sense-reversing arrival on one barrier's (remaining, sense) pair; senseIndex is this worker's own sense for it.
    private void ArriveOn(int worker, ref int remaining, ref int barrierSense, int senseIndex)
    {
        int participants = _participants;
        if (participants == 1)
        {
            return;
        }

        System.Diagnostics.Debug.Assert(worker < participants, "a participant of the run");
        ref int local = ref _senses[senseIndex];
        int sense = local ^ 1;
        local = sense;
        ThrowIfBroken();

        // The interlocked decrement is a full fence: this worker's writes of the phase are visible before its arrival.
        if (Interlocked.Decrement(ref remaining) == 0)
        {
            remaining = participants;
            Volatile.Write(ref barrierSense, sense);
        }
    }

    private void WaitOn(ref int barrierSense, int senseIndex)
    {
        if (_participants == 1)
        {
            return;
        }

        int sense = _senses[senseIndex];
        SpinWait spin = default;
        while (Volatile.Read(ref barrierSense) != sense)
        {
            ThrowIfBroken();
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private void ThrowIfBroken()
    {
        if (Volatile.Read(ref _hot.Broken) != 0)
        {
            throw new BarrierBrokenException();
        }
    }

    private void ThrowIfInsideRun()
    {
        if (s_workerOf == this || Monitor.IsEntered(_runLock))
        {
            throw new InvalidOperationException("A WorkerPool cannot be used or disposed from inside one of its own runs.");
        }
    }

    // One interlocked write carries the new generation and P, so a worker never pairs one run's generation with
    // another run's participant count. The work and the barrier state were written before it (release).
    private void Publish(int participants)
    {
        long generation = (_hot.Dispatch >> ParticipantBits) + 1;
        Interlocked.Exchange(ref _hot.Dispatch, (generation << ParticipantBits) | (long)participants);

        // Dekker with the sleeper's increment-then-check (both interlocked): either it sees the new generation or we
        // see it counted and wake it under the lock it waits on.
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_sleepLock)
            {
                Monitor.PulseAll(_sleepLock);
            }
        }
    }

    private void RunShare(IParallelWork work, int worker)
    {
        try
        {
            work.Execute(worker);
        }
        catch (BarrierBrokenException)
        {
            // Another worker failed; its exception is the one reported.
        }
#pragma warning disable CA1031 // Any exception from a worker must reach the caller instead of killing the thread.
        catch (Exception fault)
#pragma warning restore CA1031
        {
            _faults[worker] = fault;
            Volatile.Write(ref _hot.Broken, 1);
        }
    }

    private void WorkerLoop(object? state)
    {
        int worker = (int)state!;
        s_workerOf = this;
        long seen = 0;
        while (true)
        {
            long dispatch = WaitForDispatch(seen);
            seen = dispatch >> ParticipantBits;
            if (_disposed)
            {
                return;
            }

            if (worker < (int)(dispatch & ((1L << ParticipantBits) - 1)))
            {
                VectorDispatch.Limit = _widthLimit;
                RunShare(_work!, worker);
                Interlocked.Decrement(ref _hot.Pending);
            }
        }
    }

    private long WaitForDispatch(long seenGeneration)
    {
        long start = Stopwatch.GetTimestamp();
        SpinWait spin = default;
        while (true)
        {
            long dispatch = Volatile.Read(ref _hot.Dispatch);
            if (dispatch >> ParticipantBits != seenGeneration)
            {
                return dispatch;
            }

            if (Stopwatch.GetTimestamp() - start < _idleSpinTicks)
            {
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }

            lock (_sleepLock)
            {
                Interlocked.Increment(ref _sleepers);
                while (Volatile.Read(ref _hot.Dispatch) >> ParticipantBits == seenGeneration)
                {
                    Monitor.Wait(_sleepLock);
                }

                Interlocked.Decrement(ref _sleepers);
            }
        }
    }

    /// <summary>The fields every worker touches, each on its own cache line so arrivals do not slow the spinners.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 512)]
    private struct HotFields
    {
        /// <summary>(generation &lt;&lt; 16) | P of the latest run; idle workers spin on it.</summary>
        [FieldOffset(64)]
        public long Dispatch;

        /// <summary>Workers 1..P-1 still running their share; the caller spins on it.</summary>
        [FieldOffset(128)]
        public int Pending;

        /// <summary>Workers yet to arrive at the current barrier.</summary>
        [FieldOffset(192)]
        public int BarrierRemaining;

        /// <summary>The sense of the last completed barrier; waiters spin on it.</summary>
        [FieldOffset(256)]
        public int BarrierSense;

        /// <summary>Participants still to arrive at the side barrier (<see cref="SideBarrier"/>).</summary>
        [FieldOffset(320)]
        public int SideRemaining;

        /// <summary>The side barrier's sense, published by its last arrival.</summary>
        [FieldOffset(384)]
        public int SideSense;

        /// <summary>1 once a worker has failed in this run: barriers stop waiting.</summary>
        [FieldOffset(448)]
        public int Broken;
    }

    /// <summary>Unwinds a worker waiting at a barrier that a failed worker will never reach.</summary>
    private sealed class BarrierBrokenException : Exception
    {
        public BarrierBrokenException()
            : base("Another worker of the run failed.")
        {
        }
    }
}
