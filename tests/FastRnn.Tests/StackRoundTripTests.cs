// PyTorch <-> FastRnn through safetensors: 2-layer bidirectional LSTM and GRU with lengths, written by
// tests/parity/make_stack_roundtrip.py (float64 expected values), loaded and run here.
using FastRnn.IO;
using FastRnn.Layers;

namespace FastRnn.Tests;

public class StackRoundTripTests
{
    private static SafetensorsFile Load(string file) => SafetensorsFile.Read(RepositoryPaths.File("tests/parity/stack/" + file));

    [Theory]
    [InlineData("lstm2_bidir", CellKind.Lstm)]
    [InlineData("gru2_bidir", CellKind.Gru)]
    public void PyTorch_state_dict_runs_to_pytorchs_outputs_and_gradients(string name, CellKind cell)
    {
        SafetensorsFile model = Load(name + ".model.safetensors");
        Assert.Equal(new RecurrentStackDescription(cell, 5, 3, 2, true, ""), RecurrentStackFiles.Describe(model));

        SafetensorsFile ours = SafetensorsFile.Parse(ParityRun.Run(model, Load(name + ".input.safetensors")).ToArray());
        SafetensorsFile expected = Load(name + ".expected.safetensors");
        Assert.Equal(expected.Names.Order(), ours.Names.Order());
        foreach (string tensor in expected.Names)
        {
            Assert.Equal(expected.GetInfo(tensor).Shape.ToArray(), ours.GetInfo(tensor).Shape.ToArray());
            double[] reference = expected.ReadFloat64(tensor);
            float[] actual = ours.ReadFloat32(tensor);
            for (int i = 0; i < reference.Length; i++)
            {
                double bound = 1e-5 * Math.Max(1, Math.Abs(reference[i]));
                Assert.True(Math.Abs(actual[i] - reference[i]) <= bound, $"{tensor}[{i}] = {actual[i]:R}, PyTorch {reference[i]:R}");
            }
        }
    }

    [Theory]
    [InlineData("lstm2_bidir")]
    [InlineData("gru2_bidir")]
    public void FastRnn_saves_the_state_dict_pytorch_loads(string name)
    {
        SafetensorsFile original = Load(name + ".model.safetensors");
        var store = new ParameterStore();
        RecurrentStackFiles.Load(original, store);
        using var stream = new MemoryStream();
        Safetensors.Save(store, stream);
        SafetensorsFile saved = SafetensorsFile.Parse(stream.ToArray());

        // Same names in PyTorch's state_dict order, same shapes, F32, same bits: load_state_dict(strict=True) accepts it.
        Assert.Equal(original.Names, saved.Names);
        foreach (string tensor in original.Names)
        {
            Assert.Equal(SafetensorsDType.F32, saved.GetInfo(tensor).DType);
            Assert.Equal(original.GetInfo(tensor).Shape.ToArray(), saved.GetInfo(tensor).Shape.ToArray());
            Assert.Equal(original.ReadFloat32(tensor), saved.ReadFloat32(tensor));
        }
    }

    [Fact]
    public void Ambiguous_or_unsupported_files_are_errors_not_guesses()
    {
        static SafetensorsFile File(Action<SafetensorsWriter> build)
        {
            var writer = new SafetensorsWriter();
            build(writer);
            return SafetensorsFile.Parse(writer.ToArray());
        }

        static void Rnn(SafetensorsWriter w, string prefix, int rows = 2, int hidden = 2, bool biases = true)
        {
            w.AddFloat32(prefix + "weight_ih_l0", [rows, 3], new float[rows * 3]).AddFloat32(prefix + "weight_hh_l0", [rows, hidden], new float[rows * hidden]);
            if (biases)
            {
                w.AddFloat32(prefix + "bias_ih_l0", [rows], new float[rows]).AddFloat32(prefix + "bias_hh_l0", [rows], new float[rows]);
            }
        }

        string Error(SafetensorsFile file, Nonlinearity? nonlinearity = null) =>
            Assert.Throws<InvalidDataException>(() => RecurrentStackFiles.Load(file, new ParameterStore(), nonlinearity)).Message;

        Assert.Contains("needs its nonlinearity", Error(File(w => Rnn(w, ""))));
        Assert.Contains("contradicts", Error(File(w => { Rnn(w, ""); w.AddMetadata("nonlinearity", "relu"); }), Nonlinearity.Tanh));
        Assert.Equal(Nonlinearity.Relu, RecurrentStackFiles.Load(File(w => { Rnn(w, ""); w.AddMetadata("nonlinearity", "relu"); }), new ParameterStore()).Nonlinearity);
        Assert.Contains("has none", Error(File(w => Rnn(w, "", rows: 8)), Nonlinearity.Tanh));
        Assert.Contains("several recurrent modules", Error(File(w => { Rnn(w, "a."); Rnn(w, "b."); })));
        Assert.Contains("bias=False", Error(File(w => Rnn(w, "", biases: false)), Nonlinearity.Tanh));
        Assert.Contains("G = 1 (RNN), 3 (GRU) or 4 (LSTM)", Error(File(w => Rnn(w, "", rows: 4)), Nonlinearity.Tanh));
        Assert.Contains("proj_size", Error(File(w => { Rnn(w, "", rows: 8); w.AddFloat32("weight_hr_l0", [1, 2], new float[2]); })));
        Assert.Contains("no recurrent weights", Error(File(w => w.AddFloat32("head.weight", [2, 2], new float[4]))));

        SafetensorsFile gru = File(w => Rnn(w, "rnn.", rows: 6));
        Assert.Equal(new RecurrentStackDescription(CellKind.Gru, 3, 2, 1, false, "rnn."), RecurrentStackFiles.Describe(gru));
        SafetensorsFile input = File(w => w.AddFloat32("x", [1, 1, 3], new float[3]).AddFloat32("h1", [1, 1, 2], new float[2]));
        Assert.Contains("unknown input tensor 'h1'", Assert.Throws<InvalidDataException>(() => ParityRun.Run(gru, input)).Message);
        input = File(w => w.AddFloat32("x", [2, 1, 3], new float[6]).AddInt64("lengths", [1], [3]));
        Assert.Contains("lengths[0] must be in 0..T=2", Assert.Throws<InvalidDataException>(() => ParityRun.Run(gru, input)).Message);
        input = File(w => w.AddFloat32("x", [2, 1, 3], new float[6]).AddFloat32("d_output", [2, 1, 2], new float[4]));
        SafetensorsFile result = SafetensorsFile.Parse(ParityRun.Run(gru, input).ToArray());
        Assert.Contains("grad.rnn.weight_hh_l0", result.Names);
    }
}
