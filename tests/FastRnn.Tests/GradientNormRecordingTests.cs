// Per-step gradient norms recorded during BPTT (RecurrentWorkspace.RecordGradientNorms) against the double reference's
// dL/dh_t (and dL/dc_t), for every cell, with lengths, both directions and truncated BPTT; recording changes nothing.
using FastRnn.Diagnostics;
using FastRnn.Layers;
using FastRnn.Testing;
using FsCheck.Xunit;
using static FastRnn.Tests.RnnHarness;

namespace FastRnn.Tests;

public class GradientNormRecordingTests
{
    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Elman_per_step_norms_match_the_reference_gradient_at_each_h_t(ElmanCase c) => NormsMatchReference(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Lstm_per_step_norms_match_the_reference_gradients_at_each_h_t_and_c_t(LstmCase c) => NormsMatchReference(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Gru_per_step_norms_match_the_reference_gradient_at_each_h_t(GruCase c) => NormsMatchReference(RnnTestCase.From(c));

    [Property(MaxTest = 50, Arbitrary = [typeof(RnnGenerators)])]
    public void Elman_recording_changes_no_result_bit_for_bit(ElmanCase c) => RecordingChangesNothing(RnnTestCase.From(c));

    [Property(MaxTest = 50, Arbitrary = [typeof(RnnGenerators)])]
    public void Lstm_recording_changes_no_result_bit_for_bit(LstmCase c) => RecordingChangesNothing(RnnTestCase.From(c));

    [Property(MaxTest = 50, Arbitrary = [typeof(RnnGenerators)])]
    public void Gru_recording_changes_no_result_bit_for_bit(GruCase c) => RecordingChangesNothing(RnnTestCase.From(c));

    [Fact]
    public void Norms_are_empty_until_a_recording_backward_and_again_after_the_next_forward()
    {
        const int T = 5, B = 2, I = 3, H = 4;
        var layer = new ElmanLayer(new ParameterStore(), I, H, seed: 1);
        RecurrentWorkspace workspace = layer.CreateWorkspace(T + 2, B);
        float[] x = AllocationTests.RandomValues(new Random(2), T * B * I), output = new float[T * B * H], dOutput = AllocationTests.RandomValues(new Random(3), T * B * H);

        Assert.False(workspace.RecordGradientNorms);
        layer.Forward(x, T, B, output, workspace);
        layer.Backward(dOutput, workspace);
        Assert.Equal(0, workspace.HiddenGradientNorms.Length);

        workspace.RecordGradientNorms = true;
        layer.Backward(dOutput, workspace);
        Assert.Equal(T, workspace.HiddenGradientNorms.Length);
        Assert.Equal(T, workspace.HiddenGradientSquaredNorms.Length);
        Assert.True(workspace.HiddenGradientNorms[0] > 0);
        Assert.Equal(0, workspace.CellGradientNorms.Length);

        layer.Forward(x, T, B, output, workspace);
        Assert.Equal(0, workspace.HiddenGradientNorms.Length);

        layer.Backward(dOutput, workspace);
        workspace.RecordGradientNorms = false;
        layer.Backward(dOutput, workspace);
        Assert.Equal(0, workspace.HiddenGradientNorms.Length);
    }

    [Fact]
    public void Steps_no_sequence_reaches_read_zero_and_squared_norms_are_the_squares()
    {
        const int T = 6, B = 3, I = 2, H = 5;
        var layer = new GruLayer(new ParameterStore(), I, H, reverse: true, seed: 4);
        RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
        workspace.RecordGradientNorms = true;
        float[] x = AllocationTests.RandomValues(new Random(5), T * B * I), output = new float[T * B * H], dOutput = AllocationTests.RandomValues(new Random(6), T * B * H);
        layer.Forward(x, T, B, output, workspace, lengths: [4, 0, 2]);
        layer.Backward(dOutput, workspace);

        for (int t = 0; t < T; t++)
        {
            Assert.Equal(t < 4, workspace.HiddenGradientNorms[t] > 0);
            double norm = Math.Sqrt(workspace.HiddenGradientSquaredNorms[t]);
            Assert.Equal(norm, workspace.HiddenGradientNorms[t], 1e-6 * (1 + norm));
        }
    }

    /// <summary>
    /// The seeds' claim for LSTM, observed in BPTT itself: with the forget gate saturated open and the input gate shut,
    /// dL/dc_t = f * dL/dc_{t+1} keeps its norm over every step (here from dc_n alone), while dL/dh_t stays near 0.
    /// </summary>
    [Fact]
    public void Lstm_with_the_forget_gate_saturated_open_carries_the_cell_gradient_undiminished()
    {
        const int T = 40, B = 2, I = 3, H = 6;
        LstmLayer layer = JacobianNormTests.SaturatedLstm(I, H, seed: 7);
        RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
        workspace.RecordGradientNorms = true;
        float[] x = AllocationTests.RandomValues(new Random(8), T * B * I), output = new float[T * B * H];
        float[] dcN = AllocationTests.RandomValues(new Random(9), B * H), dc0 = new float[B * H];
        layer.Forward(x, T, B, output, workspace, default, default);
        layer.Backward(default, workspace, default, default, dc0, finalCellGradient: dcN);

        double expected = Math.Sqrt(dcN.Sum(v => (double)v * v));
        for (int t = 0; t < T; t++)
        {
            Assert.Equal(expected, workspace.CellGradientNorms[t], expected * 1e-5);
            Assert.True(workspace.HiddenGradientNorms[t] < 1e-6 * expected, $"||dL/dh_{t}|| = {workspace.HiddenGradientNorms[t]}");
        }
    }

    [Property(MaxTest = 60)]
    public void Stack_norms_per_layer_and_overall_match_the_chained_reference(int seed)
    {
        StackCase c = StackCase.Random(seed);
        var stack = c.CreateStack(new ParameterStore());
        StackWorkspace workspace = stack.CreateWorkspace(c.T, c.B);
        StackGradientNorms.SetRecording(workspace, true);
        float[] output = new float[c.T * c.B * stack.OutputSize];
        stack.Forward(ToFloat(c.X), c.T, c.B, output, workspace, c.Lengths, ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), default, default, training: true);
        stack.Backward(ToFloat(c.DOutput), workspace, default, default, default, ToFloatOrEmpty(c.DhN), ToFloatOrEmpty(c.DcN));
        ReferenceStackResult expected = ReferenceStack.Run(
            StackHarness.ReferenceParameters(stack), c.Directions, c.T, c.B, c.X, c.Lengths, c.H0, c.C0,
            StackHarness.DropoutMasks(workspace, stack, c.T, c.B), c.DOutput, c.DhN, c.DcN);

        int[] lengths = c.Lengths ?? Enumerable.Repeat(c.T, c.B).ToArray();
        double[] all = new double[c.T];
        float[] norms = new float[c.T];
        for (int l = 0; l < c.Layers; l++)
        {
            double[] layer = new double[c.T];
            for (int d = 0; d < c.Directions; d++)
            {
                double[] direction = PerStepNorms(expected.Layers[(l * c.Directions) + d].DHidden, lengths, c.T, c.B, c.H);
                for (int t = 0; t < c.T; t++)
                {
                    layer[t] += direction[t] * direction[t];
                    all[t] += direction[t] * direction[t];
                }
            }

            StackGradientNorms.LayerHiddenNorms(workspace, l, norms);
            AssertClose(norms, Array.ConvertAll(layer, Math.Sqrt), $"layer {l} ({c})");
        }

        StackGradientNorms.StackHiddenNorms(workspace, norms);
        AssertClose(norms, Array.ConvertAll(all, Math.Sqrt), $"stack ({c})");
    }

    [Fact]
    public void Stack_norms_throw_when_nothing_was_recorded_or_the_destination_is_wrong()
    {
        var stack = new RecurrentStack(new ParameterStore(), CellKind.Gru, 2, 3, layerCount: 2, bidirectional: true);
        StackWorkspace workspace = stack.CreateWorkspace(4, 1);
        float[] x = new float[4 * 2], output = new float[4 * 6];
        stack.Forward(x, 4, 1, output, workspace);
        stack.Backward(output, workspace);
        Assert.Equal("workspace", Assert.Throws<ArgumentException>(() => StackGradientNorms.StackHiddenNorms(workspace, new float[4])).ParamName);

        StackGradientNorms.SetRecording(workspace, true);
        stack.Backward(output, workspace);
        Assert.Equal("norms", Assert.Throws<ArgumentException>(() => StackGradientNorms.LayerHiddenNorms(workspace, 1, new float[3])).ParamName);
        Assert.ThrowsAny<ArgumentException>(() => StackGradientNorms.LayerHiddenNorms(workspace, 2, new float[4]));
        StackGradientNorms.LayerHiddenNorms(workspace, 1, new float[4]);
    }

    private static void NormsMatchReference(RnnTestCase c)
    {
        (int T, int B, _, int H) = c.Shape;
        int window = c.Reverse ? 0 : c.Seed % (T + 1);
        (_, float[] hidden, double[] hiddenSquares, float[] cell) = RunRecording(c, record: true, window);
        ReferenceResult reference = c.Reference(truncationWindow: window);

        Assert.Equal(T, hidden.Length);
        AssertClose(hidden, PerStepNorms(reference.Gradients.DHidden, c.Lengths, T, B, H), "||dL/dh_t||");
        double[] expectedSquares = Array.ConvertAll(PerStepNorms(reference.Gradients.DHidden, c.Lengths, T, B, H), v => v * v);
        AssertClose(Array.ConvertAll(hiddenSquares, v => (float)v), expectedSquares, "||dL/dh_t||^2", relative: 4e-4);
        if (reference.Gradients is ReferenceLstmGradients lstm)
        {
            Assert.Equal(T, cell.Length);
            AssertClose(cell, PerStepNorms(lstm.DCellStates, c.Lengths, T, B, H), "||dL/dc_t||");
        }
        else
        {
            Assert.Empty(cell);
        }
    }

    private static void RecordingChangesNothing(RnnTestCase c)
    {
        int window = c.Reverse ? 0 : c.Seed % (c.Shape.T + 1);
        AssertBitwiseEqual(RunRecording(c, record: true, window).Result, RunRecording(c, record: false, window).Result);
    }

    // sqrt(sum over valid (t, b) rows of the row's squared entries), per t: [T]
    private static double[] PerStepNorms(double[] gradients, int[] lengths, int T, int B, int H)
    {
        double[] norms = new double[T];
        for (int t = 0; t < T; t++)
        {
            double sum = 0;
            for (int b = 0; b < B; b++)
            {
                for (int j = 0; t < lengths[b] && j < H; j++)
                {
                    double g = gradients[(((t * B) + b) * H) + j];
                    sum += g * g;
                }
            }

            norms[t] = Math.Sqrt(sum);
        }

        return norms;
    }

    private static (FastResult Result, float[] Hidden, double[] HiddenSquares, float[] Cell) RunRecording(RnnTestCase c, bool record, int truncationWindow)
    {
        (int T, int B, int I, int H) = c.Shape;
        RecurrentLayer layer = c.CreateLayer();
        RecurrentWorkspace workspace = layer.CreateWorkspace(T, B);
        workspace.RecordGradientNorms = record;
        float[] output = new float[T * B * H], hN = new float[B * H], cN = new float[B * H], dX = new float[T * B * I], dh0 = new float[B * H], dc0 = new float[B * H];
        using (new WidthLimit(WidthFor(c)))
        {
            Forward(layer, workspace, ToFloat(c.X), T, B, output, ToFloatOrEmpty(c.H0), ToFloatOrEmpty(c.C0), c.Lengths, hN, cN);
            Backward(layer, workspace, ToFloat(c.DOutputs), dX, dh0, dc0, ToFloatOrEmpty(c.DhN), ToFloatOrEmpty(c.DcN), truncationWindow);
        }

        return (Collect(layer, output, hN, cN, dX, dh0, dc0, c.HasCell), workspace.HiddenGradientNorms.ToArray(), workspace.HiddenGradientSquaredNorms.ToArray(), workspace.CellGradientNorms.ToArray());
    }
}

[Collection(nameof(AllocationTests))]
public class GradientNormRecordingAllocationTests
{
    private const int T = 9, B = 5, I = 6, H = 17;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Recording_backward_passes_allocate_nothing(bool reverse)
    {
        var store = new ParameterStore();
        var lstm = new LstmLayer(store, I, H, reverse: reverse, seed: 1);
        var gru = new GruLayer(store, H, H, layerIndex: 1, reverse: reverse, seed: 2);
        var elman = new ElmanLayer(store, H, H, Nonlinearity.Relu, layerIndex: 2, reverse: reverse, seed: 3);
        RecurrentWorkspace lstmWorkspace = lstm.CreateWorkspace(T, B), gruWorkspace = gru.CreateWorkspace(T, B), elmanWorkspace = elman.CreateWorkspace(T, B);
        lstmWorkspace.RecordGradientNorms = gruWorkspace.RecordGradientNorms = elmanWorkspace.RecordGradientNorms = true;
        var random = new Random(4);
        float[] x = AllocationTests.RandomValues(random, T * B * I), dOut = AllocationTests.RandomValues(random, T * B * H);
        float[] lstmOut = new float[T * B * H], gruOut = new float[T * B * H], elmanOut = new float[T * B * H];
        float[] dGruOut = new float[T * B * H], dLstmOut = new float[T * B * H], dX = new float[T * B * I], dh0 = new float[B * H], dc0 = new float[B * H];
        int[] lengths = [2, 9, 0, 5, 9];
        double total = 0;

        void Step()
        {
            store.ZeroGradients();
            lstm.Forward(x, T, B, lstmOut, lstmWorkspace, default, default, lengths);
            gru.Forward(lstmOut, T, B, gruOut, gruWorkspace, lengths: lengths);
            elman.Forward(gruOut, T, B, elmanOut, elmanWorkspace, lengths: lengths);
            elman.Backward(dOut, elmanWorkspace, dGruOut);
            gru.Backward(dGruOut, gruWorkspace, dLstmOut, truncationWindow: reverse ? 0 : 3);
            lstm.Backward(dLstmOut, lstmWorkspace, dX, dh0, dc0);

            // The norms of the whole stack's state gradient per step, combined from the squares.
            for (int t = 0; t < T; t++)
            {
                total += Math.Sqrt(lstmWorkspace.HiddenGradientSquaredNorms[t] + gruWorkspace.HiddenGradientSquaredNorms[t] + elmanWorkspace.HiddenGradientSquaredNorms[t])
                    + lstmWorkspace.CellGradientNorms[t];
            }
        }

        AllocationTests.AssertNoAllocation(Step);
        Assert.True(total > 0);
    }
}
