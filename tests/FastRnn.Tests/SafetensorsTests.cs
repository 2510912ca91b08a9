// Safetensors writer and reader: exact bytes of tiny files, round trips of every dtype and shape through every source
// (span, array, seekable and non-seekable stream, file), metadata, and the typed reads' conversions and errors.
using System.Buffers.Binary;
using System.Text;
using FastRnn.IO;
using FsCheck.Xunit;
using static FastRnn.Tests.SafetensorsTestData;

namespace FastRnn.Tests;

public class SafetensorsTests
{
    private static byte[] Le(ulong value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes;
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    [Fact]
    public void An_empty_file_is_the_padded_empty_object()
    {
        // The reference implementation writes exactly these 16 bytes for no tensors.
        byte[] expected = [.. Le(8), .. Ascii("{}      ")];
        Assert.Equal(expected, new SafetensorsWriter().ToArray());

        SafetensorsFile file = SafetensorsFile.Parse(expected);
        Assert.Empty(file.Names);
        Assert.Empty(file.Metadata);
        Assert.Equal(0, file.DataLength);
    }

    [Fact]
    public void Metadata_only_file_matches_the_reference_bytes()
    {
        byte[] expected = [.. Le(40), .. Ascii("{\"__metadata__\":{\"framework\":\"pt\"}}     ")];
        Assert.Equal(expected, new SafetensorsWriter().AddMetadata("framework", "pt").ToArray());
        Assert.Equal("pt", SafetensorsFile.Parse(expected).Metadata["framework"]);
    }

    [Fact]
    public void One_float_tensor_matches_the_reference_bytes()
    {
        // The reference's serialization test: "attn.0" F32 [1, 2, 3] holding 0..5; the header is exactly 64 bytes.
        byte[] expected =
        [
            .. Le(64), .. Ascii("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}"),
            0, 0, 0, 0, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xA0, 0x40,
        ];
        byte[] written = new SafetensorsWriter().AddFloat32("attn.0", [1, 2, 3], [0f, 1f, 2f, 3f, 4f, 5f]).ToArray();
        Assert.Equal(expected, written);

        SafetensorsFile file = SafetensorsFile.Parse(expected);
        Assert.Equal([0f, 1f, 2f, 3f, 4f, 5f], file.ReadFloat32("attn.0"));
        Assert.Equal("[1, 2, 3]", file.GetInfo("attn.0").ShapeText);
    }

    [Fact]
    public void Eight_byte_dtypes_come_first_in_the_data_and_keys_keep_their_order()
    {
        // Keys in the order added; data: the F64 scalar at [0, 8), then the I32 tensor at [8, 20): both naturally aligned,
        // no gap. 107 bytes of JSON padded with 5 spaces to 112, so the data starts at byte 120 (a multiple of 8).
        string json = "{\"a\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[8,20]},\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}     ";
        byte[] expected =
        [
            .. Le(112), .. Ascii(json),
            0, 0, 0, 0, 0, 0, 0xE0, 0x3F, // 0.5
            1, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, // 1, -2, int.MaxValue
        ];
        byte[] written = new SafetensorsWriter().AddInt32("a", [3], [1, -2, int.MaxValue]).AddFloat64("b", [], [0.5]).ToArray();
        Assert.Equal(expected, written);

        SafetensorsFile file = SafetensorsFile.Parse(written);
        Assert.Equal(["a", "b"], file.Names);
        Assert.Equal([1, -2, int.MaxValue], file.ReadInt32("a"));
        Assert.Equal([0.5], file.ReadFloat64("b"));
        Assert.Empty(file.GetInfo("b").Shape.ToArray());
        Assert.Equal(1, file.GetInfo("b").ElementCount);
    }

    [Fact]
    public void A_hand_built_file_with_its_tensors_out_of_order_reads()
    {
        // Key order and data order differ (as in files of older writers); spaces, a tab and a newline pad the header;
        // the metadata comes last.
        string json = "{\"w\":{\"shape\":[2],\"dtype\":\"F32\",\"data_offsets\":[16,24]},"
            + "\"n\":{\"data_offsets\":[0,16],\"dtype\":\"I64\",\"shape\":[2,1]},\"e\":{\"dtype\":\"F64\",\"shape\":[0,7],\"data_offsets\":[24,24]},"
            + "\"__metadata__\":{\"format\":\"pt\"}} \t\n  ";
        byte[] data = new byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(data, long.MinValue);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), 42);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(16), -1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(20), float.Epsilon);
        SafetensorsFile file = SafetensorsFile.Parse(FileFromJson(json).Concat(data).ToArray().AsSpan());

        Assert.Equal(["w", "n", "e"], file.Names);
        Assert.Equal("pt", Assert.Single(file.Metadata).Value);
        Assert.Equal([long.MinValue, 42], file.ReadInt64("n"));
        Assert.Equal([-1.5f, float.Epsilon], file.ReadFloat32("w"));
        Assert.Equal(0, file.GetInfo("e").ElementCount);
        Assert.Empty(file.ReadFloat64("e"));
        Assert.Equal(24, file.DataLength);
    }

    // tests/parity/safetensors_fixture.safetensors was written by tests/parity/safetensors_io.py (numpy; see its
    // --write-fixture). Reading it checks Python -> C#; writing the same tensors and getting the same bytes checks that
    // both writers agree, so C# -> Python reads the same way.
    private static SafetensorsWriter FixtureTensors() => new SafetensorsWriter()
        .AddMetadata("format", "pt")
        .AddMetadata("source", "tests/parity/safetensors_io.py")
        .AddFloat32("weight_ih_l0", [4, 3], Enumerable.Range(0, 12).Select(i => (i - 5.5f) / 4).ToArray())
        .AddFloat32("bias", [4], [0.1f, -0f, float.PositiveInfinity, BitConverter.Int32BitsToSingle(0x7FC00001)])
        .AddFloat64("scalar", [], [Math.PI])
        .AddInt32("lengths", [4], [2, -5, int.MaxValue, int.MinValue])
        .AddInt64("steps", [2], [long.MinValue, long.MaxValue])
        .AddFloat32("empty", [0, 3], [])
        .AddFloat64("x", [2, 2], [0.1, -1e-300, double.Epsilon, double.MaxValue]);

    [Fact]
    public void The_python_fixture_reads_exactly()
    {
        SafetensorsFile file = SafetensorsFile.Read(RepositoryPaths.File("tests/parity/safetensors_fixture.safetensors"));
        Assert.Equal(["weight_ih_l0", "bias", "scalar", "lengths", "steps", "empty", "x"], file.Names);
        Assert.Equal("tests/parity/safetensors_io.py", file.Metadata["source"]);
        Assert.Equal([-1.375f, -1.125f, -0.875f, -0.625f, -0.375f, -0.125f, 0.125f, 0.375f, 0.625f, 0.875f, 1.125f, 1.375f], file.ReadFloat32("weight_ih_l0"));
        Assert.Equal([4, 3], file.GetInfo("weight_ih_l0").Shape.ToArray());
        Assert.Equal([0x3DCCCCCD, unchecked((int)0x80000000), 0x7F800000, 0x7FC00001], file.ReadFloat32("bias").Select(BitConverter.SingleToInt32Bits));
        Assert.Equal([Math.PI], file.ReadFloat64("scalar"));
        Assert.Empty(file.GetInfo("scalar").Shape.ToArray());
        Assert.Equal([2, -5, int.MaxValue, int.MinValue], file.ReadInt32("lengths"));
        Assert.Equal([long.MinValue, long.MaxValue], file.ReadInt64("steps"));
        Assert.Equal([0, 3], file.GetInfo("empty").Shape.ToArray());
        Assert.Equal([0.1, -1e-300, double.Epsilon, double.MaxValue], file.ReadFloat64("x"));
    }

    [Fact]
    public void The_writer_reproduces_the_python_fixture_byte_for_byte() =>
        Assert.Equal(File.ReadAllBytes(RepositoryPaths.File("tests/parity/safetensors_fixture.safetensors")), FixtureTensors().ToArray());

    [Fact]
    public void Null_metadata_means_none()
    {
        SafetensorsFile file = SafetensorsFile.Parse(FileFromJson("{\"__metadata__\":null}"));
        Assert.Empty(file.Metadata);
    }

    [Property(MaxTest = 200)]
    public void Every_dtype_and_shape_round_trips_bit_exactly_through_every_source(int seed)
    {
        var random = new Random(seed);
        List<SampleTensor> tensors = RandomTensors(random);
        Dictionary<string, string> metadata = RandomMetadata(random);
        byte[] bytes = Write(tensors, metadata);

        // The writer's promises: header length a multiple of 8, every tensor aligned to its element size.
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes) % 8);
        SafetensorsFile file = SafetensorsFile.Parse(bytes.AsSpan());
        foreach (SafetensorsTensorInfo info in file.Tensors)
        {
            Assert.Equal(0, info.DataBegin % Size(info.DType));
        }

        Assert.Equal(metadata, file.Metadata.ToDictionary());
        AssertHolds(file, tensors);
        AssertHolds(SafetensorsFile.Parse(bytes), tensors);
        AssertHolds(SafetensorsFile.Parse(new ReadOnlyMemory<byte>(bytes)), tensors);
        AssertHolds(SafetensorsFile.Read(new MemoryStream(bytes)), tensors);
        AssertHolds(SafetensorsFile.Read(new TrickleStream(bytes, seed)), tensors);

        // Writing what was read gives the same bytes (the output is deterministic).
        Assert.Equal(bytes, Write(tensors, metadata));
    }

    [Fact]
    public void A_file_round_trips_through_a_path_and_replaces_an_old_file_whole()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fastrnn-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllText(path, "an older, longer checkpoint that must be replaced completely");
            List<SampleTensor> tensors = RandomTensors(new Random(5));
            var writer = new SafetensorsWriter().AddMetadata("format", "pt");
            tensors.ForEach(t => t.AddTo(writer));
            writer.WriteTo(path);

            Assert.False(File.Exists(path + ".tmp"));
            Assert.Equal(writer.ToArray(), File.ReadAllBytes(path));
            AssertHolds(SafetensorsFile.Read(path), tensors);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_stream_is_read_from_its_current_position()
    {
        byte[] bytes = new SafetensorsWriter().AddFloat32("x", [2], [1f, 2f]).ToArray();
        var stream = new MemoryStream([0xAA, 0xBB, .. bytes]) { Position = 2 };
        Assert.Equal([1f, 2f], SafetensorsFile.Read(stream).ReadFloat32("x"));
    }

    [Fact]
    public void Parsing_a_span_copies_and_parsing_memory_does_not()
    {
        byte[] bytes = new SafetensorsWriter().AddInt32("x", [1], [7]).ToArray();
        SafetensorsFile copied = SafetensorsFile.Parse(bytes.AsSpan());
        SafetensorsFile shared = SafetensorsFile.Parse(bytes);
        bytes[^4] = 9;
        Assert.Equal([7], copied.ReadInt32("x"));
        Assert.Equal([9], shared.ReadInt32("x"));
    }

    [Fact]
    public void Non_ascii_names_and_metadata_are_written_as_utf8()
    {
        byte[] bytes = new SafetensorsWriter().AddMetadata("note", "größe <ok> & \"quoted\"\n").AddInt64("gewicht.ü", [], [5]).ToArray();
        string header = Encoding.UTF8.GetString(bytes, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Contains("gewicht.ü", header, StringComparison.Ordinal);
        Assert.Contains("größe <ok> &", header, StringComparison.Ordinal);
        SafetensorsFile file = SafetensorsFile.Parse(bytes);
        Assert.Equal("größe <ok> & \"quoted\"\n", file.Metadata["note"]);
        Assert.Equal([5L], file.ReadInt64("gewicht.ü"));
    }

    [Fact]
    public void F64_rounds_to_float_only_through_the_explicit_method()
    {
        double[] values = [0.1, -1e-50, double.NaN, double.NegativeInfinity, 3.4028235e38, 1e-320];
        SafetensorsFile file = SafetensorsFile.Parse(new SafetensorsWriter().AddFloat64("x", [6], values).ToArray());

        var error = Assert.Throws<InvalidDataException>(() => file.ReadFloat32("x", new float[6]));
        Assert.Contains("tensor 'x' is F64; ReadFloat32 reads F32 (ReadAsFloat32 rounds F64 to float)", error.Message, StringComparison.Ordinal);
        Assert.Equal(values.Select(v => (float)v), file.ReadAsFloat32("x"));
    }

    [Fact]
    public void F64_beyond_the_float_range_fails_without_writing()
    {
        SafetensorsFile file = SafetensorsFile.Parse(new SafetensorsWriter().AddFloat64("x", [3], [1, 2, -1e39]).ToArray());
        float[] destination = [7f, 7f, 7f];
        var error = Assert.Throws<InvalidDataException>(() => file.ReadAsFloat32("x", destination));
        Assert.Contains("element 2 of tensor 'x' is -1E+39, outside the float range", error.Message, StringComparison.Ordinal);
        Assert.Equal([7f, 7f, 7f], destination);
    }

    [Fact]
    public void I64_narrows_to_int_only_when_every_value_fits()
    {
        SafetensorsFile file = SafetensorsFile.Parse(new SafetensorsWriter()
            .AddInt64("fits", [3], [int.MinValue, 0, int.MaxValue])
            .AddInt64("big", [3], [1, 2, 1L << 32])
            .ToArray());
        Assert.Equal([int.MinValue, 0, int.MaxValue], file.ReadInt32("fits"));

        int[] destination = [7, 7, 7];
        var error = Assert.Throws<InvalidDataException>(() => file.ReadInt32("big", destination));
        Assert.Contains("element 2 of tensor 'big' is 4294967296, outside the Int32 range", error.Message, StringComparison.Ordinal);
        Assert.Equal([7, 7, 7], destination);
    }

    [Theory]
    [InlineData("ReadFloat64", "tensor 'i' is I32; ReadFloat64 reads F64 or F32")]
    [InlineData("ReadAsFloat32", "tensor 'i' is I32; ReadAsFloat32 reads F32 or F64")]
    [InlineData("ReadFloat32", "tensor 'i' is I32; ReadFloat32 reads F32")]
    [InlineData("ReadInt32", "tensor 'f' is F32; ReadInt32 reads I32 or I64")]
    [InlineData("ReadInt64", "tensor 'f' is F32; ReadInt64 reads I64 or I32")]
    public void Reading_a_tensor_of_another_kind_names_both_dtypes(string method, string message)
    {
        SafetensorsFile file = SafetensorsFile.Parse(new SafetensorsWriter().AddInt32("i", [1], [1]).AddFloat32("f", [1], [1f]).ToArray());
        Action read = method switch
        {
            "ReadFloat64" => () => file.ReadFloat64("i"),
            "ReadAsFloat32" => () => file.ReadAsFloat32("i"),
            "ReadFloat32" => () => file.ReadFloat32("i"),
            "ReadInt32" => () => file.ReadInt32("f"),
            _ => () => file.ReadInt64("f"),
        };
        var error = Assert.Throws<InvalidDataException>(read);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_destination_of_the_wrong_length_is_an_argument_error()
    {
        SafetensorsFile file = SafetensorsFile.Parse(new SafetensorsWriter().AddFloat32("x", [2, 3], new float[6]).ToArray());
        var error = Assert.Throws<ArgumentException>(() => file.ReadFloat32("x", new float[5]));
        Assert.Equal("destination", error.ParamName);
        Assert.Contains("tensor 'x' [2, 3] has 6 elements, the destination holds 5", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => file.ReadFloat64("x", new double[7]));
    }

    [Fact]
    public void An_unknown_name_is_not_found()
    {
        SafetensorsFile file = SafetensorsFile.Parse(new SafetensorsWriter().ToArray());
        var error = Assert.Throws<KeyNotFoundException>(() => file.ReadFloat32("nope"));
        Assert.Contains("'nope'", error.Message, StringComparison.Ordinal);
        Assert.False(file.Contains("nope"));
        Assert.False(file.TryGetInfo("nope", out _));
    }

    [Fact]
    public void The_writer_rejects_bad_tensors_before_adding_them()
    {
        var writer = new SafetensorsWriter().AddFloat32("x", [2], [1f, 2f]);

        var duplicate = Assert.Throws<ArgumentException>(() => writer.AddInt32("x", [1], [1]));
        Assert.Equal("name", duplicate.ParamName);
        Assert.Contains("'x' was already added", duplicate.Message, StringComparison.Ordinal);

        var reserved = Assert.Throws<ArgumentException>(() => writer.AddInt32("__metadata__", [1], [1]));
        Assert.Contains("reserved", reserved.Message, StringComparison.Ordinal);

        var count = Assert.Throws<ArgumentException>(() => writer.AddFloat64("y", [2, 3], new double[5]));
        Assert.Equal("values", count.ParamName);
        Assert.Contains("shape [2, 3] of tensor 'y' needs 6 elements, got 5", count.Message, StringComparison.Ordinal);

        var negative = Assert.Throws<ArgumentException>(() => writer.AddFloat32("z", [-1], []));
        Assert.Equal("shape", negative.ParamName);

        var huge = Assert.Throws<ArgumentException>(() => writer.AddFloat32("h", [int.MaxValue, int.MaxValue, int.MaxValue], new float[1]));
        Assert.Equal("values", huge.ParamName);

        Assert.Equal("name", Assert.Throws<ArgumentException>(() => writer.AddFloat32("bad\ud800", [1], [1f])).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => writer.AddMetadata("k\udc00", "v")).ParamName);
        writer.AddMetadata("k", "v");
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => writer.AddMetadata("k", "w")).ParamName);

        // Nothing of the failed calls reached the file.
        SafetensorsFile file = SafetensorsFile.Parse(writer.ToArray());
        Assert.Equal(["x"], file.Names);
        Assert.Equal("v", Assert.Single(file.Metadata).Value);
    }

    [Fact]
    public void The_writer_copies_values_when_they_are_added()
    {
        float[] values = [1f, 2f];
        var writer = new SafetensorsWriter().AddFloat32("x", [2], values);
        values[0] = 99f;
        Assert.Equal([1f, 2f], SafetensorsFile.Parse(writer.ToArray()).ReadFloat32("x"));
    }
}
