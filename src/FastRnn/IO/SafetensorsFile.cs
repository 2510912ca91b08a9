// A parsed safetensors file held in memory: the validated header plus the tensor data, with typed reads.
//
// Layout (https://github.com/huggingface/safetensors): [u64 little-endian N][N bytes of UTF-8 JSON header][data].
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, offsets counted from the first
// byte of data; values are little-endian and row-major. See SafetensorsHeader for every rule the reader enforces.
//
// Robustness: a file comes from outside, so every inconsistency is an InvalidDataException naming the tensor and the
// field. No buffer is sized from a declared number before that number is checked against the real length; when the
// length is unknown (a non-seekable stream), buffers grow as bytes actually arrive, so a lying header costs at most
// twice what the stream delivers.
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace FastRnn.IO;

/// <summary>
/// A safetensors file read fully into memory and validated: tensor names, dtypes, shapes, metadata and typed reads of
/// the values. Supports the dtypes F32, F64, I32 and I64.
/// </summary>
/// <remarks>
/// <para>
/// Every malformed input (truncated data, bad JSON, unsupported dtype, duplicate names, sizes that disagree with the
/// offsets, overlapping tensors, gaps or trailing bytes, header lengths over 100 MB or past the end of the file, ...)
/// throws <see cref="InvalidDataException"/> with a message that names the tensor and field. The rules are the reference
/// implementation's (tensors must tile the data exactly, as its validator requires), plus: duplicate keys and unknown
/// fields in a tensor entry are rejected. Scalars (shape <c>[]</c>) and zero-size tensors (a 0 dimension) are legal.
/// </para>
/// <para>
/// Typed reads accept every stored dtype that converts exactly: <see cref="ReadFloat64(string, Span{double})"/> reads
/// F64 and F32, <see cref="ReadInt64(string, Span{long})"/> reads I64 and I32, and
/// <see cref="ReadInt32(string, Span{int})"/> reads I32 and I64 when every value fits. Rounding F64 to float needs the
/// explicit <see cref="ReadAsFloat32(string, Span{float})"/>. A value that does not fit, or a dtype the method does not
/// read, throws <see cref="InvalidDataException"/> before anything is written.
/// </para>
/// <para>
/// The tensor data is held in one array, so files with more than about 2 GB of tensor data are not supported. An instance
/// never changes after it is created (unless a caller edits an array it parsed without copying), so reads may run
/// concurrently.
/// </para>
/// </remarks>
public sealed class SafetensorsFile
{
    // Growth step for streams of unknown length: the first buffer is at most this big, then it doubles as data arrives.
    private const int InitialChunk = 1 << 16;

    private readonly SafetensorsHeader _header;
    private readonly ReadOnlyMemory<byte> _data;

    private SafetensorsFile(SafetensorsHeader header, ReadOnlyMemory<byte> data)
    {
        _header = header;
        _data = data;
        string[] names = new string[header.Tensors.Count];
        for (int i = 0; i < names.Length; i++)
        {
            names[i] = header.Tensors[i].Name;
        }

        // Read-only wrappers, so a caller cannot cast the collections back and edit a validated header.
        Names = Array.AsReadOnly(names);
        Tensors = header.Tensors.AsReadOnly();
        Metadata = header.Metadata.AsReadOnly();
    }

    /// <summary>The tensors, in the order of the header.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The tensor names, in the order of the header.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The <c>__metadata__</c> map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Bytes of tensor data after the header.</summary>
    public long DataLength => _header.DataLength;

    /// <summary>Reads and validates a file.</summary>
    /// <param name="path">The file's path.</param>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file; the message starts with the path.</exception>
    /// <exception cref="NotSupportedException">The file holds more tensor data than one array can.</exception>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        try
        {
            return Read(stream);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads and validates a file from <paramref name="stream"/>'s current position to its end (the stream must hold one
    /// safetensors file and nothing after it). A seekable stream's length is checked before anything is allocated; a
    /// non-seekable stream is read in growing chunks, so a header that declares more than the stream holds fails as
    /// truncated without a large allocation.
    /// </summary>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <exception cref="InvalidDataException">The data is not a valid safetensors file.</exception>
    /// <exception cref="NotSupportedException">The file holds more tensor data than one array can.</exception>
    public static SafetensorsFile Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
        {
            ThrowHelper.ThrowArgument(nameof(stream), "the stream is not readable");
        }

        long? remaining = stream.CanSeek ? Math.Max(0, stream.Length - stream.Position) : null;
        Span<byte> prefix = stackalloc byte[8];
        int got = ReadUpTo(stream, prefix);
        if (got < prefix.Length)
        {
            throw TooShort(got);
        }

        int headerLength = SafetensorsHeader.CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(prefix), remaining - 8);
        byte[] json = ReadExactly(stream, headerLength, remaining is not null, "the header");
        SafetensorsHeader header = SafetensorsHeader.Parse(json, remaining - 8 - headerLength);
        if (remaining is not null && header.DataLength > Array.MaxLength)
        {
            throw TooLarge(header.DataLength);
        }

        byte[] data = ReadExactly(stream, header.DataLength, remaining is not null, "the tensor data");
        if (remaining is null && stream.ReadByte() >= 0)
        {
            throw SafetensorsErrors.Invalid($"the stream continues after the {header.DataLength} bytes of tensor data the header describes (trailing bytes)");
        }

        return new SafetensorsFile(header, data);
    }

    /// <summary>Parses and validates a whole file in memory; the tensor data is copied.</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <exception cref="InvalidDataException">The bytes are not a valid safetensors file.</exception>
    public static SafetensorsFile Parse(ReadOnlySpan<byte> bytes)
    {
        SafetensorsHeader header = ParseHeader(bytes, out int dataStart);
        return new SafetensorsFile(header, bytes[dataStart..].ToArray());
    }

    /// <summary>
    /// Parses and validates a whole file in memory without copying: the result reads its values from
    /// <paramref name="bytes"/>, which must not change while it is in use.
    /// </summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <exception cref="InvalidDataException">The bytes are not a valid safetensors file.</exception>
    public static SafetensorsFile Parse(ReadOnlyMemory<byte> bytes)
    {
        SafetensorsHeader header = ParseHeader(bytes.Span, out int dataStart);
        return new SafetensorsFile(header, bytes[dataStart..]);
    }

    /// <summary>Parses and validates a whole file held in an array, without copying (see <see cref="Parse(ReadOnlyMemory{byte})"/>).</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <exception cref="InvalidDataException">The bytes are not a valid safetensors file.</exception>
    public static SafetensorsFile Parse(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Parse(new ReadOnlyMemory<byte>(bytes));
    }

    /// <summary>Whether the file has a tensor named <paramref name="name"/>.</summary>
    /// <param name="name">The tensor name.</param>
    public bool Contains(string name) => _header.ByName.ContainsKey(name);

    /// <summary>Looks a tensor up by name.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="info">The tensor's entry, when found.</param>
    public bool TryGetInfo(string name, [NotNullWhen(true)] out SafetensorsTensorInfo? info) => _header.ByName.TryGetValue(name, out info);

    /// <summary>A tensor's entry.</summary>
    /// <param name="name">The tensor name.</param>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public SafetensorsTensorInfo GetInfo(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _header.ByName.TryGetValue(name, out SafetensorsTensorInfo? info)
            ? info
            : throw new KeyNotFoundException($"No tensor named {SafetensorsErrors.Quote(name)} in the safetensors file.");
    }

    /// <summary>A tensor's raw bytes: little-endian, row-major.</summary>
    /// <param name="name">The tensor name.</param>
    public ReadOnlySpan<byte> GetBytes(string name) => Bytes(GetInfo(name));

    /// <summary>Reads an F32 tensor.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="destination">Exactly <see cref="SafetensorsTensorInfo.ElementCount"/> floats.</param>
    /// <exception cref="InvalidDataException">The tensor is not F32 (use <see cref="ReadAsFloat32(string, Span{float})"/> to round F64).</exception>
    public void ReadFloat32(string name, Span<float> destination)
    {
        SafetensorsTensorInfo info = Prepare(name, destination.Length);
        if (info.DType != SafetensorsDType.F32)
        {
            throw WrongDType(info, nameof(ReadFloat32), "F32", info.DType == SafetensorsDType.F64 ? " (ReadAsFloat32 rounds F64 to float)" : "");
        }

        CopyLittleEndian(Bytes(info), MemoryMarshal.Cast<float, int>(destination));
    }

    /// <summary>Reads an F32 tensor into a new array.</summary>
    /// <param name="name">The tensor name.</param>
    public float[] ReadFloat32(string name)
    {
        float[] values = new float[GetInfo(name).ElementCount];
        ReadFloat32(name, values);
        return values;
    }

    /// <summary>
    /// Reads an F32 tensor, or an F64 tensor rounded to the nearest float. A finite F64 value beyond the float range
    /// throws rather than becoming infinity; NaN and infinities are kept.
    /// </summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="destination">Exactly <see cref="SafetensorsTensorInfo.ElementCount"/> floats; untouched on error.</param>
    /// <exception cref="InvalidDataException">The tensor is an integer tensor, or a value is out of the float range.</exception>
    public void ReadAsFloat32(string name, Span<float> destination)
    {
        SafetensorsTensorInfo info = Prepare(name, destination.Length);
        ReadOnlySpan<byte> bytes = Bytes(info);
        if (info.DType == SafetensorsDType.F32)
        {
            CopyLittleEndian(bytes, MemoryMarshal.Cast<float, int>(destination));
            return;
        }

        if (info.DType != SafetensorsDType.F64)
        {
            throw WrongDType(info, nameof(ReadAsFloat32), "F32 or F64", "");
        }

        // Check every value before writing any, so a failure leaves the destination as it was.
        for (int i = 0; i < destination.Length; i++)
        {
            double value = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
            if (double.IsFinite(value) && !float.IsFinite((float)value))
            {
                throw SafetensorsErrors.Invalid($"element {i} of tensor {SafetensorsErrors.Quote(info.Name)} is {value:R}, outside the float range");
            }
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
        }
    }

    /// <summary>Reads an F32 or F64 tensor as floats into a new array (see <see cref="ReadAsFloat32(string, Span{float})"/>).</summary>
    /// <param name="name">The tensor name.</param>
    public float[] ReadAsFloat32(string name)
    {
        float[] values = new float[GetInfo(name).ElementCount];
        ReadAsFloat32(name, values);
        return values;
    }

    /// <summary>Reads an F64 tensor, or an F32 tensor widened exactly.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="destination">Exactly <see cref="SafetensorsTensorInfo.ElementCount"/> doubles.</param>
    /// <exception cref="InvalidDataException">The tensor is an integer tensor.</exception>
    public void ReadFloat64(string name, Span<double> destination)
    {
        SafetensorsTensorInfo info = Prepare(name, destination.Length);
        ReadOnlySpan<byte> bytes = Bytes(info);
        switch (info.DType)
        {
            case SafetensorsDType.F64:
                CopyLittleEndian(bytes, MemoryMarshal.Cast<double, long>(destination));
                break;
            case SafetensorsDType.F32:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                }

                break;
            default:
                throw WrongDType(info, nameof(ReadFloat64), "F64 or F32", "");
        }
    }

    /// <summary>Reads an F64 or F32 tensor into a new array of doubles.</summary>
    /// <param name="name">The tensor name.</param>
    public double[] ReadFloat64(string name)
    {
        double[] values = new double[GetInfo(name).ElementCount];
        ReadFloat64(name, values);
        return values;
    }

    /// <summary>Reads an I32 tensor, or an I64 tensor whose values all fit in an <see cref="int"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="destination">Exactly <see cref="SafetensorsTensorInfo.ElementCount"/> ints; untouched on error.</param>
    /// <exception cref="InvalidDataException">The tensor is a float tensor, or an I64 value is out of the Int32 range.</exception>
    public void ReadInt32(string name, Span<int> destination)
    {
        SafetensorsTensorInfo info = Prepare(name, destination.Length);
        ReadOnlySpan<byte> bytes = Bytes(info);
        if (info.DType == SafetensorsDType.I32)
        {
            CopyLittleEndian(bytes, destination);
            return;
        }

        if (info.DType != SafetensorsDType.I64)
        {
            throw WrongDType(info, nameof(ReadInt32), "I32 or I64", "");
        }

        for (int i = 0; i < destination.Length; i++)
        {
            long value = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
            if (value is < int.MinValue or > int.MaxValue)
            {
                throw SafetensorsErrors.Invalid($"element {i} of tensor {SafetensorsErrors.Quote(info.Name)} is {value}, outside the Int32 range");
            }
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (int)BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
        }
    }

    /// <summary>Reads an I32 or I64 tensor into a new array of ints (see <see cref="ReadInt32(string, Span{int})"/>).</summary>
    /// <param name="name">The tensor name.</param>
    public int[] ReadInt32(string name)
    {
        int[] values = new int[GetInfo(name).ElementCount];
        ReadInt32(name, values);
        return values;
    }

    /// <summary>Reads an I64 tensor, or an I32 tensor widened.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="destination">Exactly <see cref="SafetensorsTensorInfo.ElementCount"/> longs.</param>
    /// <exception cref="InvalidDataException">The tensor is a float tensor.</exception>
    public void ReadInt64(string name, Span<long> destination)
    {
        SafetensorsTensorInfo info = Prepare(name, destination.Length);
        ReadOnlySpan<byte> bytes = Bytes(info);
        switch (info.DType)
        {
            case SafetensorsDType.I64:
                CopyLittleEndian(bytes, destination);
                break;
            case SafetensorsDType.I32:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]);
                }

                break;
            default:
                throw WrongDType(info, nameof(ReadInt64), "I64 or I32", "");
        }
    }

    /// <summary>Reads an I64 or I32 tensor into a new array of longs.</summary>
    /// <param name="name">The tensor name.</param>
    public long[] ReadInt64(string name)
    {
        long[] values = new long[GetInfo(name).ElementCount];
        ReadInt64(name, values);
        return values;
    }

    private static SafetensorsHeader ParseHeader(ReadOnlySpan<byte> bytes, out int dataStart)
    {
        if (bytes.Length < 8)
        {
            throw TooShort(bytes.Length);
        }

        int headerLength = SafetensorsHeader.CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(bytes), bytes.Length - 8L);
        dataStart = 8 + headerLength;
        return SafetensorsHeader.Parse(bytes.Slice(8, headerLength), bytes.Length - (long)dataStart);
    }

    private static InvalidDataException TooShort(int length) =>
        SafetensorsErrors.Invalid($"the file is {length} bytes long; a safetensors file starts with an 8-byte header length");

    private static NotSupportedException TooLarge(long dataLength) =>
        new($"The safetensors file holds {dataLength} bytes of tensor data; FastRnn reads at most {Array.MaxLength}.");

    private static int ReadUpTo(Stream stream, Span<byte> buffer)
    {
        int filled = 0;
        while (filled < buffer.Length)
        {
            int read = stream.Read(buffer[filled..]);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    /// <summary>
    /// Reads exactly <paramref name="length"/> bytes. With a known stream length the caller has checked
    /// <paramref name="length"/> against it, so the buffer is allocated once; otherwise it starts small and doubles as
    /// bytes arrive, so the allocation follows what the stream delivers, not what the header claims.
    /// </summary>
    private static byte[] ReadExactly(Stream stream, long length, bool lengthChecked, string what)
    {
        if (length == 0)
        {
            return [];
        }

        byte[] buffer = new byte[lengthChecked ? length : Math.Min(length, InitialChunk)];
        long filled = 0;
        while (filled < length)
        {
            if (filled == buffer.Length)
            {
                if (buffer.Length == Array.MaxLength)
                {
                    throw TooLarge(length);
                }

                Array.Resize(ref buffer, (int)Math.Min(Math.Min(length, 2L * buffer.Length), Array.MaxLength));
            }

            int read = stream.Read(buffer, (int)filled, buffer.Length - (int)filled);
            if (read == 0)
            {
                throw SafetensorsErrors.Invalid($"the file ends after {filled} of the {length} bytes of {what} (truncated file?)");
            }

            filled += read;
        }

        return buffer;
    }

    private SafetensorsTensorInfo Prepare(string name, int destinationLength)
    {
        SafetensorsTensorInfo info = GetInfo(name);
        if (destinationLength != info.ElementCount)
        {
            ThrowHelper.ThrowArgument("destination", $"tensor {SafetensorsErrors.Quote(name)} {info.ShapeText} has {info.ElementCount} elements, the destination holds {destinationLength}");
        }

        return info;
    }

    private static InvalidDataException WrongDType(SafetensorsTensorInfo info, string method, string accepted, string hint) =>
        SafetensorsErrors.Invalid($"tensor {SafetensorsErrors.Quote(info.Name)} is {info.DType.HeaderName()}; {method} reads {accepted}{hint}");

    private ReadOnlySpan<byte> Bytes(SafetensorsTensorInfo info) => _data.Span.Slice((int)info.DataBegin, (int)info.ByteLength);

    // Raw copy through a byte view (any alignment), then a byte swap on big-endian machines.
    private static void CopyLittleEndian(ReadOnlySpan<byte> source, Span<int> destination)
    {
        source.CopyTo(MemoryMarshal.AsBytes(destination));
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(destination, destination);
        }
    }

    private static void CopyLittleEndian(ReadOnlySpan<byte> source, Span<long> destination)
    {
        source.CopyTo(MemoryMarshal.AsBytes(destination));
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(destination, destination);
        }
    }
}
