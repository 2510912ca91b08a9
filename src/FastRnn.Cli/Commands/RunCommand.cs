// `fastrnn run`: a PyTorch nn.RNN/LSTM/GRU state dict and inputs in, FastRnn's outputs (and gradients, when the input
// file holds upstream gradients) out, all as safetensors; the command line face of FastRnn.IO.ParityRun. Pair it with
// tests/parity/check_roundtrip.py to compare against PyTorch on your own weights.
using System.CommandLine;
using System.Globalization;
using FastRnn.Cli.CharModel;
using FastRnn.IO;
using Spectre.Console;

namespace FastRnn.Cli.Commands;

/// <summary>Runs a PyTorch recurrent module's weights through FastRnn on inputs from a file.</summary>
internal sealed class RunCommand() : CliCommand("run", "Run a PyTorch RNN/LSTM/GRU state dict on inputs from a safetensors file; --out R.safetensors (or DIR/result.safetensors)")
{
    /// <summary>The file name used when --out is a directory.</summary>
    internal const string DefaultFileName = "result.safetensors";

    private readonly Option<FileInfo?> _model = ModelOptions.ExistingFile("--model", "State dict of one nn.RNN/nn.LSTM/nn.GRU (PyTorch names, any prefix)", required: true);
    private readonly Option<FileInfo?> _input = ModelOptions.ExistingFile(
        "--input", "Tensors x [T, B, I]; optional lengths [B], h0, c0 [L*D, B, H]; for gradients d_output, d_h_n, d_c_n", required: true);

    private readonly Option<string?> _nonlinearity = new("--nonlinearity")
    {
        Description = "An Elman model's nonlinearity when the file's metadata does not name it (tanh, relu, sigmoid, leaky_relu)",
        HelpName = "NAME",
    };

    protected override IReadOnlyList<Symbol> Symbols => [_model, _input, _nonlinearity];

    protected internal override int Execute(ParseResult parseResult, CommandContext context)
    {
        Nonlinearity? nonlinearity = parseResult.GetValue(_nonlinearity) switch
        {
            null => null,
            "tanh" => Nonlinearity.Tanh,
            "relu" => Nonlinearity.Relu,
            "sigmoid" => Nonlinearity.Sigmoid,
            "leaky_relu" => Nonlinearity.LeakyRelu,
            string other => throw new UsageException($"--nonlinearity: unknown nonlinearity '{other}' (expected tanh, relu, sigmoid or leaky_relu)"),
        };

        string modelPath = parseResult.GetValue(_model)!.FullName, inputPath = parseResult.GetValue(_input)!.FullName;
        SafetensorsFile model = SafetensorsFile.Read(modelPath);
        SafetensorsFile input = SafetensorsFile.Read(inputPath);
        RecurrentStackDescription description = WithPath(modelPath, () => RecurrentStackFiles.Describe(model));
        SafetensorsWriter result = ParityRun.Run(model, input, nonlinearity); // its messages name the tensor at fault

        // --out ending in .safetensors names the file; anything else is a directory (the common option's meaning).
        string outArgument = context.Settings.OutputDirectory;
        string path;
        if (outArgument.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            path = outArgument;
            string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }
        }
        else
        {
            path = context.OutputPath(DefaultFileName);
        }

        result.WriteTo(path);
        SafetensorsFile written = SafetensorsFile.Read(path);
        context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model: {description.LayerCount}-layer{(description.Bidirectional ? " bidirectional" : "")} {description.Cell}, I={description.InputSize}, H={description.HiddenSize}{(description.Prefix.Length > 0 ? $", prefix '{description.Prefix}'" : "")}"));
        int gradients = written.Names.Count(name => name.StartsWith("grad.", StringComparison.Ordinal));
        string results = string.Join(", ", written.Tensors.Where(t => !t.Name.StartsWith("grad.", StringComparison.Ordinal)).Select(t => t.Name + t.ShapeText));
        context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {path}: {results}{(gradients > 0 ? $" and {gradients} gradients (grad.*)" : " (no upstream gradients in the input, so no backward pass)")}"));
        return FastRnnCli.Success;
    }

    // Describe's messages name the tensor but not the file; with two files in play, the path matters.
    private static T WithPath<T>(string path, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }
}
