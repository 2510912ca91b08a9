// Writes safetensors files that the reference implementation (and so PyTorch's safetensors package) reads.
//
// Layout decisions:
//   - JSON keys: "__metadata__" first (when there is metadata), then the tensors in the order they were added.
//   - The header is padded with spaces to a multiple of 8 bytes, so the data starts 8-byte aligned, as the reference does.
//   - Data: the 8-byte dtypes (F64, I64) first, then the 4-byte ones (F32, I32), each group in the order added. Every
//     tensor is then aligned to its own element size. Aligning every tensor to 8 bytes would need padding between
//     tensors, and the format forbids gaps (the reference reader rejects them), so natural alignment is what a valid
//     file can promise; the reference writer orders by dtype size for the same reason.
using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FastRnn.IO;

/// <summary>
/// Collects named tensors (F32, F64, I32, I64, any shape including scalars and zero-size tensors) and metadata, and writes
/// them as one safetensors file. Values are copied when added, so the caller may reuse its buffers.
/// </summary>
/// <remarks>The output is deterministic: the same additions in the same order give the same bytes.</remarks>
public sealed class SafetensorsWriter
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly JsonWriterOptions s_jsonOptions = new()
    {
        // Names such as "rnn.weight_ih_l0" or non-ASCII text stay readable; the reference writer does not escape either.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly List<Entry> _entries = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly List<KeyValuePair<string, string>> _metadata = [];
    private readonly HashSet<string> _metadataKeys = new(StringComparer.Ordinal);

    /// <summary>Number of tensors added.</summary>
    public int Count => _entries.Count;

    /// <summary>Adds an F32 tensor.</summary>
    /// <param name="name">Unique tensor name; not <c>__metadata__</c>.</param>
    /// <param name="shape">Dimensions, outermost first, each &gt;= 0; empty for a scalar.</param>
    /// <param name="values">The values, row-major; exactly the product of <paramref name="shape"/>.</param>
    /// <returns>This writer.</returns>
    public SafetensorsWriter AddFloat32(string name, ReadOnlySpan<int> shape, ReadOnlySpan<float> values) =>
        Add(name, SafetensorsDType.F32, shape, values.Length, ToLittleEndian(MemoryMarshal.Cast<float, int>(values)));

    /// <summary>Adds an F64 tensor.</summary>
    /// <param name="name">Unique tensor name; not <c>__metadata__</c>.</param>
    /// <param name="shape">Dimensions, outermost first, each &gt;= 0; empty for a scalar.</param>
    /// <param name="values">The values, row-major; exactly the product of <paramref name="shape"/>.</param>
    /// <returns>This writer.</returns>
    public SafetensorsWriter AddFloat64(string name, ReadOnlySpan<int> shape, ReadOnlySpan<double> values) =>
        Add(name, SafetensorsDType.F64, shape, values.Length, ToLittleEndian(MemoryMarshal.Cast<double, long>(values)));

    /// <summary>Adds an I32 tensor.</summary>
    /// <param name="name">Unique tensor name; not <c>__metadata__</c>.</param>
    /// <param name="shape">Dimensions, outermost first, each &gt;= 0; empty for a scalar.</param>
    /// <param name="values">The values, row-major; exactly the product of <paramref name="shape"/>.</param>
    /// <returns>This writer.</returns>
    public SafetensorsWriter AddInt32(string name, ReadOnlySpan<int> shape, ReadOnlySpan<int> values) =>
        Add(name, SafetensorsDType.I32, shape, values.Length, ToLittleEndian(values));

    /// <summary>Adds an I64 tensor.</summary>
    /// <param name="name">Unique tensor name; not <c>__metadata__</c>.</param>
    /// <param name="shape">Dimensions, outermost first, each &gt;= 0; empty for a scalar.</param>
    /// <param name="values">The values, row-major; exactly the product of <paramref name="shape"/>.</param>
    /// <returns>This writer.</returns>
    public SafetensorsWriter AddInt64(string name, ReadOnlySpan<int> shape, ReadOnlySpan<long> values) =>
        Add(name, SafetensorsDType.I64, shape, values.Length, ToLittleEndian(values));

    /// <summary>Adds every parameter of <paramref name="store"/> as an F32 tensor named <c>prefix + name</c>, in store order.</summary>
    /// <param name="store">The parameters.</param>
    /// <param name="prefix">Prepended to every name, e.g. <c>rnn.</c> for a PyTorch submodule; empty by default.</param>
    /// <returns>This writer.</returns>
    public SafetensorsWriter AddParameters(ParameterStore store, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(prefix);
        foreach (ParameterTensor tensor in store.Tensors)
        {
            AddFloat32(prefix + tensor.Name, tensor.Shape, tensor.Values);
        }

        return this;
    }

    /// <summary>Adds every accumulated gradient of <paramref name="store"/> as an F32 tensor named <c>prefix + name</c>, in store order.</summary>
    /// <param name="store">The parameters whose gradients to write.</param>
    /// <param name="prefix">Prepended to every name; <c>grad.</c> by default (the parity data's convention).</param>
    /// <returns>This writer.</returns>
    public SafetensorsWriter AddGradients(ParameterStore store, string prefix = "grad.")
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(prefix);
        foreach (ParameterTensor tensor in store.Tensors)
        {
            AddFloat32(prefix + tensor.Name, tensor.Shape, tensor.Gradient);
        }

        return this;
    }

    /// <summary>Adds a <c>__metadata__</c> entry (free-form text, e.g. <c>format: pt</c>).</summary>
    /// <param name="key">Unique key.</param>
    /// <param name="value">The value.</param>
    /// <returns>This writer.</returns>
    public SafetensorsWriter AddMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ThrowIfNotUnicode(key, nameof(key));
        ThrowIfNotUnicode(value, nameof(value));
        if (!_metadataKeys.Add(key))
        {
            ThrowHelper.ThrowArgument(nameof(key), $"metadata key '{key}' was already added");
        }

        _metadata.Add(new KeyValuePair<string, string>(key, value));
        return this;
    }

    /// <summary>Writes the file to <paramref name="stream"/> at its current position; the stream is not closed.</summary>
    /// <param name="stream">A writable stream.</param>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            ThrowHelper.ThrowArgument(nameof(stream), "the stream is not writable");
        }

        byte[] header = BuildHeader(out List<Entry> dataOrder);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (Entry entry in dataOrder)
        {
            stream.Write(entry.Data);
        }
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/>, replacing any existing file only once the new one is complete (it is
    /// written to <c>path + ".tmp"</c> first, then moved), so a failure never leaves a half-written checkpoint.
    /// </summary>
    /// <param name="path">The file's path.</param>
    public void WriteTo(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string temporary = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                WriteTo(stream);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>The file's bytes.</summary>
    public byte[] ToArray()
    {
        var stream = new MemoryStream();
        WriteTo(stream);
        return stream.ToArray();
    }

    private SafetensorsWriter Add(string name, SafetensorsDType dtype, ReadOnlySpan<int> shape, int valueCount, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfNotUnicode(name, nameof(name));
        if (name == SafetensorsHeader.MetadataKey)
        {
            ThrowHelper.ThrowArgument(nameof(name), $"'{SafetensorsHeader.MetadataKey}' is reserved for the metadata map");
        }

        if (_names.Contains(name))
        {
            ThrowHelper.ThrowArgument(nameof(name), $"a tensor named '{name}' was already added");
        }

        long count = 1;
        foreach (int dimension in shape)
        {
            if (dimension < 0)
            {
                ThrowHelper.ThrowArgument(nameof(shape), $"dimensions must be >= 0, got [{string.Join(", ", shape.ToArray())}]");
            }

            count = Math.Min(count * dimension, int.MaxValue + 1L); // saturate: anything past int.MaxValue mismatches anyway
        }

        if (count != valueCount)
        {
            ThrowHelper.ThrowArgument("values", $"shape [{string.Join(", ", shape.ToArray())}] of tensor '{name}' needs {count} elements, got {valueCount}");
        }

        _names.Add(name);
        _entries.Add(new Entry(name, dtype, shape.ToArray(), data));
        return this;
    }

    private static void ThrowIfNotUnicode(string text, string paramName)
    {
        try
        {
            s_strictUtf8.GetByteCount(text);
        }
        catch (EncoderFallbackException)
        {
            ThrowHelper.ThrowArgument(paramName, "the text holds an unpaired surrogate and cannot be written as UTF-8");
        }
    }

    /// <returns>The padded JSON header; <paramref name="dataOrder"/> receives the entries in the order their bytes follow.</returns>
    private byte[] BuildHeader(out List<Entry> dataOrder)
    {
        dataOrder = new List<Entry>(_entries.Count);
        foreach (Entry entry in _entries)
        {
            if (entry.DType.Size() == 8)
            {
                dataOrder.Add(entry);
            }
        }

        foreach (Entry entry in _entries)
        {
            if (entry.DType.Size() == 4)
            {
                dataOrder.Add(entry);
            }
        }

        long offset = 0;
        foreach (Entry entry in dataOrder)
        {
            entry.Begin = offset;
            offset += entry.Data.Length;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, s_jsonOptions))
        {
            json.WriteStartObject();
            if (_metadata.Count > 0)
            {
                json.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (KeyValuePair<string, string> item in _metadata)
                {
                    json.WriteString(item.Key, item.Value);
                }

                json.WriteEndObject();
            }

            foreach (Entry entry in _entries)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType.HeaderName());
                json.WriteStartArray("shape");
                foreach (int dimension in entry.Shape)
                {
                    json.WriteNumberValue(dimension);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(entry.Begin);
                json.WriteNumberValue(entry.Begin + entry.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        if (padded > SafetensorsHeader.MaxHeaderLength)
        {
            throw new InvalidOperationException($"The header would be {padded} bytes, over the format's limit of {SafetensorsHeader.MaxHeaderLength}; write fewer tensors per file.");
        }

        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static byte[] ToLittleEndian(ReadOnlySpan<int> values)
    {
        byte[] bytes = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> view = MemoryMarshal.Cast<byte, int>(bytes.AsSpan());
            BinaryPrimitives.ReverseEndianness(view, view);
        }

        return bytes;
    }

    private static byte[] ToLittleEndian(ReadOnlySpan<long> values)
    {
        byte[] bytes = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            Span<long> view = MemoryMarshal.Cast<byte, long>(bytes.AsSpan());
            BinaryPrimitives.ReverseEndianness(view, view);
        }

        return bytes;
    }

    private sealed class Entry(string name, SafetensorsDType dtype, int[] shape, byte[] data)
    {
        public string Name { get; } = name;

        public SafetensorsDType DType { get; } = dtype;

        public int[] Shape { get; } = shape;

        public byte[] Data { get; } = data;

        /// <summary>Offset in the data, set when a header is built.</summary>
        public long Begin { get; set; }
    }
}
