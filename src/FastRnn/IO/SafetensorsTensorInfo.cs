namespace FastRnn.IO;

/// <summary>One tensor's entry in a safetensors header: name, dtype, shape and where its bytes are.</summary>
public sealed class SafetensorsTensorInfo
{
    private readonly int[] _shape;

    internal SafetensorsTensorInfo(string name, SafetensorsDType dtype, int[] shape, long dataBegin, long dataEnd, int headerIndex)
    {
        Name = name;
        DType = dtype;
        _shape = shape;
        DataBegin = dataBegin;
        DataEnd = dataEnd;
        HeaderIndex = headerIndex;
    }

    /// <summary>The tensor's name (the JSON key).</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public SafetensorsDType DType { get; }

    /// <summary>Dimensions, outermost first; empty for a scalar. A dimension may be 0 (the tensor then has no elements).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>
    /// Number of elements: the product of <see cref="Shape"/>, 1 for a scalar. It fits in an <see cref="int"/> because a
    /// <see cref="SafetensorsFile"/> holds all tensor data in one array and checked each tensor's size against it.
    /// </summary>
    public int ElementCount => (int)(ByteLength / DType.Size());

    /// <summary>First byte of the tensor, counted from the first byte after the header.</summary>
    public long DataBegin { get; }

    /// <summary>One past the last byte of the tensor, counted from the first byte after the header.</summary>
    public long DataEnd { get; }

    /// <summary>Size of the tensor's data in bytes: <see cref="ElementCount"/> times the dtype's size.</summary>
    public long ByteLength => DataEnd - DataBegin;

    /// <summary>The shape as text, e.g. <c>[16, 8]</c>, <c>[]</c> for a scalar.</summary>
    public string ShapeText => "[" + string.Join(", ", _shape) + "]";

    /// <summary>Position of the entry among the header's tensors (header order).</summary>
    internal int HeaderIndex { get; }

    internal int[] ShapeArray => _shape;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {DType.HeaderName()}{ShapeText}";
}
