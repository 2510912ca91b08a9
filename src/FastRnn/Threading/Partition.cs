namespace FastRnn.Threading;

/// <summary>
/// Static splits of an index range among the workers of a run. A split depends only on (count, workers), never on
/// timing, and every output element is produced by exactly one worker.
/// </summary>
internal static class Partition
{
    /// <summary>Worker <paramref name="worker"/>'s share [Start, End) of <paramref name="count"/> items split as evenly as possible.</summary>
    public static (int Start, int End) Even(int worker, int workers, int count)
        => ((int)((long)count * worker / workers), (int)((long)count * (worker + 1) / workers));

    /// <summary>As <see cref="Even"/> over whole blocks of <paramref name="block"/> items: every share starts at a multiple of it.</summary>
    public static (int Start, int End) Blocks(int worker, int workers, int count, int block)
    {
        int blocks = (count + block - 1) / block;
        (int first, int end) = Even(worker, workers, blocks);
        return (Math.Min(first * block, count), Math.Min(end * block, count));
    }
}
