// Fuzzing the safetensors reader: 12,000 seeded corruptions of valid files (truncations, bit flips, header lengths,
// number edits, structural JSON edits, dtype and field renames, overlapping offsets, duplicates, spliced bytes). Each
// must either load (then every read works and the file re-writes to the same tensors) or throw exactly
// InvalidDataException; any other exception fails the test with the seed and the corruption. The span, seekable-stream
// and trickling-stream readers must agree on every case.
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FastRnn.IO;
using Xunit.Abstractions;
using static FastRnn.Tests.SafetensorsTestData;

namespace FastRnn.Tests;

public partial class SafetensorsFuzzTests(ITestOutputHelper output)
{
    private const int Cases = 12_000;
    private const int BaseSeed = 20_240_611;

    private static readonly string[] s_numbers =
    [
        "0", "1", "-1", "-0", "1.5", "4.0", "1e3", "1E400", "-1e-400", "2147483647", "2147483648", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "99999999999999999999999999999999", "00", "+1", "0x10", "", "null", "\"4\"", "[4]",
    ];

    private static readonly string[] s_dtypes = ["F32", "F64", "I32", "I64", "BF16", "F16", "U8", "BOOL", "F8_E4M3", "f32", "", "F32 ", "I64\\u0000"];

    private static readonly string[] s_fields = ["dtype", "shape", "data_offsets", "__metadata__"];

    private static readonly string[] s_fieldReplacements = ["dtypo", "Shape", "offsets", "data_offsets", "dtype", "shape", "__metadata__", "", "d\\u0074ype"];

    private static readonly string[] s_fragments = ["{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\\ud800", " ", "\t", "\n", "null", "{}", "[]", "0"];

    [GeneratedRegex(@"-?\d+")]
    private static partial Regex NumberToken();

    [GeneratedRegex("\"dtype\":\"[^\"]*\"")]
    private static partial Regex DTypeField();

    [GeneratedRegex(@"\[\d+,\d+\]")]
    private static partial Regex OffsetsArray();

    [GeneratedRegex("\"[^\"]+\":\\{\"dtype\"[^}]*\\}")]
    private static partial Regex TensorEntry();

    private enum Corruption
    {
        Truncate,
        FlipHeaderBits,
        FlipAnyBits,
        FlipDataBits,
        HeaderLength,
        EditNumber,
        EditStructure,
        EditDType,
        RenameField,
        MoveOffsets,
        DuplicateEntry,
        SpliceBytes,
        AppendOrInsertData,
        EditMetadata,
        EditPadding,
        Stacked,
    }

    private static byte[][] BaseFiles()
    {
        var files = new List<byte[]>();
        for (int i = 0; i < 12; i++)
        {
            var random = new Random(BaseSeed - i);
            List<SampleTensor> tensors = RandomTensors(random);
            files.Add(Write(tensors, RandomMetadata(random)));
        }

        // One file with every dtype, a scalar, a zero-size tensor and metadata, so every edit has something to hit.
        files.Add(new SafetensorsWriter()
            .AddMetadata("format", "pt")
            .AddFloat32("weight_ih_l0", [3, 2], [1f, -2f, 3.5f, float.NaN, 0f, -0f])
            .AddFloat64("scalar", [], [Math.PI])
            .AddInt32("lengths", [3], [2, 5, 1])
            .AddInt64("empty", [0, 4], [])
            .AddInt64("steps", [2], [long.MinValue, long.MaxValue])
            .ToArray());
        return [.. files];
    }

    [Fact]
    public void Corrupted_files_load_or_throw_InvalidDataException()
    {
        byte[][] bases = BaseFiles();
        int accepted = 0;
        var rejectedBy = new Dictionary<Corruption, int>();
        var failures = new List<string>();
        for (int i = 0; i < Cases && failures.Count < 20; i++)
        {
            int seed = BaseSeed + i;
            var random = new Random(seed);
            byte[] source = bases[random.Next(bases.Length)];
            var kind = (Corruption)random.Next(Enum.GetValues<Corruption>().Length);
            var description = new StringBuilder(kind.ToString());
            byte[] corrupted = kind == Corruption.Stacked
                ? Corrupt(Corrupt(Corrupt(source, random, (Corruption)random.Next((int)Corruption.Stacked), description), random,
                    (Corruption)random.Next((int)Corruption.Stacked), description), random, (Corruption)random.Next((int)Corruption.Stacked), description)
                : Corrupt(source, random, kind, description);
            string where = $"seed {seed}, {description}, file (base64) {Convert.ToBase64String(corrupted)}";

            string fromSpan = Outcome(() => SafetensorsFile.Parse(corrupted.AsSpan()), failures, where + ", span");
            string fromSeekable = Outcome(() => SafetensorsFile.Read(new MemoryStream(corrupted)), failures, where + ", seekable stream");
            if (fromSpan != fromSeekable)
            {
                failures.Add($"{where}: span gave '{fromSpan}', seekable stream '{fromSeekable}'");
            }

            if (i % 4 == 0)
            {
                string fromTrickle = Outcome(() => SafetensorsFile.Read(new TrickleStream(corrupted, seed)), failures, where + ", trickling stream");
                if ((fromSpan == "ok") != (fromTrickle == "ok"))
                {
                    failures.Add($"{where}: span gave '{fromSpan}', trickling stream '{fromTrickle}'");
                }
            }

            if (fromSpan == "ok")
            {
                accepted++;
            }
            else
            {
                rejectedBy[kind] = rejectedBy.GetValueOrDefault(kind) + 1;
                if (kind == Corruption.FlipDataBits)
                {
                    failures.Add($"{where}: flipping data bits must leave a valid file, got '{fromSpan}'");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        output.WriteLine($"{Cases} cases, {accepted} loaded; rejected per corruption: {string.Join(", ", rejectedBy.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}");

        // The corruptions must do something: every kind except data flips gets rejected at times, and many files
        // still load (data flips alone are a twelfth of the cases).
        foreach (Corruption kind in Enum.GetValues<Corruption>())
        {
            if (kind != Corruption.FlipDataBits)
            {
                Assert.True(rejectedBy.GetValueOrDefault(kind) > 50, $"{kind} was rejected only {rejectedBy.GetValueOrDefault(kind)} times");
            }
        }

        Assert.InRange(accepted, Cases / 14, Cases / 2);
    }

    /// <summary>"ok" when the file loads and every read of it behaves; the exception message when it is rejected properly.</summary>
    private static string Outcome(Func<SafetensorsFile> read, List<string> failures, string where)
    {
        SafetensorsFile file;
        try
        {
            file = read();
        }
        catch (Exception e) when (e.GetType() == typeof(InvalidDataException))
        {
            return e.Message;
        }
        catch (Exception e)
        {
            failures.Add($"{where}: {e.GetType().Name}: {e.Message}");
            return "unexpected " + e.GetType().Name;
        }

        try
        {
            ExerciseAndRewrite(file);
        }
        catch (Exception e)
        {
            failures.Add($"{where}: loaded, then {e.GetType().Name}: {e.Message}");
        }

        return "ok";
    }

    /// <summary>Every typed read of every tensor either works or (wrong dtype, value out of range) throws InvalidDataException; the tensors re-write to the same bytes.</summary>
    private static void ExerciseAndRewrite(SafetensorsFile file)
    {
        long covered = 0;
        var writer = new SafetensorsWriter();
        foreach (KeyValuePair<string, string> item in file.Metadata)
        {
            writer.AddMetadata(item.Key, item.Value);
        }

        foreach (SafetensorsTensorInfo info in file.Tensors)
        {
            covered += info.ByteLength;
            TryRead(() => file.ReadFloat32(info.Name));
            TryRead(() => file.ReadAsFloat32(info.Name));
            TryRead(() => file.ReadFloat64(info.Name));
            TryRead(() => file.ReadInt32(info.Name));
            TryRead(() => file.ReadInt64(info.Name));
            new SampleTensor(info.Name, info.DType, info.Shape.ToArray(), file.GetBytes(info.Name).ToArray()).AddTo(writer);
        }

        Assert.Equal(file.DataLength, covered); // tensors tile the data: no overlap, no gap

        SafetensorsFile again = SafetensorsFile.Parse(writer.ToArray());
        Assert.Equal(file.Names, again.Names);
        Assert.Equal(file.Metadata.ToDictionary(), again.Metadata.ToDictionary());
        foreach (SafetensorsTensorInfo info in file.Tensors)
        {
            Assert.Equal(info.DType, again.GetInfo(info.Name).DType);
            Assert.Equal(info.Shape.ToArray(), again.GetInfo(info.Name).Shape.ToArray());
            Assert.True(file.GetBytes(info.Name).SequenceEqual(again.GetBytes(info.Name)));
        }
    }

    private static void TryRead(Action read)
    {
        try
        {
            read();
        }
        catch (Exception e) when (e.GetType() == typeof(InvalidDataException))
        {
        }
    }

    // Numbers in an already corrupted header may not fit in a long.
    private static long Parse(string number) => long.TryParse(number, CultureInfo.InvariantCulture, out long value) ? value : 0;

    private static (string Header, byte[] Data) Split(byte[] file)
    {
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (Encoding.UTF8.GetString(file, 8, n), file[(8 + n)..]);
    }

    /// <summary>Rebuilds a file from an edited header; mostly with the right length, sometimes keeping the old one.</summary>
    private static byte[] Join(byte[] original, string header, byte[] data, Random random)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(header);
        ulong declared = random.Next(10) == 0 ? BinaryPrimitives.ReadUInt64LittleEndian(original) : (ulong)bytes.Length;
        return FileFromHeader(bytes, data, declared);
    }

    private static string ReplaceMatch(string text, MatchCollection matches, Random random, string replacement)
    {
        Match match = matches[random.Next(matches.Count)];
        return string.Concat(text.AsSpan(0, match.Index), replacement, text.AsSpan(match.Index + match.Length));
    }

    private static byte[] Corrupt(byte[] file, Random random, Corruption kind, StringBuilder description)
    {
        if (file.Length < 8)
        {
            return file; // an earlier stacked corruption already cut the length field
        }

        ulong declaredLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        bool headerIntact = declaredLength <= (ulong)(file.Length - 8);
        int headerLength = headerIntact ? (int)declaredLength : file.Length - 8;
        byte[] copy = (byte[])file.Clone();
        switch (kind)
        {
            case Corruption.Truncate:
            {
                int length = random.Next(file.Length);
                description.Append($" to {length}");
                return file[..length];
            }

            case Corruption.FlipHeaderBits:
            case Corruption.FlipAnyBits:
            case Corruption.FlipDataBits:
            {
                int start = kind == Corruption.FlipHeaderBits ? 8 : kind == Corruption.FlipDataBits ? 8 + headerLength : 0;
                int end = kind == Corruption.FlipHeaderBits ? 8 + headerLength : file.Length;
                if (end <= start)
                {
                    return copy;
                }

                for (int flips = random.Next(1, 5); flips > 0; flips--)
                {
                    int at = random.Next(start, end), bit = random.Next(8);
                    copy[at] ^= (byte)(1 << bit);
                    description.Append($" [{at}]^{1 << bit}");
                }

                return copy;
            }

            case Corruption.HeaderLength:
            {
                ulong[] choices =
                [
                    0, 1, declaredLength - 1, declaredLength + 1, declaredLength + 8, (ulong)file.Length, (ulong)file.Length - 8,
                    (ulong)file.Length - 7, 100_000_000, 100_000_001, ulong.MaxValue, (ulong)random.NextInt64(), (ulong)random.Next(2 * headerLength + 2),
                ];
                ulong value = choices[random.Next(choices.Length)];
                description.Append($" = {value}");
                BinaryPrimitives.WriteUInt64LittleEndian(copy, value);
                return copy;
            }

            case Corruption.AppendOrInsertData:
            {
                byte[] extra = new byte[random.Next(1, 9)];
                random.NextBytes(extra);
                int at = random.Next(8 + headerLength, file.Length + 1);
                description.Append($" {extra.Length} bytes at {at}");
                return [.. file[..at], .. extra, .. file[at..]];
            }

            case Corruption.SpliceBytes:
            {
                int at = random.Next(8, Math.Max(9, 8 + headerLength));
                byte[] bytes = new byte[random.Next(1, 6)];
                random.NextBytes(bytes);
                int end = Math.Min(file.Length, at + random.Next(0, 6));
                description.Append($" [{at}, {end}) <- {Convert.ToHexString(bytes)}");
                return [.. file[..Math.Min(at, file.Length)], .. bytes, .. file[end..]];
            }

            default:
                break;
        }

        if (!headerIntact || headerLength == 0)
        {
            return copy;
        }

        (string header, byte[] data) = Split(file);
        switch (kind)
        {
            case Corruption.EditNumber:
            {
                MatchCollection numbers = NumberToken().Matches(header);
                if (numbers.Count == 0)
                {
                    return copy;
                }

                string replacement = random.Next(4) == 0
                    ? (Parse(numbers[random.Next(numbers.Count)].Value) + random.Next(-9, 10)).ToString(CultureInfo.InvariantCulture)
                    : s_numbers[random.Next(s_numbers.Length)];
                description.Append($" -> {replacement}");
                return Join(file, ReplaceMatch(header, numbers, random, replacement), data, random);
            }

            case Corruption.EditStructure:
            {
                int at = random.Next(header.Length);
                string edited = random.Next(2) == 0
                    ? header.Remove(at, 1)
                    : header.Insert(at, s_fragments[random.Next(s_fragments.Length)]);
                description.Append($" at {at}");
                return Join(file, edited, data, random);
            }

            case Corruption.EditDType:
            {
                MatchCollection fields = DTypeField().Matches(header);
                if (fields.Count == 0)
                {
                    return copy;
                }

                string dtype = s_dtypes[random.Next(s_dtypes.Length)];
                description.Append($" -> {dtype}");
                return Join(file, ReplaceMatch(header, fields, random, $"\"dtype\":\"{dtype}\""), data, random);
            }

            case Corruption.RenameField:
            {
                string field = s_fields[random.Next(s_fields.Length)];
                string replacement = s_fieldReplacements[random.Next(s_fieldReplacements.Length)];
                MatchCollection matches = Regex.Matches(header, Regex.Escape($"\"{field}\""));
                if (matches.Count == 0)
                {
                    return copy;
                }

                description.Append($" {field} -> {replacement}");
                return Join(file, ReplaceMatch(header, matches, random, $"\"{replacement}\""), data, random);
            }

            case Corruption.MoveOffsets:
            {
                MatchCollection offsets = OffsetsArray().Matches(header);
                if (offsets.Count == 0)
                {
                    return copy;
                }

                // Copy another tensor's offsets (overlap), shift them, or swap begin and end.
                Match source = offsets[random.Next(offsets.Count)];
                string[] parts = source.Value.Trim('[', ']').Split(',');
                long begin = Parse(parts[0]), end = Parse(parts[1]);
                long shift = random.Next(-8, 9);
                string replacement = random.Next(3) switch
                {
                    0 => source.Value,
                    1 => $"[{begin + shift},{end + shift}]",
                    _ => $"[{end},{begin}]",
                };
                description.Append($" -> {replacement}");
                return Join(file, ReplaceMatch(header, offsets, random, replacement), data, random);
            }

            case Corruption.DuplicateEntry:
            {
                MatchCollection entries = TensorEntry().Matches(header);
                if (entries.Count == 0)
                {
                    return copy;
                }

                Match entry = entries[random.Next(entries.Count)];
                description.Append($" {entry.Value[..Math.Min(20, entry.Value.Length)]}");
                return Join(file, header.Insert(entry.Index, entry.Value + ","), data, random);
            }

            case Corruption.EditMetadata:
            {
                string[] replacements = ["{\"k\":1}", "{\"k\":null}", "null", "[]", "{\"k\":\"v\",\"k\":\"w\"}", "{\"k\":{}}", "\"x\"", "{}"];
                string replacement = replacements[random.Next(replacements.Length)];
                int at = header.IndexOf("\"__metadata__\":", StringComparison.Ordinal);
                string edited = at < 0
                    ? header.Insert(1, $"\"__metadata__\":{replacement}" + (header.StartsWith("{}", StringComparison.Ordinal) ? "" : ","))
                    : string.Concat(header.AsSpan(0, at), $"\"__metadata__\":{replacement}", header.AsSpan(header.IndexOf('}', at) + 1));
                description.Append($" -> {replacement}");
                return Join(file, edited, data, random);
            }

            case Corruption.EditPadding:
            {
                string[] pads = ["", " ", "\t", "\n", "\r\n", "\0", "  x", "}", "\u00a0"];
                string pad = pads[random.Next(pads.Length)];
                description.Append($" pad {Convert.ToHexString(Encoding.UTF8.GetBytes(pad))}");
                return Join(file, header.TrimEnd(' ') + pad, data, random);
            }

            default:
                return copy;
        }
    }
}
