// `fastrnn gradflow` on a fresh tiny model (tables, TSVs, PNGs) and `fastrnn run` on the committed PyTorch parity files.
using System.Globalization;
using FastRnn.IO;

namespace FastRnn.Cli.Tests;

public class GradFlowRunCommandTests
{
    private static readonly byte[] s_pngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Theory]
    [InlineData("lstm", 1, 4)]
    [InlineData("elman-sigmoid", 2, 1)]
    public void Gradflow_on_a_fresh_model_writes_tables_and_plots(string cell, int layers, int gates)
    {
        using var temp = new TempDirectory();
        string text = temp.File("tiny.txt", CharModelTestFiles.TinyText);
        CliRun run = CliHarness.Run("gradflow", "--text", text, "--cell", cell, "--layers", layers.ToString(CultureInfo.InvariantCulture),
            "--hidden", "6", "--embedding", "3", "--seq-len", "12", "--batch", "3", "--batches", "2", "--max-distance", "5", "--out", temp.Path);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("fresh (untrained)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("rnn.weight_hh_l0", run.Stdout, StringComparison.Ordinal);

        foreach (string png in (string[])["gradflow-gradient-norms.png", "gradflow-jacobian.png"])
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(temp.Path, png));
            Assert.Equal(s_pngSignature, bytes[..8]);
            Assert.True(bytes.Length > 5000, $"{png}: {bytes.Length} bytes");
        }

        // One row per distance 0..T-1, two columns per layer; every norm finite and positive (nothing reaches 0 in 12 steps).
        string[] gradients = File.ReadAllLines(Path.Combine(temp.Path, "gradflow-gradient-norms.tsv"));
        Assert.Equal(1 + 12, gradients.Length);
        Assert.Equal(1 + (2 * layers), gradients[0].Split('\t').Length);
        foreach (string row in gradients[1..])
        {
            foreach (string cellText in row.Split('\t')[1..])
            {
                double value = double.Parse(cellText, CultureInfo.InvariantCulture);
                Assert.True(value > 0 && double.IsFinite(value), row);
            }
        }

        string[] jacobian = File.ReadAllLines(Path.Combine(temp.Path, "gradflow-jacobian.tsv"));
        Assert.Equal(1 + 5, jacobian.Length);
        Assert.Equal(["1", "2", "3", "4", "5"], jacobian[1..].Select(row => row.Split('\t')[0]));
        foreach (string row in jacobian[1..])
        {
            // The spectral norm never exceeds the Frobenius norm.
            string[] cells = row.Split('\t');
            Assert.True(double.Parse(cells[1], CultureInfo.InvariantCulture) <= double.Parse(cells[2], CultureInfo.InvariantCulture) * (1 + 1e-12), row);
        }

        string[] spectra = File.ReadAllLines(Path.Combine(temp.Path, "gradflow-spectra.tsv"));
        Assert.Equal(1 + (gates * layers), spectra.Length);
    }

    [Theory]
    [InlineData("lstm2_bidir", false)]
    [InlineData("gru2_bidir", true)]
    public void Run_reproduces_pytorch_on_the_committed_parity_files(string name, bool outIsDirectory)
    {
        using var temp = new TempDirectory();
        string model = CharModelTestFiles.RepositoryFile($"tests/parity/stack/{name}.model.safetensors");
        string input = CharModelTestFiles.RepositoryFile($"tests/parity/stack/{name}.input.safetensors");
        string result = outIsDirectory ? temp.Path : Path.Combine(temp.Path, "nested", "r.safetensors");
        CliRun run = CliHarness.Run("run", "--model", model, "--input", input, "--out", result);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal("", run.Stderr);
        string written = outIsDirectory ? Path.Combine(temp.Path, "result.safetensors") : result;
        Assert.Contains($"wrote {written}", run.Stdout, StringComparison.Ordinal);

        SafetensorsFile ours = SafetensorsFile.Read(written);
        SafetensorsFile expected = SafetensorsFile.Read(CharModelTestFiles.RepositoryFile($"tests/parity/stack/{name}.expected.safetensors"));
        Assert.Equal(expected.Names.Order(), ours.Names.Order());
        foreach (string tensor in expected.Names)
        {
            Assert.Equal(expected.GetInfo(tensor).Shape.ToArray(), ours.GetInfo(tensor).Shape.ToArray());
            double[] reference = expected.ReadFloat64(tensor);
            float[] actual = ours.ReadFloat32(tensor);
            for (int i = 0; i < reference.Length; i++)
            {
                Assert.True(Math.Abs(actual[i] - reference[i]) <= 1e-5 * Math.Max(1, Math.Abs(reference[i])), $"{tensor}[{i}] = {actual[i]:R}, PyTorch {reference[i]:R}");
            }
        }
    }
}
