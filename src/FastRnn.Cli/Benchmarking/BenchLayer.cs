// Legend: T time steps, B batch, I input size, H hidden size, G gates.
// One layer with seeded data and preallocated buffers: the unit every throughput measurement times (the `fastrnn bench`
// table, and bench/FastRnn.Bench's BenchmarkDotNet suites and quick table).
using FastRnn.Kernels;
using FastRnn.Layers;
using FastRnn.Threading;

namespace FastRnn.Cli.Benchmarking;

/// <summary>
/// One recurrent layer with seeded inputs and preallocated outputs, so that <see cref="Forward"/> and
/// <see cref="TrainingStep"/> allocate nothing and can be timed back to back.
/// </summary>
public sealed class BenchLayer
{
    private readonly RecurrentLayer _layer;
    private readonly RecurrentWorkspace _workspace;
    // x: [T, B, I]  output, dOutput: [T, B, H]  dX: [T, B, I]. Each starts a cache line, as the buffers of oneDNN's
    // benchmark (dnnl::memory) and PyTorch's CPU allocator do; a new float[] does only by chance.
    private readonly Memory<float> _x, _output, _dOutput, _dX;
    private readonly int _t, _b;

    /// <summary>Creates the layer (parameters from <paramref name="seed"/>) and data (from <paramref name="seed"/> + 1).</summary>
    /// <param name="cell">The cell; Elman uses tanh.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="seed">Seed of the parameters; the data uses the next one.</param>
    /// <param name="pool">Worker threads for the layer's passes, or <see langword="null"/> for the calling thread alone.</param>
    public BenchLayer(CellKind cell, int sequenceLength, int batchSize, int inputSize, int hiddenSize, int seed = 1, WorkerPool? pool = null)
    {
        var store = new ParameterStore();
        _layer = cell switch
        {
            CellKind.Lstm => new LstmLayer(store, inputSize, hiddenSize, seed: seed),
            CellKind.Gru => new GruLayer(store, inputSize, hiddenSize, seed: seed),
            _ => new ElmanLayer(store, inputSize, hiddenSize, Nonlinearity.Tanh, seed: seed),
        };
        _t = sequenceLength;
        _b = batchSize;
        _workspace = _layer.CreateWorkspace(sequenceLength, batchSize, pool);

        // x and the output stay unchanged until the backward pass, which is given them again, as oneDNN's backward is
        // given src_layer and dst_layer: the forward keeps no copy of either (RecurrentWorkspace.CopiesInputAndOutput).
        _workspace.CopiesInputAndOutput = false;
        var random = new Random(seed + 1);
        _x = BenchData.Uniform(random, sequenceLength * batchSize * inputSize);
        _dOutput = BenchData.Uniform(random, sequenceLength * batchSize * hiddenSize);
        _output = AlignedMemory.Allocate(sequenceLength * batchSize * hiddenSize);
        _dX = AlignedMemory.Allocate(sequenceLength * batchSize * inputSize);
    }

    /// <summary>G: gates per cell (Elman 1, GRU 3, LSTM 4).</summary>
    public int GateCount => _layer.GateCount;

    /// <summary>One forward pass over the whole sequence.</summary>
    public void Forward() => _layer.Forward(_x.Span, _t, _b, _output.Span, _workspace);

    /// <summary>One training step's recurrent part: forward, then full BPTT including <c>dX</c>.</summary>
    public void TrainingStep()
    {
        _layer.Forward(_x.Span, _t, _b, _output.Span, _workspace);
        _layer.Backward(_x.Span, _output.Span, _dOutput.Span, _workspace, _dX.Span);
    }
}
