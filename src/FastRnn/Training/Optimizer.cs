// Legend: P parameters (the length of the flat parameter buffer).
// Optimizers follow PyTorch's single-tensor (for-loop) implementations in torch/optim, the CPU default, operation by
// operation in float32 (see each optimizer's file for its lines). Scalars are kept in double, as PyTorch keeps them in
// Python floats; derived constants (1 - beta, bias corrections, step sizes) are computed in double and rounded to float
// where PyTorch hands them to a float32 kernel. Where PyTorch's compiled CPU kernels contract a*b + c into a fused
// multiply-add (add with alpha, addcmul, lerp; measured against torch's float32 results), we use an exactly fused
// multiply-add too (Vector.FusedMultiplyAdd, MathF.FusedMultiplyAdd: fused on every machine, in software where there
// is no FMA), so the result of an element depends neither on its position (vector body or scalar tail) nor on the width.
namespace FastRnn.Training;

/// <summary>
/// A first-order optimizer over one flat parameter buffer and its gradient buffer (a <see cref="ParameterStore"/>'s
/// <see cref="ParameterStore.Values"/> and <see cref="ParameterStore.Gradients"/>).
/// </summary>
/// <remarks>
/// <para>An optimizer is bound to one parameter count P: the first <see cref="Step(Span{float}, ReadOnlySpan{float})"/>,
/// <see cref="AllocateState"/> or <see cref="LoadState"/> fixes it and allocates the state buffers (P floats each).
/// After that a step allocates nothing; call <see cref="AllocateState"/> up front to make the first step allocation-free
/// too. Stepping a buffer of another length throws.</para>
/// <para>State is exposed as named flat buffers (<see cref="State"/>) plus <see cref="StepCount"/>, and restored with
/// <see cref="LoadState"/>; a restored optimizer continues bitwise identically to one that was never interrupted.</para>
/// </remarks>
public abstract class Optimizer
{
    private readonly string[] _stateNames;
    private float[][] _state = [];
    private OptimizerStateBuffer[] _stateViews = [];
    private int _parameterCount = -1;

    private protected Optimizer(double learningRate, string[] stateNames)
    {
        LearningRate = learningRate;
        _stateNames = stateNames;
    }

    /// <summary>Step size (PyTorch's <c>lr</c>), finite and &gt;= 0. Settable between steps, for schedules.</summary>
    public double LearningRate
    {
        get;
        set
        {
            ValidateNonNegative(value, nameof(LearningRate));
            field = value;
        }
    }

    /// <summary>Number of steps taken (PyTorch's <c>step</c> state); the step being taken is <c>StepCount + 1</c>.</summary>
    public long StepCount { get; private set; }

    /// <summary>P, the parameter count this optimizer is bound to, or null before its first step or state allocation.</summary>
    public int? ParameterCount => _parameterCount < 0 ? null : _parameterCount;

    /// <summary>The names of the state buffers this configuration keeps (empty for plain SGD), in the order of <see cref="State"/>.</summary>
    public IReadOnlyList<string> StateNames => _stateNames;

    /// <summary>
    /// The live state buffers, one per name in <see cref="StateNames"/>, each P floats; empty before the state is allocated.
    /// Copy them to save; writing to them changes the optimizer's state.
    /// </summary>
    public IReadOnlyList<OptimizerStateBuffer> State => _stateViews;

    /// <summary>Binds the optimizer to <paramref name="parameterCount"/> parameters and allocates its state, so that every step allocates nothing.</summary>
    /// <param name="parameterCount">P.</param>
    /// <exception cref="ArgumentException">The optimizer is already bound to another count.</exception>
    public void AllocateState(int parameterCount)
    {
        ThrowHelper.ThrowIfNegative(parameterCount);
        Bind(parameterCount, nameof(parameterCount));
    }

    /// <summary>Updates every parameter of <paramref name="store"/> from its accumulated gradient.</summary>
    /// <param name="store">Parameters and gradients.</param>
    public void Step(ParameterStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        Step(store.Values, store.Gradients);
    }

    /// <summary>Takes one optimization step: updates <paramref name="values"/> in place and the state, and increments <see cref="StepCount"/>.</summary>
    /// <param name="values">Parameters: [P], updated in place.</param>
    /// <param name="gradients">Gradients: [P], read only. Must not overlap <paramref name="values"/>.</param>
    /// <exception cref="ArgumentException">The lengths differ, the spans overlap, or P differs from the bound parameter count.</exception>
    public void Step(Span<float> values, ReadOnlySpan<float> gradients)
    {
        ThrowHelper.ThrowIfLengthMismatch(gradients, nameof(gradients), new Dims("P", values.Length));
        if (values.Overlaps(gradients))
        {
            ThrowHelper.ThrowArgument(nameof(gradients), "gradients must not overlap values");
        }

        Bind(values.Length, nameof(values));
        long step = StepCount + 1;
        Update(values, gradients, step);
        StepCount = step;
    }

    /// <summary>Clears the state as if no step had been taken: <see cref="StepCount"/> 0, every buffer 0. Keeps the binding.</summary>
    public void ResetState()
    {
        StepCount = 0;
        foreach (float[] buffer in _state)
        {
            Array.Clear(buffer);
        }
    }

    /// <summary>
    /// Restores a state saved from <see cref="StepCount"/> and <see cref="State"/> (of an optimizer with the same
    /// configuration), copying the buffers. Everything is validated before anything is written.
    /// </summary>
    /// <param name="stepCount">Steps taken, &gt;= 0.</param>
    /// <param name="buffers">Exactly the buffers named in <see cref="StateNames"/>, in any order, all of one length P
    /// (the bound parameter count, if bound). May be empty when <paramref name="stepCount"/> is 0 (a fresh state).</param>
    /// <exception cref="ArgumentException">A name is missing, unknown or repeated, or a length is wrong.</exception>
    public void LoadState(long stepCount, IReadOnlyList<OptimizerStateBuffer> buffers)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        if (stepCount < 0)
        {
            ThrowHelper.ThrowOutOfRange(nameof(stepCount), $"must be non-negative, was {stepCount}");
        }

        if (buffers.Count == 0)
        {
            if (stepCount != 0 && _stateNames.Length != 0)
            {
                ThrowHelper.ThrowArgument(nameof(buffers), $"after {stepCount} steps the state needs the buffers [{string.Join(", ", _stateNames)}], got none");
            }

            ResetState();
            StepCount = stepCount;
            return;
        }

        // Map each expected name to its buffer; reject unknown, repeated and missing names, and unequal lengths.
        var ordered = new OptimizerStateBuffer[_stateNames.Length];
        bool[] seen = new bool[_stateNames.Length];
        int length = buffers[0].Values.Length;
        foreach (OptimizerStateBuffer buffer in buffers)
        {
            int index = Array.IndexOf(_stateNames, buffer.Name);
            if (index < 0)
            {
                ThrowHelper.ThrowArgument(nameof(buffers), $"unknown state buffer '{buffer.Name}'; this optimizer keeps [{string.Join(", ", _stateNames)}]");
            }

            if (seen[index])
            {
                ThrowHelper.ThrowArgument(nameof(buffers), $"state buffer '{buffer.Name}' given twice");
            }

            if (buffer.Values.Length != length)
            {
                ThrowHelper.ThrowArgument(nameof(buffers), $"state buffer '{buffer.Name}' has {buffer.Values.Length} elements, '{buffers[0].Name}' has {length}");
            }

            seen[index] = true;
            ordered[index] = buffer;
        }

        int missing = Array.IndexOf(seen, false);
        if (missing >= 0)
        {
            ThrowHelper.ThrowArgument(nameof(buffers), $"state buffer '{_stateNames[missing]}' is missing");
        }

        if (_parameterCount >= 0 && length != _parameterCount)
        {
            ThrowHelper.ThrowArgument(nameof(buffers), $"expected {_parameterCount} elements per buffer ([P={_parameterCount}]), got {length}");
        }

        Bind(length, nameof(buffers));
        for (int i = 0; i < ordered.Length; i++)
        {
            ordered[i].Values.Span.CopyTo(_state[i]);
        }

        StepCount = stepCount;
    }

    /// <summary>One step over all P parameters; <paramref name="step"/> is the 1-based number of this step.</summary>
    private protected abstract void Update(Span<float> values, ReadOnlySpan<float> gradients, long step);

    /// <summary>The state buffer at <paramref name="index"/> in <see cref="StateNames"/>: [P].</summary>
    private protected Span<float> StateBuffer(int index) => _state[index];

    /// <summary>Throws unless <paramref name="value"/> is finite and &gt;= 0.</summary>
    private protected static void ValidateNonNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
        {
            ThrowHelper.ThrowOutOfRange(name, $"must be finite and >= 0, was {value}");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is in [0, 1).</summary>
    private protected static void ValidateUnitInterval(double value, string name)
    {
        if (!(value >= 0 && value < 1))
        {
            ThrowHelper.ThrowOutOfRange(name, $"must be in [0, 1), was {value}");
        }
    }

    private void Bind(int parameterCount, string paramName)
    {
        if (_parameterCount == parameterCount)
        {
            return;
        }

        if (_parameterCount >= 0)
        {
            ThrowHelper.ThrowArgument(paramName, $"this optimizer is bound to P={_parameterCount} parameters, got {parameterCount}");
        }

        _state = new float[_stateNames.Length][];
        _stateViews = new OptimizerStateBuffer[_stateNames.Length];
        for (int i = 0; i < _stateNames.Length; i++)
        {
            _state[i] = new float[parameterCount];
            _stateViews[i] = new OptimizerStateBuffer(_stateNames[i], _state[i]);
        }

        _parameterCount = parameterCount;
    }
}
