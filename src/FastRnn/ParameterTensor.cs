namespace FastRnn;

/// <summary>A named, shaped view of one tensor inside a <see cref="ParameterStore"/>.</summary>
public sealed class ParameterTensor
{
    private readonly int[] _shape;

    internal ParameterTensor(ParameterStore store, string name, int[] shape, int offset, int length)
    {
        Store = store;
        Name = name;
        _shape = shape;
        Offset = offset;
        Length = length;
    }

    /// <summary>The store that owns this tensor.</summary>
    public ParameterStore Store { get; }

    /// <summary>The tensor's name, PyTorch's where one exists (e.g. <c>weight_hh_l0</c>).</summary>
    public string Name { get; }

    /// <summary>Dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Position of the first element in the store's flat buffers.</summary>
    public int Offset { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>The values, row-major.</summary>
    public Span<float> Values => Store.ValuesOf(this);

    /// <summary>The accumulated gradient, same layout as <see cref="Values"/>.</summary>
    public Span<float> Gradient => Store.GradientsOf(this);

    /// <summary>The shape as text, e.g. <c>[16, 8]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", _shape) + "]";

    /// <inheritdoc/>
    public override string ToString() => Name + ShapeText;
}
