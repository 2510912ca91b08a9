// What one `fastrnn demo` run trains: the same recipe for every cell (equal budgets), stated in the output.
namespace FastRnn.Cli.Demo;

/// <summary>The demo's configuration: task lengths, cells, and the one training recipe every cell gets.</summary>
/// <param name="Lengths">The numbers of filler words N (T = N + 2), ascending.</param>
/// <param name="Cells">The cells to train.</param>
/// <param name="Steps">Optimizer steps per training run.</param>
/// <param name="BatchSize">B: sentences per step.</param>
/// <param name="HiddenSize">H.</param>
/// <param name="EmbeddingSize">E.</param>
/// <param name="LearningRate">Adam's step size.</param>
/// <param name="ClipNorm">Gradient clipping by global norm.</param>
/// <param name="ForgetGateBias">LSTM only: the forget gate's initial bias (the usual 1; Jozefowicz et al., 2015).</param>
/// <param name="Runs">Training runs per cell and length, each with its own initialization and data.</param>
/// <param name="Seed">The seed every run's seeds derive from.</param>
/// <param name="Threads">Training runs in parallel (each run is single-threaded).</param>
/// <param name="TestSize">Fresh test sentences per length (balanced: chance is 50%).</param>
/// <param name="ProbeBatches">Batches the gradient-norm profile is averaged over.</param>
public sealed record DemoSettings(
    IReadOnlyList<int> Lengths,
    IReadOnlyList<DemoCell> Cells,
    int Steps,
    int BatchSize,
    int HiddenSize,
    int EmbeddingSize,
    double LearningRate,
    float ClipNorm,
    float ForgetGateBias,
    int Runs,
    int Seed,
    int Threads,
    int TestSize = 512,
    int ProbeBatches = 4)
{
    /// <summary>The longest N: the gradient-norm profiles and the spectra tables are taken there.</summary>
    public int LongestLength => Lengths[^1];

    /// <summary>One line describing the recipe, for the output and the README.</summary>
    public string Recipe() => FormattableString.Invariant(
        $"{Steps} steps x batch {BatchSize} (= {(long)Steps * BatchSize:N0} sentences) per run, Adam lr {LearningRate}, clip-norm {ClipNorm}, H={HiddenSize}, E={EmbeddingSize}, PyTorch default init; LSTM forget-gate bias {ForgetGateBias}");
}
