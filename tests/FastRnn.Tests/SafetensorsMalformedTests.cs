// Every kind of malformed safetensors file, one test each: the reader throws InvalidDataException (exactly that type)
// and the message names the problem. Each file is read from a span, a seekable stream and a non-seekable stream that
// trickles bytes, and big declared sizes must fail without big allocations.
using System.Buffers.Binary;
using System.Text;
using FastRnn.IO;
using static FastRnn.Tests.SafetensorsTestData;

namespace FastRnn.Tests;

public class SafetensorsMalformedTests
{
    // A valid tensor entry to build headers around: 'a' F32 [2] at [0, 8).
    private const string A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    /// <summary>
    /// Asserts the file is rejected with InvalidDataException naming the problem, from a span and a seekable stream
    /// (same checks, same message), and from a non-seekable stream (rejected too; length problems may read as truncation).
    /// </summary>
    private static string AssertInvalid(byte[] file, params string[] messageParts)
    {
        var error = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Parse(file.AsSpan()));
        foreach (string part in messageParts)
        {
            Assert.Contains(part, error.Message, StringComparison.Ordinal);
        }

        var fromStream = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(new MemoryStream(file)));
        Assert.Equal(error.Message, fromStream.Message);
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(new TrickleStream(file, seed: file.Length)));
        return error.Message;
    }

    private static string AssertInvalidJson(string json, int dataLength, params string[] messageParts) =>
        AssertInvalid(FileFromJson(json, dataLength), messageParts);

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void A_file_shorter_than_the_length_field(int length) =>
        AssertInvalid(new byte[length], $"the file is {length} bytes long; a safetensors file starts with an 8-byte header length");

    [Fact]
    public void A_header_length_of_zero() => AssertInvalid(FileFromJson("", declaredLength: 0), "the header length is 0");

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 63)]
    public void A_header_length_over_the_limit(ulong declared) =>
        AssertInvalid(FileFromJson("{}", declaredLength: declared), $"the header length {declared} exceeds the limit of 100000000 bytes");

    [Fact]
    public void A_header_length_past_the_end_of_the_file() =>
        AssertInvalid(FileFromJson("{}      ", declaredLength: 9), "the header length 9 is larger than the 8 bytes that follow the length field");

    [Fact]
    public void A_header_that_is_not_utf8() =>
        AssertInvalid(FileFromHeader([.. Encoding.ASCII.GetBytes("{\"a"), 0xFF, .. Encoding.ASCII.GetBytes("\":1}")], []), "header is not valid UTF-8");

    [Theory]
    [InlineData(" {}")]
    [InlineData("[]")]
    [InlineData("\uFEFF{}")]
    [InlineData("null")]
    public void A_header_that_does_not_start_with_a_brace(string json) =>
        AssertInvalidJson(json, 0, "the header must be a JSON object starting with '{'");

    [Theory]
    [InlineData("{" + A)] // unterminated
    [InlineData("{" + A + "}}")] // extra brace
    [InlineData("{" + A + ",}")] // trailing comma
    [InlineData("{" + A + "} x")] // content after the object
    [InlineData("{/*c*/" + A + "}")] // comment
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}\0}")] // NUL byte
    [InlineData("{\"a\\x\":{}}")] // invalid escape
    [InlineData("{'a':1}")] // single quotes
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}")] // leading zero
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,8]}}")]
    public void A_header_that_is_not_json(string json) =>
        AssertInvalidJson(json, 8, "the header is not valid JSON");

    [Fact]
    public void Nesting_deeper_than_a_header_needs_is_rejected_without_recursion()
    {
        string json = "{\"a\":" + new string('[', 100_000) + new string(']', 100_000) + "}";
        AssertInvalidJson(json, 0, "tensor 'a': expected an object with \"dtype\", \"shape\" and \"data_offsets\", found an array");
    }

    [Theory]
    [InlineData("{" + A + "," + A + "}")]
    [InlineData("{" + A + ",\"\\u0061\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}")] // same name, escaped
    public void A_duplicate_tensor_name(string json) => AssertInvalidJson(json, 8, "tensor 'a' appears twice in the header");

    [Theory]
    [InlineData("dtype", "\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}")]
    [InlineData("shape", "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}")]
    [InlineData("data_offsets", "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"data_offsets\":[0,8]}")]
    public void A_duplicate_field(string field, string entry) =>
        AssertInvalidJson("{" + entry + "}", 8, $"tensor 'a': \"{field}\" appears twice");

    [Fact]
    public void A_duplicate_metadata_key() =>
        AssertInvalidJson("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "metadata key 'k' appears twice");

    [Fact]
    public void Metadata_given_twice() =>
        AssertInvalidJson("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "\"__metadata__\" appears twice");

    [Theory]
    [InlineData("dtype", "\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}")]
    [InlineData("shape", "\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}")]
    [InlineData("data_offsets", "\"a\":{\"dtype\":\"F32\",\"shape\":[2]}")]
    public void A_missing_field(string field, string entry) =>
        AssertInvalidJson("{" + entry + "}", 8, $"tensor 'a' has no \"{field}\"");

    [Fact]
    public void An_unknown_field() =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"offsets\":[0,8]}}", 8, "tensor 'a': unknown field 'offsets'");

    [Theory]
    [InlineData("BF16", "unsupported dtype BF16 for tensor 'a' (FastRnn reads F32, F64, I32, I64)")]
    [InlineData("F16", "unsupported dtype F16 for tensor 'a'")]
    [InlineData("U8", "unsupported dtype U8 for tensor 'a'")]
    [InlineData("f32", "unsupported dtype f32 for tensor 'a'")]
    [InlineData("F32 ", "unsupported dtype 'F32 ' for tensor 'a'")]
    [InlineData("", "unsupported dtype '' for tensor 'a'")]
    public void An_unsupported_dtype(string dtype, string message) =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"" + dtype + "\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, message);

    [Theory]
    [InlineData("4", "a number")]
    [InlineData("null", "null")]
    [InlineData("[\"F32\"]", "an array")]
    public void A_dtype_that_is_not_a_string(string dtype, string found) =>
        AssertInvalidJson("{\"a\":{\"dtype\":" + dtype + ",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, $"tensor 'a': \"dtype\" must be a string, found {found}");

    [Theory]
    [InlineData("5", "a number")]
    [InlineData("\"x\"", "a string")]
    [InlineData("[]", "an array")]
    [InlineData("null", "null")]
    public void A_tensor_entry_that_is_not_an_object(string value, string found) =>
        AssertInvalidJson("{\"a\":" + value + "}", 0, $"tensor 'a': expected an object with \"dtype\", \"shape\" and \"data_offsets\", found {found}");

    [Theory]
    [InlineData("[2,-1]", "tensor 'a': shape[1] is negative (-1)")]
    [InlineData("[1.5]", "tensor 'a': shape[0] is 1.5, not an integer")]
    [InlineData("[2.0]", "tensor 'a': shape[0] is 2.0, not an integer")]
    [InlineData("[2e0]", "tensor 'a': shape[0] is 2e0, not an integer")]
    [InlineData("[-99999999999999999999]", "tensor 'a': shape[0] is negative (-99999999999999999999)")]
    [InlineData("[99999999999999999999]", "tensor 'a': shape[0] is 99999999999999999999, larger than the maximum 2147483647")]
    [InlineData("[2147483648]", "tensor 'a': shape[0] is 2147483648, larger than the maximum 2147483647")]
    [InlineData("[\"2\"]", "tensor 'a': shape[0] must be a non-negative integer, found a string")]
    [InlineData("[[2]]", "tensor 'a': shape[0] must be a non-negative integer, found an array")]
    [InlineData("[true]", "tensor 'a': shape[0] must be a non-negative integer, found a boolean")]
    [InlineData("2", "tensor 'a': \"shape\" must be an array of non-negative integers, found a number")]
    [InlineData("{}", "tensor 'a': \"shape\" must be an array of non-negative integers, found an object")]
    public void A_bad_shape(string shape, string message) =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,8]}}", 8, message);

    [Fact]
    public void A_number_literal_of_a_million_digits_is_quoted_short()
    {
        string message = AssertInvalidJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[" + new string('9', 1_000_000) + "],\"data_offsets\":[0,8]}}", 8,
            "tensor 'a': shape[0] is 9999", "... (1000000 characters), larger than the maximum 2147483647");
        Assert.True(message.Length < 400, message);
    }

    [Fact]
    public void A_shape_whose_element_count_overflows() =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", 8,
            "tensor 'a': the element count of shape [2147483647, 2147483647, 2147483647] overflows a 64-bit integer");

    [Fact]
    public void A_shape_whose_byte_size_overflows() =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2],\"data_offsets\":[0,8]}}", 8,
            "tensor 'a': the byte size of shape [2147483647, 2147483647, 2]", "overflows a 64-bit integer");

    [Fact]
    public void A_zero_dimension_after_huge_ones_is_a_zero_size_tensor()
    {
        // Product in order like the reference: 2147483647 * 2147483647 fits in 64 bits, then * 0 = 0.
        SafetensorsFile file = SafetensorsFile.Parse(FileFromJson("{\"a\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,0],\"data_offsets\":[0,0]}}"));
        Assert.Equal(0, file.GetInfo("a").ElementCount);
        Assert.Empty(file.ReadFloat64("a"));
    }

    [Theory]
    [InlineData("F32", "[2,2]", "[0,12]", 12, "tensor 'a': shape [2, 2] of F32 needs 16 bytes, but data_offsets [0, 12] span 12")]
    [InlineData("F64", "[3]", "[0,12]", 12, "tensor 'a': shape [3] of F64 needs 24 bytes, but data_offsets [0, 12] span 12")]
    [InlineData("I64", "[]", "[0,4]", 4, "tensor 'a': shape [] of I64 needs 8 bytes, but data_offsets [0, 4] span 4")]
    [InlineData("I32", "[0]", "[0,4]", 4, "tensor 'a': shape [0] of I32 needs 0 bytes, but data_offsets [0, 4] span 4")]
    public void A_size_that_disagrees_with_the_offsets(string dtype, string shape, string offsets, int dataLength, string message) =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}", dataLength, message);

    [Theory]
    [InlineData("[0]", "tensor 'a': \"data_offsets\" must hold exactly two numbers [begin, end], found 1")]
    [InlineData("[0,8,8]", "tensor 'a': \"data_offsets\" must hold exactly two numbers [begin, end], found 3")]
    [InlineData("[]", "tensor 'a': \"data_offsets\" must hold exactly two numbers [begin, end], found 0")]
    [InlineData("[-8,0]", "tensor 'a': data_offsets[0] is negative (-8)")]
    [InlineData("[0,8.5]", "tensor 'a': data_offsets[1] is 8.5, not an integer")]
    [InlineData("[0,18446744073709551616]", "tensor 'a': data_offsets[1] is 18446744073709551616, larger than the maximum 9223372036854775807")]
    [InlineData("[0,\"8\"]", "tensor 'a': data_offsets[1] must be a non-negative integer, found a string")]
    [InlineData("{\"begin\":0}", "tensor 'a': \"data_offsets\" must be an array [begin, end], found an object")]
    [InlineData("[8,0]", "tensor 'a': data_offsets [8, 0] end before they begin")]
    public void Bad_data_offsets(string offsets, string message) =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + offsets + "}}", 8, message);

    [Fact]
    public void Offsets_past_the_end_of_the_data() =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
            "tensor 'a': data_offsets [0, 16] run past the end of the data (8 bytes after the header; truncated file?)");

    [Fact]
    public void Overlapping_tensors() =>
        AssertInvalidJson("{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
            "tensors 'a' (data_offsets [0, 8]) and 'b' (data_offsets [4, 12]) overlap");

    [Fact]
    public void Two_tensors_on_the_same_bytes() =>
        AssertInvalidJson("{" + A + ",\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
            "tensors 'a' (data_offsets [0, 8]) and 'b' (data_offsets [0, 8]) overlap");

    [Fact]
    public void A_zero_size_tensor_inside_another() =>
        AssertInvalidJson("{" + A + ",\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
            "tensors 'a' (data_offsets [0, 8]) and 'e' (data_offsets [4, 4]) overlap");

    [Fact]
    public void A_gap_between_tensors() =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
            "bytes [4, 8) of the data belong to no tensor (the gap ends at tensor 'b')");

    [Fact]
    public void A_gap_before_the_first_tensor() =>
        AssertInvalidJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "bytes [0, 4) of the data belong to no tensor");

    [Fact]
    public void Trailing_bytes_after_the_last_tensor() =>
        AssertInvalidJson("{" + A + "}", 12, "the tensors cover 8 bytes of data, but 12 bytes follow the header (trailing bytes)");

    [Fact]
    public void Data_without_tensors() =>
        AssertInvalidJson("{}", 1, "the tensors cover 0 bytes of data, but 1 bytes follow the header");

    [Theory]
    [InlineData("{\"k\":1}", "metadata value of 'k' must be a string, found a number")]
    [InlineData("{\"k\":null}", "metadata value of 'k' must be a string, found null")]
    [InlineData("{\"k\":{\"x\":\"y\"}}", "metadata value of 'k' must be a string, found an object")]
    [InlineData("{\"k\":[\"y\"]}", "metadata value of 'k' must be a string, found an array")]
    [InlineData("{\"k\":true}", "metadata value of 'k' must be a string, found a boolean")]
    [InlineData("[]", "\"__metadata__\" must be an object of string values, found an array")]
    [InlineData("\"pt\"", "\"__metadata__\" must be an object of string values, found a string")]
    public void Bad_metadata(string metadata, string message) =>
        AssertInvalidJson("{\"__metadata__\":" + metadata + "}", 0, message);

    [Theory]
    [InlineData("{\"\\ud800\":{}}", "a tensor name is not a valid string")]
    [InlineData("{\"__metadata__\":{\"\\udc00x\":\"v\"}}", "a metadata key is not a valid string")]
    [InlineData("{\"__metadata__\":{\"k\":\"\\ud800\"}}", "the metadata value of 'k' is not a valid string")]
    [InlineData("{\"a\":{\"dtype\":\"\\ud83d\",\"shape\":[],\"data_offsets\":[0,4]}}", "the dtype of tensor 'a' is not a valid string")]
    public void A_lone_surrogate_escape(string json, string message) => AssertInvalidJson(json, 4, message);

    [Fact]
    public void A_hostile_name_is_shortened_and_escaped_in_the_message()
    {
        string name = "\u001b[31m" + new string('n', 10_000);
        string entry = "\"" + name.Replace("\u001b", "\\u001b", StringComparison.Ordinal) + "\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,2]}";
        string message = AssertInvalidJson("{" + entry + "}", 2, "unsupported dtype BF16 for tensor '\\u001b[31mnnn", "... (10005 characters)'");
        Assert.DoesNotContain('\u001b', message);
        Assert.True(message.Length < 400, message);
    }

    [Fact]
    public void A_file_path_in_the_message()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fastrnn-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, FileFromJson("{" + A + "}", 4));
            var error = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(path));
            Assert.StartsWith(path + ": Invalid safetensors file: tensor 'a': data_offsets [0, 8] run past the end of the data", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // Streams of unknown length: truncation and trailing bytes are found while reading.

    [Fact]
    public void A_stream_that_ends_inside_the_header()
    {
        byte[] file = FileFromJson("{" + A + "}", 8)[..20];
        var error = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(new TrickleStream(file, 1)));
        Assert.Contains("the file ends after 12 of the", error.Message, StringComparison.Ordinal);
        Assert.Contains("bytes of the header (truncated file?)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_that_ends_inside_the_data()
    {
        byte[] file = FileFromJson("{" + A + "}", 8)[..^3];
        var error = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(new TrickleStream(file, 1)));
        Assert.Contains("the file ends after 5 of the 8 bytes of the tensor data (truncated file?)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_with_bytes_after_the_data()
    {
        byte[] file = FileFromJson("{" + A + "}", 9);
        var error = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(new TrickleStream(file, 1)));
        Assert.Contains("the stream continues after the 8 bytes of tensor data the header describes (trailing bytes)", error.Message, StringComparison.Ordinal);
    }

    // Declared sizes are never trusted for allocation.

    private static long AllocatedBy(Action read)
    {
        read(); // warm up: JIT and static data are not what we measure
        long before = GC.GetAllocatedBytesForCurrentThread();
        read();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static void Rejects(Func<SafetensorsFile> read) => Assert.Throws<InvalidDataException>(() => read());

    [Fact]
    public void A_huge_declared_header_on_a_short_stream_allocates_little()
    {
        byte[] file = FileFromJson("{}", declaredLength: 99_999_999);
        Assert.True(AllocatedBy(() => Rejects(() => SafetensorsFile.Read(new TrickleStream(file, 2)))) < 256 * 1024);
        Assert.True(AllocatedBy(() => Rejects(() => SafetensorsFile.Read(new MemoryStream(file)))) < 64 * 1024);
        Assert.True(AllocatedBy(() => Rejects(() => SafetensorsFile.Parse(file.AsSpan()))) < 64 * 1024);
    }

    [Fact]
    public void A_huge_declared_tensor_on_a_short_stream_allocates_little()
    {
        // 4e15 bytes declared, 8 present.
        byte[] file = FileFromJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000,1000],\"data_offsets\":[0,4000000000000000]}}", 8);
        Assert.True(AllocatedBy(() => Rejects(() => SafetensorsFile.Read(new TrickleStream(file, 3)))) < 256 * 1024);
        Assert.True(AllocatedBy(() => Rejects(() => SafetensorsFile.Read(new MemoryStream(file)))) < 64 * 1024);
        Assert.True(AllocatedBy(() => Rejects(() => SafetensorsFile.Parse(file.AsSpan()))) < 64 * 1024);
    }

    [Fact]
    public void Many_zero_size_tensors_declaring_huge_shapes_allocate_by_header_size()
    {
        // Each entry declares 2^62 elements times zero; nothing may be sized from the shape.
        var json = new StringBuilder("{");
        for (int i = 0; i < 1000; i++)
        {
            json.Append(i == 0 ? "" : ",").Append($"\"t{i}\":{{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,0],\"data_offsets\":[0,0]}}");
        }

        byte[] file = FileFromJson(json.Append('}').ToString());
        Assert.True(AllocatedBy(() => SafetensorsFile.Read(new TrickleStream(file, 4))) < 50 * file.Length);
        Assert.Equal(1000, SafetensorsFile.Parse(file).Names.Count);
    }

    [Fact]
    public void The_header_length_field_is_read_as_unsigned_little_endian()
    {
        byte[] file = FileFromJson("{}      ");
        BinaryPrimitives.WriteUInt64BigEndian(file, 8); // 8 in the wrong byte order is 2^59
        AssertInvalid(file, "the header length 576460752303423488 exceeds the limit");
    }
}
