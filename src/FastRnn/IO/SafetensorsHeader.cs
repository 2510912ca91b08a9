// Parses and validates the JSON header of a safetensors file. Every problem is an InvalidDataException whose message
// names the tensor and field; nothing here allocates in proportion to a number the header declares (only to the
// header's own size, which the caller has already checked against the real file and the 100 MB limit).
//
// The rules follow the reference implementation (huggingface/safetensors, safetensors/src/tensor.rs), which is also what
// PyTorch users write with:
//   - the header is UTF-8 JSON starting with '{', at most 100,000,000 bytes, optionally padded with trailing whitespace;
//   - keys map tensor names to {"dtype", "shape", "data_offsets"}; "__metadata__" maps strings to strings (or is null);
//   - shape entries and offsets are non-negative integers (1.0, 1e3 and -1 are not), data_offsets is [begin, end] with
//     begin <= end, counted from the first byte after the header;
//   - end - begin == product(shape) * dtype size, the product computed in order without overflow;
//   - sorted by offset, the tensors tile the data exactly: the first begins at 0, each begins where the previous ends
//     (no gap, no overlap), and the last ends at the end of the file (no trailing bytes). A zero-size tensor is legal
//     and sits at a boundary.
// Where the reference is silent or lax, FastRnn is strict: duplicate keys (tensor names, fields, metadata keys) and
// unknown fields in a tensor entry are errors (serde would keep the last duplicate or ignore the field).
// Supported dtypes are F32, F64, I32, I64; any other dtype is rejected by name.
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace FastRnn.IO;

internal sealed class SafetensorsHeader
{
    /// <summary>The reference implementation's limit on the header length (MAX_HEADER_SIZE).</summary>
    public const int MaxHeaderLength = 100_000_000;

    /// <summary>The name reserved for the metadata map.</summary>
    public const string MetadataKey = "__metadata__";

    // Root object, tensor entry, shape/offsets array: depth 3 is all a valid header needs. Our walker rejects any
    // unexpected token before nesting deeper, so this is a second guard, not the first.
    private static readonly JsonReaderOptions s_readerOptions = new() { MaxDepth = 4 };

    private SafetensorsHeader(List<SafetensorsTensorInfo> tensors, Dictionary<string, SafetensorsTensorInfo> byName, Dictionary<string, string> metadata, long dataLength)
    {
        Tensors = tensors;
        ByName = byName;
        Metadata = metadata;
        DataLength = dataLength;
    }

    /// <summary>The tensors in header order.</summary>
    public List<SafetensorsTensorInfo> Tensors { get; }

    public Dictionary<string, SafetensorsTensorInfo> ByName { get; }

    public Dictionary<string, string> Metadata { get; }

    /// <summary>Bytes of tensor data the header describes (the end of the last tensor).</summary>
    public long DataLength { get; }

    /// <summary>
    /// Checks the 8-byte header length against the limit and, when known, against the bytes that follow it.
    /// </summary>
    /// <param name="declared">The little-endian u64 from the file's first 8 bytes.</param>
    /// <param name="available">Bytes after the length field, or null for a stream of unknown length.</param>
    public static int CheckHeaderLength(ulong declared, long? available)
    {
        if (declared == 0)
        {
            throw SafetensorsErrors.Invalid("the header length is 0; the header must hold at least the JSON object '{}'");
        }

        if (declared > MaxHeaderLength)
        {
            throw SafetensorsErrors.Invalid($"the header length {declared} exceeds the limit of {MaxHeaderLength} bytes (is this a safetensors file?)");
        }

        if (available is long bytes && (long)declared > bytes)
        {
            throw SafetensorsErrors.Invalid($"the header length {declared} is larger than the {bytes} bytes that follow the length field (truncated file?)");
        }

        return (int)declared;
    }

    /// <summary>Parses and validates a header.</summary>
    /// <param name="json">The header bytes (exactly the declared length).</param>
    /// <param name="availableData">Bytes after the header when known (file, span, seekable stream); null otherwise.</param>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long? availableData)
    {
        if (!Utf8.IsValid(json))
        {
            throw SafetensorsErrors.Invalid($"the {json.Length}-byte header is not valid UTF-8");
        }

        if (json[0] != (byte)'{')
        {
            throw SafetensorsErrors.Invalid($"the header must be a JSON object starting with '{{', but its first byte is 0x{json[0]:X2}");
        }

        var tensors = new List<SafetensorsTensorInfo>();
        var byName = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        bool sawMetadata = false;
        var reader = new Utf8JsonReader(json, s_readerOptions);
        try
        {
            Next(ref reader); // '{', checked above
            while (true)
            {
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                string key = GetString(ref reader, "a tensor name");
                if (key == MetadataKey)
                {
                    if (sawMetadata)
                    {
                        throw SafetensorsErrors.Invalid($"\"{MetadataKey}\" appears twice in the header");
                    }

                    sawMetadata = true;
                    ReadMetadata(ref reader, metadata);
                    continue;
                }

                if (byName.ContainsKey(key))
                {
                    throw SafetensorsErrors.Invalid($"tensor {SafetensorsErrors.Quote(key)} appears twice in the header");
                }

                SafetensorsTensorInfo info = ReadTensor(ref reader, key, tensors.Count);
                tensors.Add(info);
                byName.Add(key, info);
            }

            // Only whitespace may follow the object (the format pads with spaces); the reader throws on anything else.
            if (reader.Read())
            {
                throw SafetensorsErrors.Invalid("the header has more JSON after its closing brace");
            }
        }
        catch (JsonException e)
        {
            throw SafetensorsErrors.Invalid($"the header is not valid JSON: {e.Message}", e);
        }

        long dataLength = ValidateLayout(tensors, availableData);
        return new SafetensorsHeader(tensors, byName, metadata, dataLength);
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        // With the whole header as the final block, the reader throws on truncated JSON rather than returning false;
        // this guards the contract anyway.
        if (!reader.Read())
        {
            throw SafetensorsErrors.Invalid("the header's JSON ends early");
        }
    }

    private static string GetString(ref Utf8JsonReader reader, string what)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            // Escapes such as "\ud800" (a lone surrogate) are valid JSON syntax but not a string.
            throw SafetensorsErrors.Invalid($"{what} is not a valid string: {e.Message}", e);
        }
    }

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.EndArray => "the end of the array",
        _ => reader.TokenType.ToString(),
    };

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata)
    {
        Next(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return; // the reference reads __metadata__ as an optional map, so null means none
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw SafetensorsErrors.Invalid($"\"{MetadataKey}\" must be an object of string values, found {Describe(ref reader)}");
        }

        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return;
            }

            string key = GetString(ref reader, "a metadata key");
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.String)
            {
                throw SafetensorsErrors.Invalid($"metadata value of {SafetensorsErrors.Quote(key)} must be a string, found {Describe(ref reader)}");
            }

            string value = GetString(ref reader, $"the metadata value of {SafetensorsErrors.Quote(key)}");
            if (!metadata.TryAdd(key, value))
            {
                throw SafetensorsErrors.Invalid($"metadata key {SafetensorsErrors.Quote(key)} appears twice");
            }
        }
    }

    private static SafetensorsTensorInfo ReadTensor(ref Utf8JsonReader reader, string name, int headerIndex)
    {
        string tensor = "tensor " + SafetensorsErrors.Quote(name);
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw SafetensorsErrors.Invalid($"{tensor}: expected an object with \"dtype\", \"shape\" and \"data_offsets\", found {Describe(ref reader)}");
        }

        SafetensorsDType? dtype = null;
        int[]? shape = null;
        long begin = 0, end = 0;
        bool sawOffsets = false;
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            string field = GetString(ref reader, $"a field name of {tensor}");
            switch (field)
            {
                case "dtype":
                    ThrowIfSeen(dtype is not null, tensor, field);
                    dtype = ReadDType(ref reader, name, tensor);
                    break;
                case "shape":
                    ThrowIfSeen(shape is not null, tensor, field);
                    shape = ReadShape(ref reader, tensor);
                    break;
                case "data_offsets":
                    ThrowIfSeen(sawOffsets, tensor, field);
                    (begin, end) = ReadOffsets(ref reader, tensor);
                    sawOffsets = true;
                    break;
                default:
                    throw SafetensorsErrors.Invalid($"{tensor}: unknown field {SafetensorsErrors.Quote(field)} (a tensor entry has exactly \"dtype\", \"shape\" and \"data_offsets\")");
            }
        }

        if (dtype is null)
        {
            throw SafetensorsErrors.Invalid($"{tensor} has no \"dtype\"");
        }

        if (shape is null)
        {
            throw SafetensorsErrors.Invalid($"{tensor} has no \"shape\"");
        }

        if (!sawOffsets)
        {
            throw SafetensorsErrors.Invalid($"{tensor} has no \"data_offsets\"");
        }

        return new SafetensorsTensorInfo(name, dtype.Value, shape, begin, end, headerIndex);
    }

    private static void ThrowIfSeen(bool seen, string tensor, string field)
    {
        if (seen)
        {
            throw SafetensorsErrors.Invalid($"{tensor}: \"{field}\" appears twice");
        }
    }

    private static SafetensorsDType ReadDType(ref Utf8JsonReader reader, string name, string tensor)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.String)
        {
            throw SafetensorsErrors.Invalid($"{tensor}: \"dtype\" must be a string, found {Describe(ref reader)}");
        }

        string text = GetString(ref reader, $"the dtype of {tensor}");
        if (!SafetensorsDTypes.TryParse(text, out SafetensorsDType dtype))
        {
            throw SafetensorsErrors.Invalid($"unsupported dtype {SafetensorsErrors.DTypeText(text)} for tensor {SafetensorsErrors.Quote(name)} (FastRnn reads {SafetensorsDTypes.SupportedList})");
        }

        return dtype;
    }

    private static int[] ReadShape(ref Utf8JsonReader reader, string tensor)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw SafetensorsErrors.Invalid($"{tensor}: \"shape\" must be an array of non-negative integers, found {Describe(ref reader)}");
        }

        var dims = new List<int>();
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return [.. dims];
            }

            dims.Add((int)ReadNonNegative(ref reader, $"{tensor}: shape[{dims.Count}]", int.MaxValue));
        }
    }

    private static (long Begin, long End) ReadOffsets(ref Utf8JsonReader reader, string tensor)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw SafetensorsErrors.Invalid($"{tensor}: \"data_offsets\" must be an array [begin, end], found {Describe(ref reader)}");
        }

        long begin = 0, end = 0;
        int count = 0;
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            long value = ReadNonNegative(ref reader, $"{tensor}: data_offsets[{count}]", long.MaxValue);
            if (count == 0)
            {
                begin = value;
            }
            else if (count == 1)
            {
                end = value;
            }

            count++;
        }

        if (count != 2)
        {
            throw SafetensorsErrors.Invalid($"{tensor}: \"data_offsets\" must hold exactly two numbers [begin, end], found {count}");
        }

        return (begin, end);
    }

    private static long ReadNonNegative(ref Utf8JsonReader reader, string what, long max)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            throw SafetensorsErrors.Invalid($"{what} must be a non-negative integer, found {Describe(ref reader)}");
        }

        if (reader.TryGetInt64(out long value))
        {
            if (value < 0)
            {
                throw SafetensorsErrors.Invalid($"{what} is negative ({value})");
            }

            if (value > max)
            {
                throw SafetensorsErrors.Invalid($"{what} is {value}, larger than the maximum {max}");
            }

            return value;
        }

        // Not an Int64: a fraction or exponent, or out of range. The literal may be long; show its start only.
        ReadOnlySpan<byte> raw = reader.ValueSpan;
        string text = SafetensorsErrors.Shorten(Encoding.UTF8.GetString(raw));
        if (raw.IndexOfAny((byte)'.', (byte)'e', (byte)'E') >= 0)
        {
            throw SafetensorsErrors.Invalid($"{what} is {text}, not an integer");
        }

        if (raw[0] == (byte)'-')
        {
            throw SafetensorsErrors.Invalid($"{what} is negative ({text})");
        }

        throw SafetensorsErrors.Invalid($"{what} is {text}, larger than the maximum {max}");
    }

    /// <summary>Checks sizes and offsets of every tensor and that, sorted by offset, they tile the data exactly.</summary>
    /// <returns>The data length the header describes.</returns>
    private static long ValidateLayout(List<SafetensorsTensorInfo> tensors, long? availableData)
    {
        foreach (SafetensorsTensorInfo info in tensors)
        {
            string tensor = "tensor " + SafetensorsErrors.Quote(info.Name);
            string offsets = $"data_offsets [{info.DataBegin}, {info.DataEnd}]";
            if (info.DataBegin > info.DataEnd)
            {
                throw SafetensorsErrors.Invalid($"{tensor}: {offsets} end before they begin");
            }

            // Product in order, like the reference (checked_mul from 1): a zero dimension makes every later product 0.
            long count = 1;
            foreach (int dimension in info.Shape)
            {
                if (count != 0 && dimension > long.MaxValue / count)
                {
                    throw SafetensorsErrors.Invalid($"{tensor}: the element count of shape {info.ShapeText} overflows a 64-bit integer");
                }

                count *= dimension;
            }

            int size = info.DType.Size();
            if (count > long.MaxValue / size)
            {
                throw SafetensorsErrors.Invalid($"{tensor}: the byte size of shape {info.ShapeText} ({count} elements of {size} bytes) overflows a 64-bit integer");
            }

            if (count * size != info.ByteLength)
            {
                throw SafetensorsErrors.Invalid($"{tensor}: shape {info.ShapeText} of {info.DType.HeaderName()} needs {count * size} bytes, but {offsets} span {info.ByteLength}");
            }

            if (availableData is long available && info.DataEnd > available)
            {
                throw SafetensorsErrors.Invalid($"{tensor}: {offsets} run past the end of the data ({available} bytes after the header; truncated file?)");
            }
        }

        SafetensorsTensorInfo[] sorted = [.. tensors];
        Array.Sort(sorted, static (a, b) =>
        {
            int byBegin = a.DataBegin.CompareTo(b.DataBegin);
            if (byBegin != 0)
            {
                return byBegin;
            }

            int byEnd = a.DataEnd.CompareTo(b.DataEnd);
            return byEnd != 0 ? byEnd : a.HeaderIndex.CompareTo(b.HeaderIndex);
        });

        long covered = 0;
        SafetensorsTensorInfo? previous = null;
        foreach (SafetensorsTensorInfo info in sorted)
        {
            if (info.DataBegin < covered)
            {
                throw SafetensorsErrors.Invalid(
                    $"tensors {SafetensorsErrors.Quote(previous!.Name)} (data_offsets [{previous.DataBegin}, {previous.DataEnd}]) and "
                    + $"{SafetensorsErrors.Quote(info.Name)} (data_offsets [{info.DataBegin}, {info.DataEnd}]) overlap");
            }

            if (info.DataBegin > covered)
            {
                throw SafetensorsErrors.Invalid(
                    $"bytes [{covered}, {info.DataBegin}) of the data belong to no tensor (the gap ends at tensor {SafetensorsErrors.Quote(info.Name)}); "
                    + "safetensors requires the tensors to cover the data without gaps");
            }

            covered = info.DataEnd;
            previous = info;
        }

        if (availableData is long total && covered != total)
        {
            throw SafetensorsErrors.Invalid($"the tensors cover {covered} bytes of data, but {total} bytes follow the header (trailing bytes)");
        }

        return covered;
    }
}
