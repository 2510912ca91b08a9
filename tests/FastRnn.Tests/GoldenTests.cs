// Worked examples from the seeds (shared/seeds/003 and 004). The seeds round their intermediates, so values are
// compared within 1e-3 absolute of the printed numbers; the exact values are checked tighter where the issue gives them.
using FastRnn.Layers;
using FastRnn.Training;

namespace FastRnn.Tests;

public class GoldenTests
{
    [Fact]
    public void Seed003_single_neuron_forward_backward_and_sgd_step()
    {
        // One input, one tanh unit, linear output, no biases: W_x = 0.5, W_h = 0.8, W_y = 0.3, x = 1, y = 0.6, h0 = 0,
        // L = 1/2 (y - y_hat)^2, which is half of PyTorch's MSE: loss scale 0.5.
        var store = new ParameterStore();
        var rnn = new ElmanLayer(store, inputSize: 1, hiddenSize: 1, Nonlinearity.Tanh);
        var head = new LinearHead(store, inputSize: 1, outputSize: 1, hasBias: false);
        rnn.WeightIh.Values[0] = 0.5f;
        rnn.WeightHh.Values[0] = 0.8f;
        rnn.BiasIh.Values.Clear();
        rnn.BiasHh.Values.Clear();
        head.Weight.Values[0] = 0.3f;

        RecurrentWorkspace workspace = rnn.CreateWorkspace(maxSequenceLength: 1, maxBatchSize: 1);
        float[] x = [1f], h = new float[1], yHat = new float[1], dYHat = new float[1], dH = new float[1];
        rnn.Forward(x, sequenceLength: 1, batchSize: 1, h, workspace, initialHidden: [0f]);
        head.Forward(h, rows: 1, yHat);
        float loss = Losses.MeanSquaredError(yHat, [0.6f], width: 1, dYHat, scale: 0.5f);
        store.ZeroGradients();
        head.Backward(h, dYHat, rows: 1, dH);
        rnn.Backward(dH, workspace);

        Assert.Equal(0.462, h[0], 1e-3);
        Assert.Equal(0.1386, yHat[0], 1e-3);
        Assert.Equal(0.1065, loss, 1e-3);
        Assert.Equal(0.10643, loss, 1e-5);
        Assert.Equal(-0.213, head.Weight.Gradient[0], 1e-3);
        Assert.Equal(-0.1088, rnn.WeightIh.Gradient[0], 1e-3);
        Assert.Equal(-0.10885, rnn.WeightIh.Gradient[0], 1e-5);
        Assert.Equal(0.0, rnn.WeightHh.Gradient[0], 1e-7);

        new Sgd(learningRate: 0.1f).Step(store);
        Assert.Equal(0.51088, rnn.WeightIh.Values[0], 1e-3);
        Assert.Equal(0.8, rnn.WeightHh.Values[0], 1e-7);
        Assert.Equal(0.3213, head.Weight.Values[0], 1e-3);
    }

    private static ElmanLayer Seed004Layer(Nonlinearity nonlinearity)
    {
        // W: [3, 4], U: [3, 3], b: [3] as printed in the seed (b is b_ih; b_hh = 0).
        var rnn = new ElmanLayer(new ParameterStore(), inputSize: 4, hiddenSize: 3, nonlinearity);
        float[] w = [0.1f, 0.2f, 0.0f, -0.1f, -0.3f, 0.0f, 0.2f, 0.1f, 0.05f, -0.2f, 0.1f, 0.2f];
        float[] u = [0.1f, 0.0f, 0.2f, 0.0f, 0.3f, -0.1f, -0.2f, 0.1f, 0.0f];
        w.CopyTo(rnn.WeightIh.Values);
        u.CopyTo(rnn.WeightHh.Values);
        float[] b = [0.01f, -0.02f, 0.03f];
        b.CopyTo(rnn.BiasIh.Values);
        rnn.BiasHh.Values.Clear();
        return rnn;
    }

    // x: [T=2, B=1, I=4], the embeddings of "this" and "movie".
    private static readonly float[] s_seed004Inputs = [0.2f, -0.1f, 0.4f, 0.6f, 0.7f, 0.5f, -0.3f, 0.1f];

    [Fact]
    public void Seed004_pre_activation_at_step_one()
    {
        // The identity nonlinearity exposes z_1 = W x_1 + U h_0 + b directly.
        ElmanLayer rnn = Seed004Layer(Nonlinearity.Identity);
        float[] output = new float[3];
        rnn.Forward(s_seed004Inputs.AsSpan(0, 4), 1, 1, output, rnn.CreateWorkspace(1, 1));
        Assert.Equal(-0.05, output[0], 1e-3);
        Assert.Equal(0.06, output[1], 1e-3);
        Assert.Equal(0.22, output[2], 1e-3);
    }

    [Fact]
    public void Seed004_hidden_state_at_step_two()
    {
        ElmanLayer rnn = Seed004Layer(Nonlinearity.Tanh);
        float[] output = new float[2 * 3], hN = new float[3];
        rnn.Forward(s_seed004Inputs, 2, 1, output, rnn.CreateWorkspace(2, 1), finalHidden: hN);
        double[] printed = [0.206, -0.277, -0.029];
        double[] exact = [0.20535, -0.27630, -0.02901];
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(printed[k], hN[k], 1e-3);
            Assert.Equal(exact[k], hN[k], 1e-5);
            Assert.Equal(hN[k], output[3 + k]);
        }
    }
}
