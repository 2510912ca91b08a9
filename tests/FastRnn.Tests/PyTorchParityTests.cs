// FastRnn against PyTorch 1.13 (float64 data generated once by tests/parity/make_parity.py): the same weights under
// the same names give the same outputs and gradients, |a - b| <= 1e-5 * max(1, |b|). This proves the layouts are PyTorch's.
using FastRnn.Layers;

namespace FastRnn.Tests;

public class PyTorchParityTests
{
    private static ElmanLayer ElmanFrom(ParityData data, Nonlinearity nonlinearity, ParameterStore store, bool reverse)
    {
        int[] shape = data.Shape("weight_ih_l0");
        var layer = new ElmanLayer(store, shape[1], shape[0], nonlinearity, reverse: reverse);
        foreach (ParameterTensor tensor in (ParameterTensor[])[layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh])
        {
            data.Float(tensor.Name).CopyTo(tensor.Values);
        }

        return layer;
    }

    [Theory]
    [InlineData("elman_tanh", Nonlinearity.Tanh)]
    [InlineData("elman_relu", Nonlinearity.Relu)]
    [InlineData("elman_tanh_bidir", Nonlinearity.Tanh)]
    [InlineData("elman_relu_bidir", Nonlinearity.Relu)]
    public void Elman_matches_PyTorch(string caseName, Nonlinearity nonlinearity)
    {
        ParityData data = ParityData.Load(caseName);
        int[] xShape = data.Shape("x");
        int T = xShape[0], B = xShape[1], I = xShape[2];
        int directions = data.Shape("h0")[0];
        var store = new ParameterStore();
        float[] dX = new float[T * B * I];
        for (int d = 0; d < directions; d++)
        {
            ElmanLayer layer = ElmanFrom(data, nonlinearity, store, reverse: d == 1);
            int H = layer.HiddenSize;
            RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
            float[] output = new float[T * B * H], hN = new float[B * H], dXd = new float[T * B * I], dh0 = new float[B * H];
            layer.Forward(data.Float("x"), T, B, output, workspace, data.Direction("h0", d), data.Ints("lengths"), hN);
            layer.Backward(data.Half("d_output", d, directions), workspace, dXd, dh0, data.Direction("d_h_n", d));

            data.AssertMatches(output, data.Half("output", d, directions), $"output (direction {d})");
            data.AssertMatches(hN, data.Direction("h_n", d), $"h_n (direction {d})");
            data.AssertMatches(dh0, data.Direction("grad.h0", d), $"grad.h0 (direction {d})");
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

    [Theory]
    [InlineData("lstm")]
    [InlineData("lstm_bidir")]
    [InlineData("gru")]
    [InlineData("gru_bidir")]
    public void Lstm_and_gru_match_PyTorch(string caseName)
    {
        ParityData data = ParityData.Load(caseName);
        bool lstm = caseName.StartsWith("lstm", StringComparison.Ordinal);
        int[] xShape = data.Shape("x");
        int T = xShape[0], B = xShape[1], I = xShape[2];
        int directions = data.Shape("h0")[0];
        int H = data.Shape("h0")[2];
        var store = new ParameterStore();
        float[] dX = new float[T * B * I];
        for (int d = 0; d < directions; d++)
        {
            RecurrentLayer layer = lstm ? new LstmLayer(store, I, H, reverse: d == 1) : new GruLayer(store, I, H, reverse: d == 1);
            foreach (ParameterTensor tensor in (ParameterTensor[])[layer.WeightIh, layer.WeightHh, layer.BiasIh, layer.BiasHh])
            {
                data.Float(tensor.Name).CopyTo(tensor.Values);
            }

            RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
            float[] output = new float[T * B * H], hN = new float[B * H], cN = new float[B * H], dXd = new float[T * B * I], dh0 = new float[B * H], dc0 = new float[B * H];
            if (layer is LstmLayer lstmLayer)
            {
                lstmLayer.Forward(data.Float("x"), T, B, output, workspace, data.Direction("h0", d), data.Direction("c0", d), data.Ints("lengths"), hN, cN);
                lstmLayer.Backward(data.Half("d_output", d, directions), workspace, dXd, dh0, dc0, data.Direction("d_h_n", d), data.Direction("d_c_n", d));
                data.AssertMatches(cN, data.Direction("c_n", d), $"c_n (direction {d})");
                data.AssertMatches(dc0, data.Direction("grad.c0", d), $"grad.c0 (direction {d})");
            }
            else
            {
                layer.Forward(data.Float("x"), T, B, output, workspace, data.Direction("h0", d), data.Ints("lengths"), hN);
                layer.Backward(data.Half("d_output", d, directions), workspace, dXd, dh0, data.Direction("d_h_n", d));
            }

            data.AssertMatches(output, data.Half("output", d, directions), $"output (direction {d})");
            data.AssertMatches(hN, data.Direction("h_n", d), $"h_n (direction {d})");
            data.AssertMatches(dh0, data.Direction("grad.h0", d), $"grad.h0 (direction {d})");
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
