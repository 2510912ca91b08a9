// Legend: N rows (T*B for many-to-many, B for many-to-one), In input features, O outputs.
using System.Numerics.Tensors;
using FastRnn.Kernels;

namespace FastRnn.Training;

/// <summary>A linear output layer <c>y = x W^T + b</c>, PyTorch's <c>nn.Linear</c> layout: <c>weight[O, In]</c>, <c>bias[O]</c>.</summary>
/// <remarks>Parameter gradients accumulate; the input gradient is overwritten. Uses <see cref="Gemm"/>'s per-thread scratch.</remarks>
public sealed class LinearHead
{
    /// <summary>Creates the head and adds its parameters to <paramref name="store"/>, uniform in <c>[-1/sqrt(In), 1/sqrt(In)]</c>.</summary>
    /// <param name="store">Where the parameters live.</param>
    /// <param name="inputSize">In.</param>
    /// <param name="outputSize">O.</param>
    /// <param name="name">Parameter name prefix: the tensors are <c>{name}.weight</c> and <c>{name}.bias</c>.</param>
    /// <param name="hasBias">Whether the head has a bias (PyTorch's <c>bias=True</c>).</param>
    /// <param name="seed">Seed of the initialization.</param>
    public LinearHead(ParameterStore store, int inputSize, int outputSize, string name = "head", bool hasBias = true, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(store);
        ThrowHelper.ThrowIfNotPositive(inputSize);
        ThrowHelper.ThrowIfNotPositive(outputSize);
        InputSize = inputSize;
        OutputSize = outputSize;
        Weight = store.Add(name + ".weight", outputSize, inputSize);
        Bias = hasBias ? store.Add(name + ".bias", outputSize) : null;
        var random = new Random(seed);
        float bound = 1f / MathF.Sqrt(inputSize);
        Fill(Weight.Values, random, bound);
        if (Bias is not null)
        {
            Fill(Bias.Values, random, bound);
        }
    }

    /// <summary>In.</summary>
    public int InputSize { get; }

    /// <summary>O.</summary>
    public int OutputSize { get; }

    /// <summary><c>weight</c>: [O, In].</summary>
    public ParameterTensor Weight { get; }

    /// <summary><c>bias</c>: [O], or null without a bias.</summary>
    public ParameterTensor? Bias { get; }

    /// <summary><c>y[N, O] = x[N, In] W^T + b</c>.</summary>
    /// <param name="input">x: [N, In].</param>
    /// <param name="rows">N.</param>
    /// <param name="output">y: [N, O], overwritten.</param>
    public void Forward(ReadOnlySpan<float> input, int rows, Span<float> output)
    {
        ValidateRows(input, rows, output, nameof(output));
        int o = OutputSize;
        if (Bias is null)
        {
            Gemm.Multiply(MatrixOp.None, MatrixOp.Transpose, rows, o, InputSize, input, InputSize, Weight.Values, InputSize, 0f, output, o);
            return;
        }

        ReadOnlySpan<float> bias = Bias.Values;
        for (int r = 0; r < rows; r++)
        {
            bias.CopyTo(output.Slice(r * o, o));
        }

        Gemm.Multiply(MatrixOp.None, MatrixOp.Transpose, rows, o, InputSize, input, InputSize, Weight.Values, InputSize, 1f, output, o);
    }

    /// <summary>Accumulates <c>dW += dy^T x</c> and <c>db += sum_rows dy</c>; writes <c>dx = dy W</c> when asked.</summary>
    /// <param name="input">x: [N, In], as given to <see cref="Forward"/>.</param>
    /// <param name="outputGradient">dy: [N, O].</param>
    /// <param name="rows">N.</param>
    /// <param name="inputGradient">dx: [N, In], overwritten, or empty to skip.</param>
    public void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> outputGradient, int rows, Span<float> inputGradient = default)
    {
        ValidateRows(input, rows, outputGradient, nameof(outputGradient));
        if (!inputGradient.IsEmpty)
        {
            ThrowHelper.ThrowIfLengthMismatch(inputGradient, nameof(inputGradient), new Dims("N", rows, "In", InputSize));
        }

        int o = OutputSize;

        // dW[O, In] += dy^T[O, N] * x[N, In]
        Gemm.Multiply(MatrixOp.Transpose, MatrixOp.None, o, InputSize, rows, outputGradient, o, input, InputSize, 1f, Weight.Gradient, InputSize);
        if (Bias is not null)
        {
            Span<float> dBias = Bias.Gradient;
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.Add(dBias, outputGradient.Slice(r * o, o), dBias);
            }
        }

        if (!inputGradient.IsEmpty)
        {
            // dx[N, In] = dy[N, O] * W[O, In]
            Gemm.Multiply(MatrixOp.None, MatrixOp.None, rows, InputSize, o, outputGradient, o, Weight.Values, InputSize, 0f, inputGradient, InputSize);
        }
    }

    private void ValidateRows(ReadOnlySpan<float> input, int rows, ReadOnlySpan<float> output, string outputName)
    {
        ThrowHelper.ThrowIfNegative(rows);
        ThrowHelper.ThrowIfLengthMismatch(input, nameof(input), new Dims("N", rows, "In", InputSize));
        ThrowHelper.ThrowIfLengthMismatch(output, outputName, new Dims("N", rows, "O", OutputSize));
    }

    private static void Fill(Span<float> values, Random random, float bound)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(((2 * random.NextDouble()) - 1) * bound);
        }
    }
}
