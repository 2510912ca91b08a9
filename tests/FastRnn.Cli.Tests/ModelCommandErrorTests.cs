// Bad command lines and bad files for train, sample, gradflow and run: one line on stderr and the exit code (2 for the
// command line, including a missing file; 1 for a file that exists but is malformed or does not fit).
using FastRnn.Cli.CharModel;
using FastRnn.IO;

namespace FastRnn.Cli.Tests;

public class ModelCommandErrorTests
{
    private static readonly string s_parityModel = CharModelTestFiles.RepositoryFile("tests/parity/stack/lstm2_bidir.model.safetensors");
    private static readonly string s_parityInput = CharModelTestFiles.RepositoryFile("tests/parity/stack/lstm2_bidir.input.safetensors");

    [Theory]
    [InlineData(new[] { "train", "--cell", "transformer" }, "--cell: unknown cell 'transformer' (expected elman-tanh, elman-relu, elman-sigmoid, lstm or gru)")]
    [InlineData(new[] { "train", "--cell", "elman-swish" }, "--cell: unknown cell 'elman-swish'")]
    [InlineData(new[] { "train", "--text", "no/such/text.txt" }, "--text: file not found: 'no/such/text.txt'")]
    [InlineData(new[] { "train", "--resume", "no/such/model.safetensors" }, "--resume: file not found: 'no/such/model.safetensors'")]
    [InlineData(new[] { "train", "--hidden", "-3" }, "--hidden: must be at least 1, got -3")]
    [InlineData(new[] { "train", "--layers", "0" }, "--layers: must be at least 1, got 0")]
    [InlineData(new[] { "train", "--embedding", "-1" }, "--embedding: must be at least 1, got -1")]
    [InlineData(new[] { "train", "--seq-len", "0" }, "--seq-len: must be at least 1, got 0")]
    [InlineData(new[] { "train", "--batch", "-2" }, "--batch: must be at least 1, got -2")]
    [InlineData(new[] { "train", "--steps", "0" }, "--steps: must be at least 1, got 0")]
    [InlineData(new[] { "train", "--lr", "0" }, "--lr: must be greater than 0, got 0")]
    [InlineData(new[] { "train", "--clip", "-1" }, "--clip: must be at least 0, got -1")]
    [InlineData(new[] { "train", "--dropout", "1" }, "--dropout: must be in [0, 1), got 1")]
    [InlineData(new[] { "train", "--checkpoint-every", "-5" }, "--checkpoint-every: must be at least 0, got -5")]
    [InlineData(new[] { "sample" }, "--model", "'fastrnn sample --help'")]
    [InlineData(new[] { "sample", "--model", "no/such/model.safetensors" }, "--model: file not found: 'no/such/model.safetensors'")]
    [InlineData(new[] { "sample", "--model", "x", "--temperature", "-0.5" }, "--temperature: must be at least 0, got -0.5")]
    [InlineData(new[] { "sample", "--model", "x", "--temperature", "inf" }, "--temperature: 'inf' is not a finite number")]
    [InlineData(new[] { "sample", "--model", "x", "--length", "-1" }, "--length: must be at least 0, got -1")]
    [InlineData(new[] { "gradflow", "--cell", "rnn" }, "--cell: unknown cell 'rnn'")]
    [InlineData(new[] { "gradflow", "--hidden", "0" }, "--hidden: must be at least 1, got 0")]
    [InlineData(new[] { "gradflow", "--model", "no/such/model.safetensors" }, "--model: file not found")]
    [InlineData(new[] { "gradflow", "--seq-len", "10", "--max-distance", "11" }, "--max-distance 11 exceeds --seq-len 10")]
    [InlineData(new[] { "run" }, "--model", "--input")]
    [InlineData(new[] { "run", "--model", "no/such/model.safetensors", "--input", "no/such/input.safetensors" }, "--model: file not found", "--input: file not found")]
    public void Bad_arguments_are_one_line_usage_errors(string[] args, params string[] fragments)
    {
        CliHarness.Run(args).AssertError(FastRnnCli.UsageError, fragments);
    }

    [Fact]
    public void Bad_values_found_after_parsing_are_usage_errors_and_write_nothing()
    {
        using var temp = new TempDirectory();
        string tiny = temp.File("tiny.txt", "abcab");
        string text = temp.File("text.txt", CharModelTestFiles.TinyText);
        CliHarness.Run("train", "--text", tiny, "--seq-len", "8", "--out", temp.Path).AssertError(FastRnnCli.UsageError, "--seq-len 8 needs a text of at least 9 characters", "has 5");
        CliHarness.Run("gradflow", "--text", tiny, "--seq-len", "8", "--max-distance", "4", "--out", temp.Path).AssertError(FastRnnCli.UsageError, "--seq-len 8 needs a text");
        CliHarness.Run("run", "--model", s_parityModel, "--input", s_parityInput, "--nonlinearity", "swish", "--out", temp.Path)
            .AssertError(FastRnnCli.UsageError, "--nonlinearity: unknown nonlinearity 'swish'");
        Assert.False(Directory.Exists(temp.Path));

        Assert.Equal(0, CharModelTestFiles.Train(text, temp.Path, "--steps", "2").ExitCode);
        string checkpoint = Path.Combine(temp.Path, CharCheckpoint.FileName);
        CliHarness.Run("sample", "--model", checkpoint, "--prompt", "the zebra").AssertError(FastRnnCli.UsageError, "--prompt contains 'z', which is not in the model's vocabulary");
        CliHarness.Run("sample", "--model", checkpoint, "--prompt", "").AssertError(FastRnnCli.UsageError, "--prompt needs at least one character");
        CliHarness.Run("gradflow", "--model", checkpoint, "--cell", "gru").AssertError(FastRnnCli.UsageError, "--cell describes a fresh model");
    }

    [Theory]
    [InlineData("--hidden", "16", "--hidden 16 does not match the checkpoint's hidden size 8")]
    [InlineData("--cell", "gru", "--cell gru does not match the checkpoint's cell lstm")]
    [InlineData("--layers", "2", "--layers 2 does not match the checkpoint's layer count 1")]
    [InlineData("--dropout", "0.5", "--dropout 0.5 does not match the checkpoint's dropout 0")]
    public void Resuming_with_another_shape_is_a_usage_error(string option, string value, string message)
    {
        using var temp = new TempDirectory();
        using var next = new TempDirectory();
        string text = temp.File("tiny.txt", CharModelTestFiles.TinyText);
        Assert.Equal(0, CharModelTestFiles.Train(text, temp.Path, "--steps", "2").ExitCode);
        CliHarness.Run("train", "--resume", Path.Combine(temp.Path, CharCheckpoint.FileName), "--text", text, option, value, "--out", next.Path)
            .AssertError(FastRnnCli.UsageError, message);
        Assert.False(Directory.Exists(next.Path));
    }

    [Fact]
    public void Resuming_on_a_text_with_unknown_characters_is_a_usage_error()
    {
        using var temp = new TempDirectory();
        Assert.Equal(0, CharModelTestFiles.Train(temp.File("tiny.txt", CharModelTestFiles.TinyText), temp.Path, "--steps", "2").ExitCode);
        string other = temp.File("other.txt", "the quick brown fox jumps over the lazy dog\n");
        CliHarness.Run("train", "--resume", Path.Combine(temp.Path, CharCheckpoint.FileName), "--text", other, "--out", temp.Path)
            .AssertError(FastRnnCli.UsageError, "contains 'q', which is not in the model's vocabulary");
    }

    [Fact]
    public void Broken_or_foreign_checkpoints_are_runtime_errors()
    {
        using var temp = new TempDirectory();
        string text = temp.File("tiny.txt", CharModelTestFiles.TinyText);
        Assert.Equal(0, CharModelTestFiles.Train(text, temp.Path, "--steps", "2").ExitCode);
        string good = Path.Combine(temp.Path, CharCheckpoint.FileName);
        byte[] bytes = File.ReadAllBytes(good);

        string truncated = temp.File("truncated.safetensors", "");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        string garbage = temp.File("garbage.safetensors", "this is not a safetensors file at all");

        // Metadata that promises H=16 over tensors of H=8: the file does not match the model it describes.
        SafetensorsFile original = SafetensorsFile.Parse(bytes);
        var writer = new SafetensorsWriter();
        foreach (KeyValuePair<string, string> item in original.Metadata)
        {
            writer.AddMetadata(item.Key, item.Key == "hidden" ? "16" : item.Value);
        }

        foreach (SafetensorsTensorInfo tensor in original.Tensors)
        {
            if (tensor.DType == SafetensorsDType.F32)
            {
                writer.AddFloat32(tensor.Name, tensor.Shape, original.ReadFloat32(tensor.Name));
            }
            else
            {
                writer.AddInt64(tensor.Name, tensor.Shape, original.ReadInt64(tensor.Name));
            }
        }

        string reshaped = temp.File("reshaped.safetensors", "");
        writer.WriteTo(reshaped);

        foreach (string command in (string[])["train", "sample", "gradflow"])
        {
            string option = command == "train" ? "--resume" : "--model";
            string[] extra = command == "sample" ? [] : ["--text", text, "--out", temp.Path];
            CliHarness.Run([command, option, truncated, .. extra]).AssertError(FastRnnCli.Failure, "truncated.safetensors", "truncated");
            CliHarness.Run([command, option, garbage, .. extra]).AssertError(FastRnnCli.Failure, "garbage.safetensors", "Invalid safetensors file");
            CliHarness.Run([command, option, s_parityModel, .. extra]).AssertError(FastRnnCli.Failure, "not a `fastrnn train` checkpoint");
            CliHarness.Run([command, option, reshaped, .. extra]).AssertError(FastRnnCli.Failure, "reshaped.safetensors", "has shape [32, 8] in the file, the model expects [64, 16]");
        }
    }

    [Fact]
    public void Run_reports_malformed_files_in_one_line_with_exit_code_1()
    {
        using var temp = new TempDirectory();
        string garbage = temp.File("garbage.safetensors", "\u0010\0\0\0\0\0\0\0{not json}      ");
        string result = Path.Combine(temp.Path, "r.safetensors");
        CliHarness.Run("run", "--model", garbage, "--input", s_parityInput, "--out", result).AssertError(FastRnnCli.Failure, "garbage.safetensors");
        CliHarness.Run("run", "--model", s_parityInput, "--input", s_parityInput, "--out", result).AssertError(FastRnnCli.Failure, "no recurrent weights");
        CliHarness.Run("run", "--model", s_parityModel, "--input", s_parityModel, "--out", result).AssertError(FastRnnCli.Failure, "unknown input tensor");
        Assert.False(File.Exists(result));
    }
}
