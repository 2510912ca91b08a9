// Saving and loading a whole ParameterStore by name: round trips, PyTorch prefixes, F64 files, gradients, and every way a
// file can fail to match the model, each of which must leave the store exactly as it was.
using FastRnn.IO;
using FastRnn.Layers;
using FsCheck.Xunit;

namespace FastRnn.Tests;

public class SafetensorsParameterTests
{
    private const int I = 3, H = 4;

    private static ParameterStore Lstm(int seed)
    {
        var store = new ParameterStore();
        _ = new LstmLayer(store, I, H, seed: seed);
        return store;
    }

    private static ParameterStore Filled(float value)
    {
        ParameterStore store = Lstm(1);
        store.Values.Fill(value);
        store.Gradients.Fill(-value);
        return store;
    }

    private static void AssertUnchanged(ParameterStore store, float value)
    {
        Assert.All(store.Values.ToArray(), v => Assert.Equal(value, v));
        Assert.All(store.Gradients.ToArray(), g => Assert.Equal(-value, g));
    }

    private static InvalidDataException AssertLoadFails(byte[] file, SafetensorsLoadOptions? options, params string[] messageParts)
    {
        ParameterStore store = Filled(42f);
        var error = Assert.Throws<InvalidDataException>(() => Safetensors.LoadInto(store, new MemoryStream(file), options));
        foreach (string part in messageParts)
        {
            Assert.Contains(part, error.Message, StringComparison.Ordinal);
        }

        AssertUnchanged(store, 42f); // no half-loaded model
        return error;
    }

    /// <summary>The store's parameters written under their names, with one tensor replaced or dropped.</summary>
    private static byte[] FileOf(ParameterStore store, string? skip = null, Action<SafetensorsWriter>? extra = null, string prefix = "")
    {
        var writer = new SafetensorsWriter();
        foreach (ParameterTensor tensor in store.Tensors)
        {
            if (tensor.Name != skip)
            {
                writer.AddFloat32(prefix + tensor.Name, tensor.Shape, tensor.Values);
            }
        }

        extra?.Invoke(writer);
        return writer.ToArray();
    }

    [Property(MaxTest = 20)]
    public void Save_then_load_restores_every_value_bit_for_bit(int seed)
    {
        ParameterStore saved = Lstm(seed), loaded = Lstm(seed + 1);
        var stream = new MemoryStream();
        Safetensors.Save(saved, stream, new Dictionary<string, string> { ["format"] = "pt" });

        stream.Position = 0;
        SafetensorsFile file = SafetensorsFile.Read(stream);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], file.Names);
        Assert.Equal([4 * H, I], file.GetInfo("weight_ih_l0").Shape.ToArray());
        Assert.All(file.Tensors, t => Assert.Equal(SafetensorsDType.F32, t.DType));
        Assert.Equal("pt", file.Metadata["format"]);

        loaded.Gradients.Fill(3f);
        Safetensors.LoadInto(loaded, file);
        Assert.Equal(saved.Values.ToArray(), loaded.Values.ToArray());
        Assert.All(loaded.Gradients.ToArray(), g => Assert.Equal(3f, g)); // gradients are not touched
    }

    [Fact]
    public void Save_and_load_through_a_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fastrnn-{Guid.NewGuid():N}.safetensors");
        try
        {
            ParameterStore saved = Lstm(7), loaded = Lstm(8);
            Safetensors.Save(saved, path);
            Safetensors.LoadInto(loaded, path);
            Assert.Equal(saved.Values.ToArray(), loaded.Values.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_pytorch_state_dict_prefix_maps_names()
    {
        ParameterStore saved = Lstm(3), loaded = Lstm(4);
        byte[] file = FileOf(saved, prefix: "rnn.", extra: w => w.AddFloat32("head.weight", [2, H], new float[2 * H]));
        Safetensors.LoadInto(loaded, new MemoryStream(file), new SafetensorsLoadOptions { Prefix = "rnn.", RejectUnexpectedTensors = true });
        Assert.Equal(saved.Values.ToArray(), loaded.Values.ToArray());
    }

    [Fact]
    public void An_f64_file_loads_rounded_to_float()
    {
        ParameterStore store = Lstm(5);
        var writer = new SafetensorsWriter();
        var expected = new List<float>();
        foreach (ParameterTensor tensor in store.Tensors)
        {
            double[] values = Enumerable.Range(0, tensor.Length).Select(i => (0.1 * i) - 1.0 / 3).ToArray();
            writer.AddFloat64(tensor.Name, tensor.Shape, values);
            expected.AddRange(values.Select(v => (float)v));
        }

        Safetensors.LoadInto(store, new MemoryStream(writer.ToArray()));
        Assert.Equal(expected, store.Values.ToArray());
    }

    [Fact]
    public void Gradients_and_extra_tensors_can_be_saved_beside_the_parameters()
    {
        ParameterStore store = Lstm(6);
        for (int i = 0; i < store.Length; i++)
        {
            store.Gradients[i] = i;
        }

        byte[] bytes = new SafetensorsWriter()
            .AddParameters(store)
            .AddGradients(store)
            .AddInt32("lengths", [3], [2, 5, 1])
            .ToArray();
        SafetensorsFile file = SafetensorsFile.Parse(bytes);
        Assert.Equal(store["bias_hh_l0"].Gradient.ToArray(), file.ReadFloat32("grad.bias_hh_l0"));
        Assert.Equal([2, 5, 1], file.ReadInt32("lengths"));

        ParameterStore loaded = Lstm(9);
        Safetensors.LoadInto(loaded, file, new SafetensorsLoadOptions { RejectUnexpectedTensors = true, IgnoredPrefixes = ["grad.", "lengths"] });
        Assert.Equal(store.Values.ToArray(), loaded.Values.ToArray());
    }

    [Fact]
    public void A_missing_parameter_fails_and_names_it() =>
        AssertLoadFails(FileOf(Lstm(2), skip: "bias_hh_l0"), null, "the file does not match the model: missing tensor 'bias_hh_l0' (the model's [16])");

    [Fact]
    public void A_missing_prefixed_parameter_names_the_prefixed_key() =>
        AssertLoadFails(FileOf(Lstm(2)), new SafetensorsLoadOptions { Prefix = "rnn." }, "missing tensor 'rnn.weight_ih_l0' (the model's [16, 3])");

    [Fact]
    public void A_wrong_shape_fails_and_names_both_shapes()
    {
        ParameterStore store = Lstm(2);
        byte[] file = FileOf(store, skip: "weight_hh_l0", extra: w => w.AddFloat32("weight_hh_l0", [H, 4 * H], new float[16 * H]));
        AssertLoadFails(file, null, "tensor 'weight_hh_l0' has shape [4, 16] in the file, the model expects [16, 4]");
    }

    [Fact]
    public void The_same_element_count_in_another_shape_still_fails()
    {
        byte[] file = FileOf(Lstm(2), skip: "bias_ih_l0", extra: w => w.AddFloat32("bias_ih_l0", [4, H], new float[4 * H]));
        AssertLoadFails(file, null, "tensor 'bias_ih_l0' has shape [4, 4] in the file, the model expects [16]");
    }

    [Fact]
    public void An_integer_tensor_fails() =>
        AssertLoadFails(FileOf(Lstm(2), skip: "bias_ih_l0", extra: w => w.AddInt32("bias_ih_l0", [4 * H], new int[4 * H])), null,
            "tensor 'bias_ih_l0' is I32; parameters load from F32 or F64");

    [Fact]
    public void An_unexpected_tensor_fails_only_when_asked()
    {
        byte[] file = FileOf(Lstm(2), extra: w => w.AddFloat32("weight_ih_l1", [1], [0f]).AddFloat32("grad.x", [1], [0f]));
        ParameterStore store = Lstm(3);
        Safetensors.LoadInto(store, new MemoryStream(file)); // extra tensors are ignored by default
        AssertLoadFails(file, new SafetensorsLoadOptions { RejectUnexpectedTensors = true },
            "unexpected tensor 'weight_ih_l1' (not a parameter of the model)", "unexpected tensor 'grad.x'");
        InvalidDataException error = AssertLoadFails(file, new SafetensorsLoadOptions { RejectUnexpectedTensors = true, IgnoredPrefixes = ["grad."] },
            "unexpected tensor 'weight_ih_l1'");
        Assert.DoesNotContain("grad.x", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_listed_at_once()
    {
        byte[] file = new SafetensorsWriter().AddFloat32("weight_ih_l0", [1], [0f]).AddInt64("bias_ih_l0", [4 * H], new long[4 * H]).ToArray();
        AssertLoadFails(file, null,
            "tensor 'weight_ih_l0' has shape [1] in the file, the model expects [16, 3]",
            "missing tensor 'weight_hh_l0'",
            "tensor 'bias_ih_l0' is I64",
            "missing tensor 'bias_hh_l0'");
    }

    [Fact]
    public void A_value_out_of_float_range_in_the_last_tensor_leaves_the_store_untouched()
    {
        // Everything matches by name, shape and dtype; only decoding the last tensor fails. The store must not hold
        // the first three tensors' values afterwards.
        ParameterStore source = Lstm(2);
        var writer = new SafetensorsWriter();
        foreach (ParameterTensor tensor in source.Tensors)
        {
            double[] values = tensor.Values.ToArray().Select(v => (double)v).ToArray();
            if (tensor.Name == "bias_hh_l0")
            {
                values[^1] = 1e300;
            }

            writer.AddFloat64(tensor.Name, tensor.Shape, values);
        }

        AssertLoadFails(writer.ToArray(), null, "element 15 of tensor 'bias_hh_l0' is 1E+300, outside the float range");
    }

    [Fact]
    public void A_corrupt_file_leaves_the_store_untouched()
    {
        byte[] file = FileOf(Lstm(2));
        AssertLoadFails(file[..^1], null, "run past the end of the data");
    }

    [Fact]
    public void A_path_load_names_the_file()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fastrnn-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, FileOf(Lstm(2), skip: "weight_ih_l0"));
            ParameterStore store = Filled(1f);
            var error = Assert.Throws<InvalidDataException>(() => Safetensors.LoadInto(store, path));
            Assert.StartsWith(path + ": Invalid safetensors file: the file does not match the model: missing tensor 'weight_ih_l0'", error.Message, StringComparison.Ordinal);
            AssertUnchanged(store, 1f);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
