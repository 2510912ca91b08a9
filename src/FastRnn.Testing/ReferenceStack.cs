// Legend: T time steps, B batch, I input size, H hidden size, D directions, L layers.
// Layer l output: [T, B, D*H], direction d in columns d*H..d*H+H; states h0, h_n, c0, c_n: [L*D, B, H], row l*D + d.
// Layer l+1 input = mask_l * output_l (dropout; mask = 1 without it).
namespace FastRnn.Testing;

/// <summary>The result of <see cref="ReferenceStack.Run"/>: outputs, final states and every gradient.</summary>
/// <param name="Output">The last layer's output, <c>[T, B, D*H]</c>.</param>
/// <param name="HN"><c>h_n</c>, <c>[L*D, B, H]</c>.</param>
/// <param name="CN"><c>c_n</c>, <c>[L*D, B, H]</c> (LSTM), else <see langword="null"/>.</param>
/// <param name="DX">dL/dx, <c>[T, B, I]</c>.</param>
/// <param name="DH0">dL/dh0, <c>[L*D, B, H]</c>.</param>
/// <param name="DC0">dL/dc0, <c>[L*D, B, H]</c> (LSTM), else <see langword="null"/>.</param>
/// <param name="Layers">Per layer and direction (index l*D + d), its reference gradients (<c>DWeightIh</c> etc.).</param>
public sealed record ReferenceStackResult(
    double[] Output, double[] HN, double[]? CN, double[] DX, double[] DH0, double[]? DC0, IReadOnlyList<ReferenceRnnGradients> Layers);

/// <summary>
/// The double-precision reference of a multi-layer, optionally bidirectional recurrent stack (PyTorch's <c>nn.RNN</c>,
/// <c>nn.LSTM</c>, <c>nn.GRU</c> with <c>num_layers</c> and <c>bidirectional</c>), built by chaining the single-layer
/// references: outputs of both directions are concatenated, gradients of both directions into a shared input are summed.
/// </summary>
public static class ReferenceStack
{
    /// <summary>Runs forward and backward.</summary>
    /// <param name="layers">Per layer and direction (index l*D + d), the parameters; all of one cell type.</param>
    /// <param name="directionCount">D.</param>
    /// <param name="steps">T.</param>
    /// <param name="batch">B.</param>
    /// <param name="x">The input, <c>[T, B, I]</c>.</param>
    /// <param name="lengths">The lengths, <c>[B]</c>, or <see langword="null"/> for all T.</param>
    /// <param name="h0"><c>[L*D, B, H]</c> or <see langword="null"/> for zeros.</param>
    /// <param name="c0"><c>[L*D, B, H]</c> (LSTM) or <see langword="null"/> for zeros.</param>
    /// <param name="dropoutMasks">Per boundary l = 0..L-2, the multiplier applied to layer l's output <c>[T, B, D*H]</c>, or <see langword="null"/>.</param>
    /// <param name="dOutput">dL/d output, <c>[T, B, D*H]</c>.</param>
    /// <param name="dhN">dL/dh_n, <c>[L*D, B, H]</c>, or <see langword="null"/>.</param>
    /// <param name="dcN">dL/dc_n (LSTM), or <see langword="null"/>.</param>
    /// <returns>Everything the stack computes.</returns>
    public static ReferenceStackResult Run(
        IReadOnlyList<ReferenceRnnParameters> layers, int directionCount, int steps, int batch, double[] x, int[]? lengths,
        double[]? h0, double[]? c0, double[][]? dropoutMasks, double[] dOutput, double[]? dhN, double[]? dcN)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(dOutput);
        int D = directionCount, L = layers.Count / D, T = steps, B = batch, H = layers[0].HiddenSize;
        if (D is not (1 or 2) || layers.Count != L * D || L == 0)
            throw new ArgumentException($"expected L*D parameter sets with D = {D}, got {layers.Count}.", nameof(layers));
        bool lstm = layers[0] is ReferenceLstmParameters;
        int state = B * H, rows = T * B;

        // Forward, layer by layer.
        var forwards = new ReferenceRnnForward[L * D];
        var hN = new double[L * D * state];
        double[]? cN = lstm ? new double[L * D * state] : null;
        double[] input = x;
        for (int l = 0; l < L; l++)
        {
            var output = new double[rows * D * H];
            for (int d = 0; d < D; d++)
            {
                int k = (l * D) + d;
                ReferenceRnnForward f = Forward(layers[k], T, B, input, Slice(h0, k, state), Slice(c0, k, state), lengths, d == 1);
                forwards[k] = f;
                for (int r = 0; r < rows; r++)
                    Array.Copy(f.Outputs, r * H, output, ((r * D) + d) * H, H);
                Array.Copy(f.HN, 0, hN, k * state, state);
                if (f is ReferenceLstmForward fl)
                    Array.Copy(fl.CN, 0, cN!, k * state, state);
            }
            if (l < L - 1 && dropoutMasks is not null)
            {
                for (int i = 0; i < output.Length; i++)
                    output[i] *= dropoutMasks[l][i];
            }
            input = output;
        }
        double[] finalOutput = input;

        // Backward, top layer first.
        var gradients = new ReferenceRnnGradients[L * D];
        var dh0 = new double[L * D * state];
        double[]? dc0 = lstm ? new double[L * D * state] : null;
        double[] upper = dOutput;
        double[] dx = [];
        for (int l = L - 1; l >= 0; l--)
        {
            int inputSize = layers[l * D].InputSize;
            dx = new double[rows * inputSize];
            for (int d = 0; d < D; d++)
            {
                int k = (l * D) + d;
                var dDirection = new double[rows * H];
                for (int r = 0; r < rows; r++)
                    Array.Copy(upper, ((r * D) + d) * H, dDirection, r * H, H);
                ReferenceRnnGradients g = Backward(forwards[k], dDirection, Slice(dhN, k, state), Slice(dcN, k, state));
                gradients[k] = g;
                for (int i = 0; i < dx.Length; i++)
                    dx[i] += g.DX[i];
                Array.Copy(g.DH0, 0, dh0, k * state, state);
                if (g is ReferenceLstmGradients gl)
                    Array.Copy(gl.DC0, 0, dc0!, k * state, state);
            }
            if (l > 0 && dropoutMasks is not null)
            {
                for (int i = 0; i < dx.Length; i++)
                    dx[i] *= dropoutMasks[l - 1][i];
            }
            upper = dx;
        }
        return new ReferenceStackResult(finalOutput, hN, cN, dx, dh0, dc0, gradients);
    }

    private static ReferenceRnnForward Forward(ReferenceRnnParameters p, int T, int B, double[] x, double[]? h0, double[]? c0, int[]? lengths, bool reverse) => p switch
    {
        ReferenceLstmParameters lstm => ReferenceLstm.Forward(lstm, T, B, x, h0, c0, lengths, reverse),
        ReferenceGruParameters gru => ReferenceGru.Forward(gru, T, B, x, h0, lengths, reverse),
        ReferenceElmanParameters elman => ReferenceElman.Forward(elman, T, B, x, h0, lengths, reverse),
        _ => throw new NotSupportedException(p.GetType().Name),
    };

    private static ReferenceRnnGradients Backward(ReferenceRnnForward f, double[] dOutput, double[]? dhN, double[]? dcN) => f switch
    {
        ReferenceLstmForward lstm => ReferenceLstm.Backward(lstm, dOutput, dhN, dcN),
        ReferenceGruForward gru => ReferenceGru.Backward(gru, dOutput, dhN),
        ReferenceElmanForward elman => ReferenceElman.Backward(elman, dOutput, dhN),
        _ => throw new NotSupportedException(f.GetType().Name),
    };

    private static double[]? Slice(double[]? states, int k, int stateSize) =>
        states is null ? null : states[(k * stateSize)..((k + 1) * stateSize)];
}
