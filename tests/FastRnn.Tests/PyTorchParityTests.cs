// FastRnn against PyTorch 1.13 (float64 data generated once by tests/parity/make_parity.py): the same weights under
// the same names give the same outputs and gradients, |a - b| <= 1e-5 * max(1, |b|). This proves the layouts are PyTorch's.
using FastRnn.Layers;

namespace FastRnn.Tests;

public class PyTorchParityTests
{
    private static RecurrentLayer CreateLayer(string caseName, ParameterStore store, int inputSize, int hiddenSize, bool reverse) => caseName switch
    {
        _ when caseName.StartsWith("lstm", StringComparison.Ordinal) => new LstmLayer(store, inputSize, hiddenSize, reverse: reverse),
        _ when caseName.StartsWith("gru", StringComparison.Ordinal) => new GruLayer(store, inputSize, hiddenSize, reverse: reverse),
        _ when caseName.StartsWith("elman_relu", StringComparison.Ordinal) => new ElmanLayer(store, inputSize, hiddenSize, Nonlinearity.Relu, reverse: reverse),
        _ => new ElmanLayer(store, inputSize, hiddenSize, Nonlinearity.Tanh, reverse: reverse),
    };

    [Theory]
    [InlineData("elman_tanh")]
    [InlineData("elman_relu")]
    [InlineData("elman_tanh_bidir")]
    [InlineData("elman_relu_bidir")]
    [InlineData("lstm")]
    [InlineData("lstm_bidir")]
    [InlineData("gru")]
    [InlineData("gru_bidir")]
    public void Layer_matches_PyTorch(string caseName)
    {
        ParityData data = ParityData.Load(caseName);
        int[] xShape = data.Shape("x");
        int T = xShape[0], B = xShape[1], I = xShape[2];
        int directions = data.Shape("h0")[0], H = data.Shape("h0")[2];
        var store = new ParameterStore();
        float[] dX = new float[T * B * I];
        for (int d = 0; d < directions; d++)
        {
            // A bidirectional PyTorch layer is a forward and a reverse layer whose outputs are concatenated.
            RecurrentLayer layer = CreateLayer(caseName, store, I, H, reverse: d == 1);
            foreach (ParameterTensor tensor in (ParameterTensor[])[layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh])
            {
                data.Float(tensor.Name).CopyTo(tensor.Values);
            }

            RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
            float[] output = new float[T * B * H], hN = new float[B * H], cN = new float[B * H], dXd = new float[T * B * I], dh0 = new float[B * H], dc0 = new float[B * H];
            bool lstm = layer is LstmLayer;
            RnnHarness.Forward(layer, workspace, data.Float("x"), T, B, output, data.Direction("h0", d), lstm ? data.Direction("c0", d) : [], data.Ints("lengths"), hN, cN);
            RnnHarness.Backward(layer, workspace, data.Half("d_output", d, directions), dXd, dh0, dc0, data.Direction("d_h_n", d), lstm ? data.Direction("d_c_n", d) : []);

            data.AssertMatches(output, data.Half("output", d, directions), $"output (direction {d})");
            data.AssertMatches(hN, data.Direction("h_n", d), $"h_n (direction {d})");
            data.AssertMatches(dh0, data.Direction("grad.h0", d), $"grad.h0 (direction {d})");
            if (lstm)
            {
                data.AssertMatches(cN, data.Direction("c_n", d), $"c_n (direction {d})");
                data.AssertMatches(dc0, data.Direction("grad.c0", d), $"grad.c0 (direction {d})");
            }

            foreach (ParameterTensor tensor in (ParameterTensor[])[layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh])
            {
                data.AssertMatches(tensor.Gradient, "grad." + tensor.Name);
            }

            for (int i = 0; i < dX.Length; i++)
            {
                dX[i] += dXd[i];
            }
        }

        data.AssertMatches(dX, "grad.x");
    }
}
