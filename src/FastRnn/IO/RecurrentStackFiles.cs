// Legend: I input size, H hidden size, G gates (Elman 1, GRU 3, LSTM 4), L layers, D directions.
using System.Globalization;
using FastRnn.Layers;

namespace FastRnn.IO;

/// <summary>What a PyTorch recurrent module's weights say about it.</summary>
/// <param name="Cell">From G = rows of <c>weight_hh_l0</c> / H: 1 Elman, 3 GRU, 4 LSTM.</param>
/// <param name="InputSize">I, columns of <c>weight_ih_l0</c>.</param>
/// <param name="HiddenSize">H, columns of <c>weight_hh_l0</c>.</param>
/// <param name="LayerCount">L, from the largest <c>_l{k}</c>.</param>
/// <param name="Bidirectional">Whether <c>_reverse</c> tensors exist.</param>
/// <param name="Prefix">What precedes <c>weight_ih_l0</c> in the names (e.g. <c>rnn.</c> for a submodule), often empty.</param>
public sealed record RecurrentStackDescription(CellKind Cell, int InputSize, int HiddenSize, int LayerCount, bool Bidirectional, string Prefix);

/// <summary>
/// Builds a <see cref="RecurrentStack"/> from a PyTorch <c>nn.RNN</c> / <c>nn.LSTM</c> / <c>nn.GRU</c> state dict saved as
/// safetensors: the cell, sizes, layer and direction counts follow from the tensor names and shapes, and anything
/// ambiguous is an error rather than a guess.
/// </summary>
public static class RecurrentStackFiles
{
    /// <summary>The metadata key that names an Elman model's nonlinearity (<c>tanh</c>, <c>relu</c>, <c>sigmoid</c>, <c>leaky_relu</c>).</summary>
    public const string NonlinearityKey = "nonlinearity";

    private static readonly string[] s_parameterKinds = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];

    /// <summary>Infers the module's shape from the tensor names and shapes.</summary>
    /// <param name="file">A state dict.</param>
    /// <exception cref="InvalidDataException">No recurrent weights, several modules, a missing or misshapen tensor, or an
    /// unsupported variant (projections, no biases).</exception>
    public static RecurrentStackDescription Describe(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        const string anchor = "weight_ih_l0";
        var prefixes = new List<string>();
        foreach (string name in file.Names)
        {
            if (name.EndsWith(anchor, StringComparison.Ordinal))
            {
                prefixes.Add(name[..^anchor.Length]);
            }
        }

        if (prefixes.Count == 0)
        {
            throw new InvalidDataException($"no recurrent weights: expected a tensor named weight_ih_l0 (PyTorch's nn.RNN/LSTM/GRU state dict), found {Names(file)}");
        }

        if (prefixes.Count > 1)
        {
            throw new InvalidDataException($"several recurrent modules in one file (prefixes {string.Join(", ", prefixes.Select(p => $"'{p}'"))}); keep one");
        }

        string prefix = prefixes[0];
        SafetensorsTensorInfo weightIh = Require(file, prefix + anchor, 2);
        SafetensorsTensorInfo weightHh = Require(file, prefix + "weight_hh_l0", 2);
        int hidden = weightHh.Shape[1], rows = weightHh.Shape[0], input = weightIh.Shape[1];
        if (hidden == 0 || rows % hidden != 0 || rows / hidden is not (1 or 3 or 4))
        {
            throw new InvalidDataException($"{prefix}weight_hh_l0 has shape {weightHh.ShapeText}: expected [G*H, H] with G = 1 (RNN), 3 (GRU) or 4 (LSTM)");
        }

        CellKind cell = (rows / hidden) switch { 4 => CellKind.Lstm, 3 => CellKind.Gru, _ => CellKind.Elman };
        bool bidirectional = file.Contains(prefix + anchor + "_reverse");
        int layers = 0;
        while (file.Contains(prefix + "weight_ih_l" + layers.ToString(CultureInfo.InvariantCulture)))
        {
            layers++;
        }

        // Every expected tensor with its shape; nothing else under the prefix.
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (int l = 0; l < layers; l++)
        {
            int layerInput = l == 0 ? input : (bidirectional ? 2 : 1) * hidden;
            for (int d = 0; d < (bidirectional ? 2 : 1); d++)
            {
                string suffix = "_l" + l.ToString(CultureInfo.InvariantCulture) + (d == 1 ? "_reverse" : string.Empty);
                foreach (string kind in s_parameterKinds)
                {
                    string name = prefix + kind + suffix;
                    expected.Add(name);
                    SafetensorsTensorInfo info = Require(file, name, kind.StartsWith("weight", StringComparison.Ordinal) ? 2 : 1);
                    int columns = kind == "weight_ih" ? layerInput : hidden;
                    bool ok = info.Shape[0] == rows && (info.Shape.Length == 1 || info.Shape[1] == columns);
                    if (!ok)
                    {
                        string want = info.Shape.Length == 1 ? $"[{rows}]" : $"[{rows}, {columns}]";
                        throw new InvalidDataException($"tensor '{name}' has shape {info.ShapeText}, expected {want} for a {cell} with I={input}, H={hidden}");
                    }
                }
            }
        }

        foreach (string name in file.Names)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal) && !expected.Contains(name) && IsRecurrentName(name[prefix.Length..]))
            {
                string why = name.Contains("weight_hr", StringComparison.Ordinal)
                    ? " (LSTM projections, proj_size > 0, are not supported)"
                    : string.Empty;
                throw new InvalidDataException($"unexpected tensor '{name}' for a {layers}-layer{(bidirectional ? " bidirectional" : string.Empty)} {cell}{why}");
            }
        }

        return new RecurrentStackDescription(cell, input, hidden, layers, bidirectional, prefix);
    }

    /// <summary>Builds the stack the file describes and loads its weights.</summary>
    /// <param name="file">A state dict.</param>
    /// <param name="store">Where the parameters go (the stack adds them without a prefix).</param>
    /// <param name="nonlinearity">For an Elman model: its nonlinearity, unless the file's metadata names it; must agree
    /// when both do. Must be null for LSTM and GRU.</param>
    /// <exception cref="InvalidDataException">The file does not describe one supported module, or the nonlinearity is
    /// missing or contradictory.</exception>
    public static RecurrentStack Load(SafetensorsFile file, ParameterStore store, Nonlinearity? nonlinearity = null)
        => Load(file, store, nonlinearity, out _);

    internal static RecurrentStack Load(SafetensorsFile file, ParameterStore store, Nonlinearity? nonlinearity, out RecurrentStackDescription description)
    {
        ArgumentNullException.ThrowIfNull(store);
        description = Describe(file);
        Nonlinearity resolved = ResolveNonlinearity(description.Cell, nonlinearity, file.Metadata);
        var stack = new RecurrentStack(
            store, description.Cell, description.InputSize, description.HiddenSize, description.LayerCount, description.Bidirectional, resolved);
        Safetensors.LoadInto(store, file, new SafetensorsLoadOptions { Prefix = description.Prefix });
        return stack;
    }

    /// <summary>The name FastRnn writes to <c>__metadata__</c> for <paramref name="nonlinearity"/>: PyTorch's spelling.</summary>
    /// <param name="nonlinearity">The nonlinearity.</param>
    public static string MetadataName(Nonlinearity nonlinearity) => nonlinearity switch
    {
        Nonlinearity.Relu => "relu",
        Nonlinearity.Sigmoid => "sigmoid",
        Nonlinearity.LeakyRelu => "leaky_relu",
        _ => "tanh",
    };

    private static Nonlinearity ResolveNonlinearity(CellKind cell, Nonlinearity? given, IReadOnlyDictionary<string, string> metadata)
    {
        bool inFile = metadata.TryGetValue(NonlinearityKey, out string? text);
        if (cell != CellKind.Elman)
        {
            if (given is not null)
            {
                throw new InvalidDataException($"a nonlinearity was given but the file holds a {cell}, which has none");
            }

            return Nonlinearity.Tanh;
        }

        Nonlinearity? fromFile = null;
        if (inFile)
        {
            fromFile = text switch
            {
                "tanh" => Nonlinearity.Tanh,
                "relu" => Nonlinearity.Relu,
                "sigmoid" => Nonlinearity.Sigmoid,
                "leaky_relu" => Nonlinearity.LeakyRelu,
                _ => throw new InvalidDataException($"__metadata__ {NonlinearityKey} is '{text}'; expected tanh, relu, sigmoid or leaky_relu"),
            };
        }

        if (given is not null && fromFile is not null && given != fromFile)
        {
            throw new InvalidDataException($"the nonlinearity given ({MetadataName(given.Value)}) contradicts the file's __metadata__ ({text})");
        }

        return given ?? fromFile ?? throw new InvalidDataException(
            $"an Elman (nn.RNN) model needs its nonlinearity: pass it (tanh or relu) or store it in __metadata__ as \"{NonlinearityKey}\"");
    }

    private static bool IsRecurrentName(string name) =>
        name.StartsWith("weight_", StringComparison.Ordinal) || name.StartsWith("bias_", StringComparison.Ordinal);

    private static SafetensorsTensorInfo Require(SafetensorsFile file, string name, int rank)
    {
        if (!file.TryGetInfo(name, out SafetensorsTensorInfo? info))
        {
            string hint = name.Contains("bias", StringComparison.Ordinal) ? " (modules without biases, bias=False, are not supported)" : string.Empty;
            throw new InvalidDataException($"missing tensor '{name}'{hint}");
        }

        if (info.Shape.Length != rank)
        {
            throw new InvalidDataException($"tensor '{name}' has shape {info.ShapeText}, expected {rank} dimension(s)");
        }

        return info;
    }

    private static string Names(SafetensorsFile file) =>
        file.Names.Count == 0 ? "no tensors" : string.Join(", ", file.Names.Take(8)) + (file.Names.Count > 8 ? ", ..." : string.Empty);
}
