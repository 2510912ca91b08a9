// Legend: T time steps, B batch, I input size, H hidden size, D directions, L layers.
// x: [T, B, I]  lengths: [B]  h0, c0, h_n, c_n: [L*D, B, H]  output: [T, B, D*H]
using FastRnn.Layers;

namespace FastRnn.IO;

/// <summary>
/// Runs a PyTorch recurrent module's weights through FastRnn on inputs from a safetensors file and collects every
/// result under PyTorch-style names, so a user can diff FastRnn against their own model (<c>fastrnn run</c>).
/// </summary>
/// <remarks>
/// Input tensors: <c>x [T, B, I]</c>; optional <c>lengths [B]</c> (I32 or I64), <c>h0</c>, <c>c0</c> (<c>[L*D, B, H]</c>),
/// and for a backward pass <c>d_output [T, B, D*H]</c>, <c>d_h_n</c>, <c>d_c_n</c>. Results: <c>output</c>, <c>h_n</c>
/// (<c>c_n</c>), and when any upstream gradient is given, <c>grad.&lt;parameter&gt;</c> for every weight,
/// <c>grad.x</c>, <c>grad.h0</c> (<c>grad.c0</c>), all F32. The backward pass is of
/// <c>sum(d_output * output) + sum(d_h_n * h_n) + sum(d_c_n * c_n)</c>.
/// </remarks>
public static class ParityRun
{
    private static readonly string[] s_inputNames = ["x", "lengths", "h0", "c0", "d_output", "d_h_n", "d_c_n"];

    /// <summary>Runs forward (and backward when asked) and returns the results ready to write.</summary>
    /// <param name="model">A state dict of one <c>nn.RNN</c>/<c>nn.LSTM</c>/<c>nn.GRU</c>.</param>
    /// <param name="input">The input tensors described above.</param>
    /// <param name="nonlinearity">The Elman nonlinearity (see <see cref="RecurrentStackFiles.Load(SafetensorsFile, ParameterStore, Nonlinearity?)"/>).</param>
    /// <returns>The results, with metadata naming the model's shape.</returns>
    /// <exception cref="InvalidDataException">A tensor is missing, unknown, of the wrong dtype or shape, or a length is out of range.</exception>
    public static SafetensorsWriter Run(SafetensorsFile model, SafetensorsFile input, Nonlinearity? nonlinearity = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        var store = new ParameterStore();
        RecurrentStack stack = RecurrentStackFiles.Load(model, store, nonlinearity, out RecurrentStackDescription description);
        foreach (string name in input.Names)
        {
            if (Array.IndexOf(s_inputNames, name) < 0)
            {
                throw new InvalidDataException($"unknown input tensor '{name}'; expected {string.Join(", ", s_inputNames)}");
            }
        }

        SafetensorsTensorInfo xInfo = input.TryGetInfo("x", out SafetensorsTensorInfo? found)
            ? found
            : throw new InvalidDataException("the input file has no tensor 'x' ([T, B, I])");
        if (xInfo.Shape.Length != 3 || xInfo.Shape[2] != stack.InputSize)
        {
            throw new InvalidDataException($"x has shape {xInfo.ShapeText}, expected [T, B, I={stack.InputSize}]");
        }

        int T = xInfo.Shape[0], B = xInfo.Shape[1], H = stack.HiddenSize, DH = stack.OutputSize;
        int states = stack.LayerCount * stack.DirectionCount;
        bool lstm = stack.HasCellState;
        if (!lstm && (input.Contains("c0") || input.Contains("d_c_n")))
        {
            throw new InvalidDataException($"c0 and d_c_n apply to an LSTM; this model is a {stack.Cell}");
        }

        float[] x = Read(input, "x", [T, B, stack.InputSize])!;
        int[] lengths = ReadLengths(input, B, T);
        float[]? h0 = Read(input, "h0", [states, B, H]);
        float[]? c0 = Read(input, "c0", [states, B, H]);
        float[]? dOutput = Read(input, "d_output", [T, B, DH]);
        float[]? dhN = Read(input, "d_h_n", [states, B, H]);
        float[]? dcN = Read(input, "d_c_n", [states, B, H]);

        StackWorkspace workspace = stack.CreateWorkspace(Math.Max(T, 1), Math.Max(B, 1));
        float[] output = new float[T * B * DH], hN = new float[states * B * H], cN = lstm ? new float[states * B * H] : [];
        stack.Forward(x, T, B, output, workspace, lengths, h0, c0, hN, cN);

        var writer = new SafetensorsWriter()
            .AddMetadata("format", "pt")
            .AddMetadata("producer", "FastRnn")
            .AddMetadata("cell", stack.Cell.ToString())
            .AddFloat32("output", [T, B, DH], output)
            .AddFloat32("h_n", [states, B, H], hN);
        if (lstm)
        {
            writer.AddFloat32("c_n", [states, B, H], cN);
        }

        if (dOutput is null && dhN is null && dcN is null)
        {
            return writer;
        }

        float[] dx = new float[T * B * stack.InputSize], dh0 = new float[states * B * H], dc0 = lstm ? new float[states * B * H] : [];
        stack.Backward(dOutput, workspace, dx, dh0, dc0, dhN, dcN);
        // Gradients carry the file's names (with its prefix), so they line up with the user's state dict.
        string prefix = description.Prefix;
        foreach (ParameterTensor parameter in store.Tensors)
        {
            writer.AddFloat32("grad." + prefix + parameter.Name, parameter.Shape, parameter.Gradient);
        }

        writer.AddFloat32("grad.x", [T, B, stack.InputSize], dx).AddFloat32("grad.h0", [states, B, H], dh0);
        if (lstm)
        {
            writer.AddFloat32("grad.c0", [states, B, H], dc0);
        }

        return writer;
    }

    private static float[]? Read(SafetensorsFile file, string name, ReadOnlySpan<int> shape)
    {
        if (!file.TryGetInfo(name, out SafetensorsTensorInfo? info))
        {
            return null;
        }

        if (!info.Shape.SequenceEqual(shape))
        {
            throw new InvalidDataException($"{name} has shape {info.ShapeText}, expected [{string.Join(", ", shape.ToArray())}]");
        }

        if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.F64))
        {
            throw new InvalidDataException($"{name} is {info.DType.HeaderName()}, expected F32 or F64");
        }

        return file.ReadAsFloat32(name);
    }

    private static int[] ReadLengths(SafetensorsFile file, int B, int T)
    {
        if (!file.TryGetInfo("lengths", out SafetensorsTensorInfo? info))
        {
            return [];
        }

        if (info.Shape.Length != 1 || info.Shape[0] != B)
        {
            throw new InvalidDataException($"lengths has shape {info.ShapeText}, expected [B={B}]");
        }

        int[] lengths = info.DType switch
        {
            SafetensorsDType.I32 => file.ReadInt32("lengths"),
            SafetensorsDType.I64 => Array.ConvertAll(file.ReadInt64("lengths"), v => v is < 0 or > int.MaxValue ? -1 : (int)v),
            _ => throw new InvalidDataException($"lengths is {info.DType.HeaderName()}, expected I32 or I64"),
        };
        for (int b = 0; b < B; b++)
        {
            if ((uint)lengths[b] > (uint)T)
            {
                throw new InvalidDataException($"lengths[{b}] must be in 0..T={T}, was {lengths[b]}");
            }
        }

        return lengths;
    }
}
