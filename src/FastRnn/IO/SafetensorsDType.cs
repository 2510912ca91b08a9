namespace FastRnn.IO;

/// <summary>
/// The element types FastRnn reads and writes in safetensors files, under the format's own names. Every value is
/// stored little-endian. Other dtypes of the format (BF16, F16, U8, ...) are rejected when a file is read.
/// </summary>
public enum SafetensorsDType
{
    /// <summary>32-bit IEEE float (<see cref="float"/>), PyTorch's <c>torch.float32</c>.</summary>
    F32,

    /// <summary>64-bit IEEE float (<see cref="double"/>), PyTorch's <c>torch.float64</c>.</summary>
    F64,

    /// <summary>32-bit signed integer (<see cref="int"/>), PyTorch's <c>torch.int32</c>.</summary>
    I32,

    /// <summary>64-bit signed integer (<see cref="long"/>), PyTorch's <c>torch.int64</c>.</summary>
    I64,
}

/// <summary>Sizes and names of <see cref="SafetensorsDType"/>.</summary>
internal static class SafetensorsDTypes
{
    /// <summary>The dtype names every supported file uses, for messages.</summary>
    public const string SupportedList = "F32, F64, I32, I64";

    /// <summary>Bytes per element: 4 or 8.</summary>
    public static int Size(this SafetensorsDType dtype) => dtype is SafetensorsDType.F64 or SafetensorsDType.I64 ? 8 : 4;

    /// <summary>The name in the JSON header ("F32", ...). Not <c>ToString()</c>, which would depend on enum reflection.</summary>
    public static string HeaderName(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => "F32",
        SafetensorsDType.F64 => "F64",
        SafetensorsDType.I32 => "I32",
        _ => "I64",
    };

    /// <summary>Parses a header dtype name; false for every name FastRnn does not support.</summary>
    public static bool TryParse(string name, out SafetensorsDType dtype)
    {
        switch (name)
        {
            case "F32": dtype = SafetensorsDType.F32; return true;
            case "F64": dtype = SafetensorsDType.F64; return true;
            case "I32": dtype = SafetensorsDType.I32; return true;
            case "I64": dtype = SafetensorsDType.I64; return true;
            default: dtype = default; return false;
        }
    }
}
