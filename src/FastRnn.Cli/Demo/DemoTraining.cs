// Legend: T time steps (= N + 2), B batch, H hidden size, G gate blocks, S test sentences.
// One training run of the demo: a many-to-one SequenceModel (embedding -> one recurrent layer -> linear head ->
// softmax cross-entropy on the last step) trained with Adam and global-norm clipping on the sentiment task, with the
// gradient-norm profile ||dL/dh_t|| and the spectra of W_hh measured before and after training.
using System.Diagnostics;
using FastRnn.Diagnostics;
using FastRnn.Layers;
using FastRnn.Training;

namespace FastRnn.Cli.Demo;

/// <summary>One training run: a cell, a number of filler words, and a run index (its seeds).</summary>
/// <param name="Cell">The cell.</param>
/// <param name="Fillers">N.</param>
/// <param name="Run">0..Runs-1.</param>
public sealed record DemoJob(DemoCell Cell, int Fillers, int Run)
{
    /// <summary>T = N + 2.</summary>
    public int SequenceLength => Fillers + 2;

    /// <summary>A rough cost (time steps times gate blocks), to start the longest runs first.</summary>
    public long Cost(int steps) => (long)steps * SequenceLength * (Cell.GateCount + 1);
}

/// <summary>The per-step norms of the gradient reaching the hidden state, averaged over a few batches.</summary>
/// <param name="Hidden">[T]: mean over batches of <c>||dL/dh_t||</c> (Euclidean over the batch and H).</param>
/// <param name="Cell">[T] for an LSTM: mean of <c>||dL/dc_t||</c>; empty otherwise.</param>
/// <param name="Loss">The mean loss over the probe batches.</param>
public sealed record GradientProfile(double[] Hidden, double[] Cell, double Loss)
{
    /// <summary><c>||dL/dh_t|| / ||dL/dh_{T-1}||</c> at distance d = T-1-t from the end, [T] indexed by d.</summary>
    public double[] RelativeByDistance()
    {
        int T = Hidden.Length;
        double last = Hidden[T - 1];
        double[] relative = new double[T];
        for (int d = 0; d < T; d++)
        {
            relative[d] = last > 0 ? Hidden[T - 1 - d] / last : double.NaN;
        }

        return relative;
    }

    /// <summary>
    /// The first distance d at which the gradient is exactly 0 although one step closer to the end it was still far
    /// above float32's smallest values, i.e. cut rather than underflowed (a step where no unit is active, such as
    /// ReLUs all off); null if there is none.
    /// </summary>
    public int? CutAt()
    {
        double[] relative = RelativeByDistance();
        for (int d = 1; d < relative.Length; d++)
        {
            if (relative[d] == 0 && relative[d - 1] * Hidden[^1] > 1e-30)
            {
                return d;
            }
        }

        return null;
    }

    /// <summary>
    /// The mean factor per step by which the norm shrinks (below 1) or grows going back in time: the geometric mean
    /// of <c>||dL/dh_{t-1}|| / ||dL/dh_t||</c> from the end to the farthest step whose norm is still positive in float32;
    /// 0 when no gradient gets past the last step (e.g. every ReLU unit inactive), NaN for T = 1.
    /// </summary>
    public double FactorPerStep(out int distance)
    {
        double[] relative = RelativeByDistance();
        distance = 0;
        if (double.IsNaN(relative[0]))
        {
            return double.NaN; // no gradient at the last step either
        }

        for (int d = relative.Length - 1; d > 0; d--)
        {
            if (relative[d] > 0)
            {
                distance = d;
                break;
            }
        }

        return distance > 0 ? Math.Pow(relative[distance], 1.0 / distance) : relative.Length > 1 ? 0 : double.NaN;
    }
}

/// <summary>What a run measured.</summary>
/// <param name="Job">The run.</param>
/// <param name="Correct">Test sentences classified correctly.</param>
/// <param name="TestCount">Test sentences.</param>
/// <param name="FinalLoss">Training loss at the end (exponential moving average over about 50 steps).</param>
/// <param name="SkippedSteps">Steps skipped because the gradient was not finite.</param>
/// <param name="Seconds">Wall time of the training steps.</param>
/// <param name="TokensPerSecond">Training tokens (T*B per step) per second of that wall time.</param>
/// <param name="InitialGradients">The gradient-norm profile before training.</param>
/// <param name="TrainedGradients">The gradient-norm profile after training.</param>
/// <param name="InitialSpectra">Spectra of <c>W_hh</c> before training.</param>
/// <param name="TrainedSpectra">Spectra of <c>W_hh</c> after training (null if the weights are not finite).</param>
/// <param name="InitialGateBiases">[G]: the mean of <c>b_ih + b_hh</c> over each gate block, before training.</param>
/// <param name="TrainedGateBiases">[G]: the same after training.</param>
public sealed record DemoRunResult(
    DemoJob Job, int Correct, int TestCount, double FinalLoss, int SkippedSteps, double Seconds, double TokensPerSecond,
    GradientProfile InitialGradients, GradientProfile TrainedGradients, RecurrentWeightReport? InitialSpectra, RecurrentWeightReport? TrainedSpectra,
    double[] InitialGateBiases, double[] TrainedGateBiases)
{
    /// <summary>Test accuracy in percent.</summary>
    public double AccuracyPercent => 100.0 * Correct / TestCount;
}

/// <summary>Receives a run's progress (called from the worker thread running it).</summary>
public interface IDemoProgress
{
    /// <summary>A run starts.</summary>
    void Started(DemoJob job);

    /// <summary>After each training step: steps done, the smoothed loss, and training tokens so far in this run.</summary>
    void Step(DemoJob job, int step, double loss, long tokens);

    /// <summary>A run ended.</summary>
    void Finished(DemoRunResult result);
}

/// <summary>Runs one training run of the demo. Everything random derives from the settings' seed and the job.</summary>
public static class DemoTraining
{
    // Stream identifiers mixed into the seed, so runs, lengths and purposes draw independent numbers.
    private const int ModelStream = 1, TrainStream = 2, ProbeStream = 3, TestStream = 4;

    /// <summary>
    /// The test set for N filler words: <paramref name="settings"/>.TestSize balanced sentences, the same for every cell
    /// and run. tokens: [T, S], labels: [S].
    /// </summary>
    public static (int[] Tokens, int[] Labels) TestSet(DemoSettings settings, int fillers)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var task = new SentimentTask(fillers);
        int S = settings.TestSize;
        int[] tokens = new int[task.SequenceLength * S], labels = new int[S];
        var random = new TaskRandom(settings.Seed, TestStream, fillers);
        task.Fill(ref random, S, tokens, labels);
        return (tokens, labels);
    }

    /// <summary>Trains and measures one run. The result depends only on the settings and the job, not on threads or timing.</summary>
    /// <param name="settings">The recipe.</param>
    /// <param name="job">The run.</param>
    /// <param name="testTokens">[T, S] from <see cref="TestSet"/>.</param>
    /// <param name="testLabels">[S].</param>
    /// <param name="progress">Receives progress.</param>
    public static DemoRunResult Run(DemoSettings settings, DemoJob job, int[] testTokens, int[] testLabels, IDemoProgress progress)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(testTokens);
        ArgumentNullException.ThrowIfNull(testLabels);
        ArgumentNullException.ThrowIfNull(progress);
        var task = new SentimentTask(job.Fillers);
        int T = task.SequenceLength, B = settings.BatchSize;

        // The same model seed for every cell and length of a run: the embedding starts identical across cells.
        var modelSeeds = new TaskRandom(settings.Seed, ModelStream, job.Run);
        var model = new SequenceModel(new SequenceModelOptions(
            SentimentTask.VocabularySize, settings.EmbeddingSize, job.Cell.Cell, settings.HiddenSize, SentimentTask.ClassCount,
            Output: SequenceOutput.LastStep, Nonlinearity: job.Cell.Nonlinearity, Seed: modelSeeds.NextSeed()));
        RecurrentLayer layer = model.Stack.Layer(0);
        if (layer is LstmLayer lstm)
        {
            // bias_ih's f block = the value, bias_hh's = 0: the gate starts at sigmoid(value + W x + U h).
            Initializers.SetForgetGateBias(lstm, settings.ForgetGateBias);
        }

        SequenceModelWorkspace workspace = model.CreateWorkspace(T, B);
        var adam = new Adam(settings.LearningRate);
        adam.AllocateState(model.Store.Length);

        RecurrentWeightReport? initialSpectra = Spectra(layer);
        double[] initialBiases = GateBiasMeans(layer);
        GradientProfile initialGradients = Probe(settings, job, task, model, workspace);

        progress.Started(job);
        var data = new TaskRandom(settings.Seed, TrainStream, job.Fillers, job.Run); // the same data for every cell
        int[] tokens = new int[T * B], labels = new int[B];
        double smoothed = double.NaN;
        int skipped = 0;
        var watch = Stopwatch.StartNew();
        for (int step = 1; step <= settings.Steps; step++)
        {
            task.Fill(ref data, B, tokens, labels);
            model.Store.ZeroGradients();
            float loss = model.Forward(tokens, T, B, labels, workspace);
            model.Backward(workspace);
            double norm = GradientClipping.ClipByGlobalNorm(model.Store, settings.ClipNorm);
            if (double.IsFinite(norm) && float.IsFinite(loss))
            {
                adam.Step(model.Store);
            }
            else
            {
                skipped++;
            }

            // About a 50-step average; the first step seeds it.
            smoothed = step == 1 ? loss : (0.98 * smoothed) + (0.02 * loss);
            progress.Step(job, step, smoothed, (long)step * T * B);
        }

        double seconds = watch.Elapsed.TotalSeconds;
        GradientProfile trainedGradients = Probe(settings, job, task, model, workspace);
        int correct = Evaluate(model, workspace, T, B, testTokens, testLabels);
        var result = new DemoRunResult(
            job, correct, testLabels.Length, smoothed, skipped, seconds, seconds > 0 ? (double)settings.Steps * T * B / seconds : 0,
            initialGradients, trainedGradients, initialSpectra, Spectra(layer), initialBiases, GateBiasMeans(layer));
        progress.Finished(result);
        return result;
    }

    // The per-step norms ||dL/dh_t|| (and ||dL/dc_t||) averaged over a few batches that are the same before and after
    // training (and for every cell); the gradients they leave behind are cleared.
    private static GradientProfile Probe(DemoSettings settings, DemoJob job, SentimentTask task, SequenceModel model, SequenceModelWorkspace workspace)
    {
        int T = task.SequenceLength, B = settings.BatchSize;
        bool hasCell = model.Stack.HasCellState;
        double[] hidden = new double[T], cell = hasCell ? new double[T] : [];
        float[] norms = new float[T];
        int[] tokens = new int[T * B], labels = new int[B];
        var random = new TaskRandom(settings.Seed, ProbeStream, job.Fillers);
        double loss = 0;
        StackGradientNorms.SetRecording(workspace.Stack, true);
        for (int k = 0; k < settings.ProbeBatches; k++)
        {
            task.Fill(ref random, B, tokens, labels);
            model.Store.ZeroGradients();
            loss += model.Forward(tokens, T, B, labels, workspace, training: false);
            model.Backward(workspace);
            StackGradientNorms.LayerHiddenNorms(workspace.Stack, 0, norms);
            for (int t = 0; t < T; t++)
            {
                hidden[t] += norms[t] / (double)settings.ProbeBatches;
            }

            ReadOnlySpan<float> cellNorms = workspace.Stack.LayerWorkspace(0).CellGradientNorms;
            for (int t = 0; t < cell.Length; t++)
            {
                cell[t] += cellNorms[t] / (double)settings.ProbeBatches;
            }
        }

        StackGradientNorms.SetRecording(workspace.Stack, false);
        model.Store.ZeroGradients();
        return new GradientProfile(hidden, cell, loss / settings.ProbeBatches);
    }

    // Classifies the test set in batches of B (the workspace's size): argmax of the two logits.
    private static int Evaluate(SequenceModel model, SequenceModelWorkspace workspace, int T, int B, int[] testTokens, int[] testLabels)
    {
        int S = testLabels.Length;
        int[] tokens = new int[T * B], labels = new int[B];
        int correct = 0;
        for (int start = 0; start < S; start += B)
        {
            int b = Math.Min(B, S - start);
            for (int t = 0; t < T; t++)
            {
                // [T, S] columns start..start+b -> [T, b]
                Array.Copy(testTokens, (t * S) + start, tokens, t * b, b);
            }

            Array.Copy(testLabels, start, labels, 0, b);
            model.Forward(tokens.AsSpan(0, T * b), T, b, labels.AsSpan(0, b), workspace, training: false);
            ReadOnlySpan<float> logits = workspace.Logits; // [b, 2]
            for (int i = 0; i < b; i++)
            {
                int predicted = logits[(2 * i) + 1] > logits[2 * i] ? SentimentTask.Positive : SentimentTask.Negative;
                if (predicted == labels[i])
                {
                    correct++;
                }
            }
        }

        return correct;
    }

    private static RecurrentWeightReport? Spectra(RecurrentLayer layer)
    {
        try
        {
            return RecurrentWeightSpectra.Analyze(layer);
        }
        catch (ArgumentException)
        {
            return null; // weights went NaN or infinite; the table says so
        }
    }

    // [G]: mean over the H units of each gate block of b_ih + b_hh (what the gate adds to its pre-activation).
    private static double[] GateBiasMeans(RecurrentLayer layer)
    {
        int H = layer.HiddenSize, G = layer.GateCount;
        ReadOnlySpan<float> bih = layer.BiasIh.Values, bhh = layer.BiasHh.Values;
        double[] means = new double[G];
        for (int g = 0; g < G; g++)
        {
            double sum = 0;
            for (int j = 0; j < H; j++)
            {
                sum += bih[(g * H) + j] + bhh[(g * H) + j];
            }

            means[g] = sum / H;
        }

        return means;
    }
}
