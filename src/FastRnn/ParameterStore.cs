namespace FastRnn;

/// <summary>
/// All parameters of a model in one contiguous <see cref="float"/> buffer, their gradients in a second buffer of the
/// same layout, with named, shaped views (<see cref="ParameterTensor"/>). Optimizers, clipping and serialization work on
/// the two flat spans.
/// </summary>
/// <remarks>
/// Tensors are added while the model is built; adding may move the buffers, so hold <see cref="ParameterTensor"/>
/// handles, not spans, across additions. Parameter gradients accumulate (<c>+=</c>) in every backward pass;
/// <see cref="ZeroGradients"/> clears them.
/// </remarks>
public sealed class ParameterStore
{
    private readonly List<ParameterTensor> _tensors = [];
    private float[] _values = [];
    private float[] _gradients = [];
    private int _length;

    /// <summary>Total number of parameters.</summary>
    public int Length => _length;

    /// <summary>The tensors in the order they were added (their order in the flat buffers).</summary>
    public IReadOnlyList<ParameterTensor> Tensors => _tensors;

    /// <summary>Every parameter value, in the order of <see cref="Tensors"/>.</summary>
    public Span<float> Values => _values.AsSpan(0, _length);

    /// <summary>Every parameter gradient, in the same layout as <see cref="Values"/>.</summary>
    public Span<float> Gradients => _gradients.AsSpan(0, _length);

    /// <summary>Looks a tensor up by name.</summary>
    /// <param name="name">The tensor's name, e.g. <c>weight_ih_l0</c>.</param>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public ParameterTensor this[string name]
    {
        get
        {
            foreach (ParameterTensor tensor in _tensors)
            {
                if (tensor.Name == name)
                {
                    return tensor;
                }
            }

            throw new KeyNotFoundException($"No parameter named '{name}'.");
        }
    }

    /// <summary>Adds a zero-initialized tensor.</summary>
    /// <param name="name">Unique name (PyTorch's, where one exists).</param>
    /// <param name="shape">Dimensions, outermost first; each at least 1.</param>
    /// <returns>A handle to the new tensor.</returns>
    public ParameterTensor Add(string name, params ReadOnlySpan<int> shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (shape.Length == 0)
        {
            ThrowHelper.ThrowArgument(nameof(shape), "a tensor needs at least one dimension");
        }

        long count = 1;
        foreach (int dimension in shape)
        {
            if (dimension <= 0)
            {
                ThrowHelper.ThrowArgument(nameof(shape), $"every dimension must be positive, got [{string.Join(", ", shape.ToArray())}]");
            }

            count *= dimension;
        }

        foreach (ParameterTensor existing in _tensors)
        {
            if (existing.Name == name)
            {
                ThrowHelper.ThrowArgument(nameof(name), $"a parameter named '{name}' already exists");
            }
        }

        long newLength = _length + count;
        if (newLength > Array.MaxLength)
        {
            ThrowHelper.ThrowArgument(nameof(shape), $"the store would hold {newLength} floats, more than an array can");
        }

        if (newLength > _values.Length)
        {
            int capacity = (int)Math.Min(Array.MaxLength, Math.Max(newLength, 2L * _values.Length));
            Array.Resize(ref _values, capacity);
            Array.Resize(ref _gradients, capacity);
        }

        var tensor = new ParameterTensor(this, name, shape.ToArray(), _length, (int)count);
        _tensors.Add(tensor);
        _length = (int)newLength;
        return tensor;
    }

    /// <summary>Sets every gradient to 0.</summary>
    public void ZeroGradients() => Gradients.Clear();

    /// <summary>The Euclidean norm of all gradients, computed in double.</summary>
    public double GradientNorm()
    {
        double sum = 0;
        foreach (float g in Gradients)
        {
            sum += (double)g * g;
        }

        return Math.Sqrt(sum);
    }

    /// <summary>Copies all values into <paramref name="destination"/>.</summary>
    /// <param name="destination">At least <see cref="Length"/> floats.</param>
    public void CopyValuesTo(Span<float> destination) => Values.CopyTo(destination);

    internal Span<float> ValuesOf(ParameterTensor tensor) => _values.AsSpan(tensor.Offset, tensor.Length);

    internal Span<float> GradientsOf(ParameterTensor tensor) => _gradients.AsSpan(tensor.Offset, tensor.Length);

}
