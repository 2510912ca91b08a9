// Shared pieces of the safetensors tests: random tensor sets with their expected little-endian bytes (built with
// BinaryPrimitives, independently of the writer), hand-built files, and a non-seekable stream that delivers bytes in
// small random chunks.
using System.Buffers.Binary;
using System.Text;
using FastRnn.IO;

namespace FastRnn.Tests;

/// <summary>One tensor as the tests expect to find it in a file: raw little-endian bytes.</summary>
internal sealed record SampleTensor(string Name, SafetensorsDType DType, int[] Shape, byte[] Bytes)
{
    public int Count => Shape.Aggregate(1, (a, b) => a * b);

    public float[] Floats() => Enumerable.Range(0, Count).Select(i => BinaryPrimitives.ReadSingleLittleEndian(Bytes.AsSpan(4 * i))).ToArray();

    public double[] Doubles() => Enumerable.Range(0, Count).Select(i => BinaryPrimitives.ReadDoubleLittleEndian(Bytes.AsSpan(8 * i))).ToArray();

    public int[] Ints() => Enumerable.Range(0, Count).Select(i => BinaryPrimitives.ReadInt32LittleEndian(Bytes.AsSpan(4 * i))).ToArray();

    public long[] Longs() => Enumerable.Range(0, Count).Select(i => BinaryPrimitives.ReadInt64LittleEndian(Bytes.AsSpan(8 * i))).ToArray();

    public void AddTo(SafetensorsWriter writer)
    {
        switch (DType)
        {
            case SafetensorsDType.F32: writer.AddFloat32(Name, Shape, Floats()); break;
            case SafetensorsDType.F64: writer.AddFloat64(Name, Shape, Doubles()); break;
            case SafetensorsDType.I32: writer.AddInt32(Name, Shape, Ints()); break;
            default: writer.AddInt64(Name, Shape, Longs()); break;
        }
    }
}

internal static class SafetensorsTestData
{
    private static readonly SafetensorsDType[] s_dtypes = [SafetensorsDType.F32, SafetensorsDType.F64, SafetensorsDType.I32, SafetensorsDType.I64];

    public static int Size(SafetensorsDType dtype) => dtype is SafetensorsDType.F64 or SafetensorsDType.I64 ? 8 : 4;

    /// <summary>
    /// 0 to 6 tensors of random dtype, rank 0 to 3 (dimensions 0 to 4, so scalars and zero-size tensors occur), random
    /// bit patterns (NaN payloads, infinities, -0 and subnormals included), names with dots, quotes, backslashes and
    /// non-ASCII text.
    /// </summary>
    public static List<SampleTensor> RandomTensors(Random random)
    {
        string[] stems = ["weight_ih_l0", "rnn.bias_hh_l0_reverse", "grad.x", "a\"quote", "back\\slash", "ünï-cødé", "", "<tag>&+"];
        var tensors = new List<SampleTensor>();
        int count = random.Next(0, 7);
        for (int t = 0; t < count; t++)
        {
            SafetensorsDType dtype = s_dtypes[random.Next(4)];
            int[] shape = new int[random.Next(0, 4)];
            for (int d = 0; d < shape.Length; d++)
            {
                shape[d] = random.Next(0, 5);
            }

            int elements = shape.Aggregate(1, (a, b) => a * b);
            byte[] bytes = new byte[elements * Size(dtype)];
            random.NextBytes(bytes);
            tensors.Add(new SampleTensor($"{stems[random.Next(stems.Length)]}{t}", dtype, shape, bytes));
        }

        return tensors;
    }

    public static Dictionary<string, string> RandomMetadata(Random random)
    {
        var metadata = new Dictionary<string, string>();
        int count = random.Next(0, 3);
        for (int i = 0; i < count; i++)
        {
            metadata[$"key{i}"] = random.Next(2) == 0 ? "pt" : "line\nbreak \"quoted\" ü";
        }

        return metadata;
    }

    public static byte[] Write(IEnumerable<SampleTensor> tensors, IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        var writer = new SafetensorsWriter();
        foreach (KeyValuePair<string, string> item in metadata ?? [])
        {
            writer.AddMetadata(item.Key, item.Value);
        }

        foreach (SampleTensor tensor in tensors)
        {
            tensor.AddTo(writer);
        }

        return writer.ToArray();
    }

    /// <summary>[u64 length][header][data]; the length is the header's unless <paramref name="declaredLength"/> says otherwise.</summary>
    public static byte[] FileFromHeader(byte[] header, ReadOnlySpan<byte> data, ulong? declaredLength = null)
    {
        byte[] file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredLength ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file.AsSpan(8 + header.Length));
        return file;
    }

    public static byte[] FileFromJson(string json, int dataLength = 0, ulong? declaredLength = null) =>
        FileFromHeader(Encoding.UTF8.GetBytes(json), new byte[dataLength], declaredLength);

    /// <summary>Asserts that <paramref name="file"/> holds exactly <paramref name="expected"/>, bit for bit, through every read method.</summary>
    public static void AssertHolds(SafetensorsFile file, IReadOnlyList<SampleTensor> expected)
    {
        Assert.Equal(expected.Select(t => t.Name), file.Names);
        foreach (SampleTensor tensor in expected)
        {
            SafetensorsTensorInfo info = file.GetInfo(tensor.Name);
            Assert.Equal(tensor.DType, info.DType);
            Assert.Equal(tensor.Shape, info.Shape.ToArray());
            Assert.Equal(tensor.Count, info.ElementCount);
            Assert.Equal(tensor.Bytes, file.GetBytes(tensor.Name).ToArray());
            switch (tensor.DType)
            {
                case SafetensorsDType.F32:
                    Assert.Equal(tensor.Floats().Select(BitConverter.SingleToInt32Bits), file.ReadFloat32(tensor.Name).Select(BitConverter.SingleToInt32Bits));
                    Assert.Equal(tensor.Floats().Select(BitConverter.SingleToInt32Bits), file.ReadAsFloat32(tensor.Name).Select(BitConverter.SingleToInt32Bits));
                    // Widening is exact: (double)f has the same value (NaN stays NaN).
                    Assert.Equal(tensor.Floats().Select(f => (double)f), file.ReadFloat64(tensor.Name));
                    break;
                case SafetensorsDType.F64:
                    Assert.Equal(tensor.Doubles().Select(BitConverter.DoubleToInt64Bits), file.ReadFloat64(tensor.Name).Select(BitConverter.DoubleToInt64Bits));
                    break;
                case SafetensorsDType.I32:
                    Assert.Equal(tensor.Ints(), file.ReadInt32(tensor.Name));
                    Assert.Equal(tensor.Ints().Select(i => (long)i), file.ReadInt64(tensor.Name));
                    break;
                default:
                    Assert.Equal(tensor.Longs(), file.ReadInt64(tensor.Name));
                    break;
            }
        }
    }
}

/// <summary>A read-only, non-seekable stream that hands out its bytes in chunks of 1 to <c>maxChunk</c> bytes.</summary>
internal sealed class TrickleStream(byte[] bytes, int seed, int maxChunk = 13) : Stream
{
    private readonly Random _random = new(seed);
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(buffer.Length, bytes.Length - _position), _random.Next(1, maxChunk + 1));
        bytes.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
