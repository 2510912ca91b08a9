// The README's embedding example, compiled and run as a test. ReadmeTests checks that README.md shows exactly
// the lines between the markers, so the documented code always builds and works.
using FastRnn.Layers;
using FastRnn.Training;

namespace FastRnn.Tests;

internal static class ReadmeExample
{
    public static (float First, float Last) Run()
    {
        float first = float.NaN;
        // begin-readme
        const int T = 12, B = 8, I = 3, H = 32, Classes = 2;
        var store = new ParameterStore();                     // all parameters in one flat buffer
        var rnn = new ElmanLayer(store, I, H, Nonlinearity.Tanh, seed: 1);
        var head = new LinearHead(store, H, Classes, seed: 2);
        var sgd = new Sgd(learningRate: 0.2f);
        RecurrentWorkspace workspace = rnn.CreateWorkspace(T, B);   // sized once: steps allocate nothing

        float[] x = new float[T * B * I], output = new float[T * B * H], hN = new float[B * H];
        float[] logits = new float[B * Classes], dLogits = new float[B * Classes], dhN = new float[B * H];
        int[] lengths = [12, 5, 9, 12, 1, 7, 12, 3], labels = new int[B];
        var random = new Random(0);
        for (int i = 0; i < x.Length; i++) x[i] = (2 * random.NextSingle()) - 1;   // x: [T, B, I], time-major
        for (int b = 0; b < B; b++) labels[b] = x[((lengths[b] - 1) * B + b) * I] > 0 ? 1 : 0;

        float loss = 0;
        for (int step = 0; step < 200; step++)
        {
            store.ZeroGradients();
            rnn.Forward(x, T, B, output, workspace, lengths: lengths, finalHidden: hN);   // h_n: last valid step
            head.Forward(hN, B, logits);                                                  // many-to-one
            loss = Losses.SoftmaxCrossEntropy(logits, labels, Classes, dLogits);
            head.Backward(hN, dLogits, B, dhN);
            rnn.Backward(default, workspace, finalHiddenGradient: dhN);                  // BPTT from h_n
            sgd.Step(store);
            // end-readme
            if (step == 0)
            {
                first = loss;
            }
        }

        return (first, loss);
    }
}
