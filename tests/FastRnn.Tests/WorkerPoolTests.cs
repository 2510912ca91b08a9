// The pool on its own: every worker runs its share once per run, barriers order the phases, the caller's vector
// width reaches the workers, faults reach the caller and leave the pool usable, concurrent callers take turns, and
// a disposed pool refuses work.
using FastRnn.Kernels;
using FastRnn.Threading;

namespace FastRnn.Tests;

public class WorkerPoolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Barriers_order_every_phase_of_every_worker(int threads)
    {
        using var pool = new WorkerPool(threads);
        var work = new PhaseWork(pool, phases: 300);
        for (int run = 0; run < 5; run++)
        {
            pool.Run(work, threads);
            Assert.Equal(0, work.Violations);
            Assert.All(work.Slots[..threads], slot => Assert.Equal(299, slot));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_split_barrier_lets_arrived_workers_run_ahead_by_at_most_one_phase(int threads)
    {
        using var pool = new WorkerPool(threads);
        var work = new SplitPhaseWork(pool, phases: 300);
        for (int run = 0; run < 5; run++)
        {
            pool.Run(work, threads);
            Assert.Equal(0, work.Violations);
            Assert.All(work.Slots[..threads], slot => Assert.Equal(299, slot));
        }
    }

    /// <summary>
    /// The side barrier, crossed inside a split barrier's window (as the backward's shared weight-gradient packing does),
    /// is a full barrier of its own: no worker leaves it before every worker has written its value of that phase, and
    /// no worker gets more than one phase ahead of any other on either barrier.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_side_barrier_inside_a_split_barrier_holds_every_worker_until_all_arrive(int threads)
    {
        using var pool = new WorkerPool(threads);
        var work = new SplitPhaseWork(pool, phases: 300, sideBarrier: true);
        for (int run = 0; run < 5; run++)
        {
            pool.Run(work, threads);
            Assert.Equal(0, work.Violations);
            Assert.All(work.Side[..threads], slot => Assert.Equal(299, slot));
        }
    }

    [Fact]
    public void Participants_are_clamped_to_the_degree_of_parallelism_and_fewer_may_run()
    {
        using var pool = new WorkerPool(3);
        var work = new CountingWork();
        pool.Run(work, 10);
        Assert.Equal([1, 1, 1, 0], work.Calls[..4]);
        pool.Run(work, 2);
        Assert.Equal([2, 2, 1, 0], work.Calls[..4]);
        pool.Run(work, 0);
        Assert.Equal([3, 2, 1, 0], work.Calls[..4]);
    }

    [Fact]
    public void Workers_run_with_the_callers_vector_width_limit()
    {
        using var pool = new WorkerPool(3);
        var work = new WidthWork();
        using (new WidthLimit(VectorWidth.W128))
        {
            pool.Run(work, 3);
        }

        Assert.All(work.Widths, width => Assert.True(width <= VectorWidth.W128, $"a worker ran at {width}"));
        pool.Run(work, 3);
        Assert.All(work.Widths, width => Assert.Equal(VectorDispatch.Current, width));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void A_worker_exception_reaches_the_caller_and_the_pool_stays_usable(int failing)
    {
        using var pool = new WorkerPool(3);

        // The failing worker throws between two barriers while the others wait at the second one.
        var faulty = new PhaseWork(pool, phases: 50) { FailingWorker = failing, FailAtPhase = 20 };
        var error = Assert.Throws<InvalidDataException>(() => pool.Run(faulty, 3));
        Assert.Equal($"worker {failing} failed at phase 20", error.Message);

        var healthy = new PhaseWork(pool, phases: 100);
        pool.Run(healthy, 3);
        Assert.Equal(0, healthy.Violations);
        Assert.All(healthy.Slots[..3], slot => Assert.Equal(99, slot));
    }

    [Fact]
    public void Using_the_pool_from_inside_its_own_run_throws()
    {
        using var pool = new WorkerPool(2);
        var nested = new NestedWork(pool);
        Assert.Throws<InvalidOperationException>(() => pool.Run(nested, 2));
        Assert.Equal(2, nested.Refused);
        pool.Run(new CountingWork(), 2);
    }

    [Fact]
    public void Two_threads_sharing_one_pool_take_turns()
    {
        using var pool = new WorkerPool(3);
        var works = new[] { new PhaseWork(pool, phases: 20), new PhaseWork(pool, phases: 20) };
        var threads = new Thread[2];
        var failures = new Exception?[2];
        for (int i = 0; i < 2; i++)
        {
            int index = i;
            threads[i] = new Thread(() =>
            {
                try
                {
                    for (int run = 0; run < 200; run++)
                    {
                        pool.Run(works[index], 3);
                        Assert.Equal(0, works[index].Violations);
                        Assert.All(works[index].Slots[..3], slot => Assert.Equal(19, slot));
                    }
                }
                catch (Exception e)
                {
                    failures[index] = e;
                }
            });
            threads[i].Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.Null(failures[0]);
        Assert.Null(failures[1]);
    }

    [Fact]
    public void Two_pools_run_at_once_on_two_threads()
    {
        using var first = new WorkerPool(2);
        using var second = new WorkerPool(2);
        var works = new[] { new PhaseWork(first, phases: 50), new PhaseWork(second, phases: 50) };
        Parallel.For(0, 2, i =>
        {
            WorkerPool pool = i == 0 ? first : second;
            for (int run = 0; run < 100; run++)
            {
                pool.Run(works[i], 2);
                Assert.Equal(0, works[i].Violations);
            }
        });
    }

    [Fact]
    public void A_disposed_pool_refuses_work_and_dispose_is_idempotent()
    {
        var pool = new WorkerPool(3);
        pool.Run(new CountingWork(), 3);
        pool.Dispose();
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Run(new CountingWork(), 3));
    }

    [Fact]
    public void A_sleeping_pool_wakes_for_the_next_run()
    {
        using var pool = new WorkerPool(2);
        var work = new CountingWork();
        pool.Run(work, 2);

        // Idle workers spin 50 us, then sleep on a monitor.
        Thread.Sleep(50);
        pool.Run(work, 2);
        Assert.Equal([2, 2], work.Calls[..2]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void The_degree_must_be_positive(int degree)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerPool(degree));

    [Fact]
    public void The_idle_spin_must_not_be_negative()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerPool(2, TimeSpan.FromTicks(-1)));
        Assert.Equal("idleSpin", error.ParamName);
    }

    [Fact]
    public void Workers_that_sleep_at_once_still_run_every_share()
    {
        // With no idle spin every worker is asleep on the monitor by the time the next run is published: the run
        // must wake it (the sleeper count and the pulse) rather than wait for a spin to notice.
        using var pool = new WorkerPool(3, TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, pool.IdleSpin);
        var work = new PhaseWork(pool, phases: 20);
        for (int run = 0; run < 20; run++)
        {
            Thread.Sleep(1);
            pool.Run(work, 3);
            Assert.Equal(0, work.Violations);
            Assert.All(work.Slots[..3], slot => Assert.Equal(19, slot));
        }
    }

    [Fact]
    public void The_default_idle_spin_is_two_milliseconds()
    {
        using var pool = new WorkerPool(2);
        Assert.Equal(TimeSpan.FromMilliseconds(2), pool.IdleSpin);
    }

    [Fact]
    public void The_default_degree_is_the_processor_count()
    {
        using var pool = new WorkerPool();
        Assert.Equal(Environment.ProcessorCount, pool.DegreeOfParallelism);
    }

    /// <summary>
    /// Each phase p: worker w writes p to its slot; after the barrier every worker checks that every slot holds p, and
    /// after a second barrier the next phase may overwrite them. A missing or leaky barrier shows as a violation.
    /// </summary>
    private sealed class PhaseWork(WorkerPool pool, int phases) : IParallelWork
    {
        private int _participants;
        private int _violations;

        public int[] Slots { get; } = new int[8];

        public int Violations => _violations;

        public int FailingWorker { get; init; } = -1;

        public int FailAtPhase { get; init; }

        public void Execute(int worker)
        {
            if (worker == 0)
            {
                _violations = 0;
                Array.Fill(Slots, -1);
                _participants = 0;
            }

            pool.Barrier(worker);
            Interlocked.Increment(ref _participants);
            pool.Barrier(worker);
            int participants = Volatile.Read(ref _participants);
            for (int phase = 0; phase < phases; phase++)
            {
                if (worker == FailingWorker && phase == FailAtPhase)
                {
                    throw new InvalidDataException($"worker {worker} failed at phase {phase}");
                }

                Volatile.Write(ref Slots[worker], phase);
                pool.Barrier(worker);
                for (int other = 0; other < participants; other++)
                {
                    if (Volatile.Read(ref Slots[other]) != phase)
                    {
                        Interlocked.Increment(ref _violations);
                    }
                }

                pool.Barrier(worker);
            }
        }
    }

    // Each phase: write the own slot, arrive, check between arriving and waiting that every other worker has finished
    // the previous phase and is not past the next one (spinning a worker- and phase-dependent while, so arrivals
    // interleave), wait, then check that every worker has finished this phase. With the side barrier, between arriving
    // and waiting each worker also writes its side slot and crosses the side barrier, after which every worker must
    // have written that phase's side slot.
    private sealed class SplitPhaseWork(WorkerPool pool, int phases, bool sideBarrier = false) : IParallelWork
    {
        private int _violations;

        public int[] Slots { get; } = new int[8];

        public int[] Side { get; } = new int[8];

        public int Violations => _violations;

        public void Execute(int worker)
        {
            if (worker == 0)
            {
                _violations = 0;
                Array.Fill(Slots, -1);
                Array.Fill(Side, -1);
            }

            pool.Barrier(worker);
            int participants = pool.DegreeOfParallelism;
            for (int phase = 0; phase < phases; phase++)
            {
                Volatile.Write(ref Slots[worker], phase);
                pool.Arrive(worker);
                Thread.SpinWait(10 + (((worker * 7) + phase) % 5 * 40));
                if (sideBarrier)
                {
                    Volatile.Write(ref Side[worker], phase);
                    pool.SideBarrier(worker);
                    Check(Side, participants, phase, phase + 1);
                }
                else
                {
                    Check(Slots, participants, phase - 1, phase + 1);
                }

                pool.Wait(worker);
                Check(Slots, participants, phase, phase + 1);
            }
        }

        private void Check(int[] values, int participants, int atLeast, int atMost)
        {
            for (int other = 0; other < participants; other++)
            {
                int value = Volatile.Read(ref values[other]);
                if (value < atLeast || value > atMost)
                {
                    Interlocked.Increment(ref _violations);
                }
            }
        }
    }

    private sealed class CountingWork : IParallelWork
    {
        public int[] Calls { get; } = new int[8];

        public void Execute(int worker) => Interlocked.Increment(ref Calls[worker]);
    }

    private sealed class WidthWork : IParallelWork
    {
        public VectorWidth[] Widths { get; } = new VectorWidth[3];

        public void Execute(int worker) => Widths[worker] = VectorDispatch.Current;
    }

    private sealed class NestedWork(WorkerPool pool) : IParallelWork
    {
        private int _refused;

        public int Refused => _refused;

        public void Execute(int worker)
        {
            if (worker == 0)
            {
                _refused = 0;
            }

            pool.Barrier(worker);
            try
            {
                pool.Run(new CountingWork(), 2);
            }
            catch (InvalidOperationException)
            {
                Interlocked.Increment(ref _refused);
            }

            pool.Barrier(worker);
            if (worker == 0)
            {
                throw new InvalidOperationException("rethrown so the caller sees the refusal");
            }
        }
    }
}
