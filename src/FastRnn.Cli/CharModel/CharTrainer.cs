// Legend: T time steps, B batch, P parameters.
// One training step of a character model: next batch, forward + loss, BPTT, clipping, Adam. Allocation-free once built.
using FastRnn.Threading;
using FastRnn.Training;

namespace FastRnn.Cli.CharModel;

/// <summary>Trains a character model on windows of a text.</summary>
public sealed class CharTrainer
{
    private readonly SequenceModel _model;
    private readonly Optimizer _optimizer;
    private readonly CharBatcher _batcher;
    private readonly SequenceModelWorkspace _workspace;
    private readonly int[] _tokens;  // [T, B]
    private readonly int[] _targets; // [T, B]
    private readonly float _clip;

    /// <summary>Creates the trainer; the optimizer's state must already be allocated or loaded.</summary>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">Updates every parameter of the model.</param>
    /// <param name="batcher">The batches.</param>
    /// <param name="clip">Largest global gradient norm; 0 turns clipping off.</param>
    /// <param name="pool">Worker threads for the recurrent layers, or <see langword="null"/> for the calling thread alone.</param>
    public CharTrainer(SequenceModel model, Optimizer optimizer, CharBatcher batcher, double clip, WorkerPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(batcher);
        ArgumentOutOfRangeException.ThrowIfNegative(clip);
        _model = model;
        _optimizer = optimizer;
        _batcher = batcher;
        _clip = (float)clip;
        _workspace = model.CreateWorkspace(batcher.SequenceLength, batcher.BatchSize, pool);
        _tokens = new int[batcher.SequenceLength * batcher.BatchSize];
        _targets = new int[_tokens.Length];
    }

    /// <summary>Characters per step (T * B).</summary>
    public int TokensPerStep => _tokens.Length;

    /// <summary>Runs one step and returns the mean cross-entropy of its batch (before the update), in nats per character.</summary>
    public float Step()
    {
        _batcher.Next(_tokens, _targets);
        _model.Store.ZeroGradients();
        float loss = _model.Forward(_tokens, _batcher.SequenceLength, _batcher.BatchSize, _targets, _workspace, training: true);
        _model.Backward(_workspace);
        if (_clip > 0)
        {
            GradientClipping.ClipByGlobalNorm(_model.Store, _clip);
        }

        _optimizer.Step(_model.Store);
        return loss;
    }
}
