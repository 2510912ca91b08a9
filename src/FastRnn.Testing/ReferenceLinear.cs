// Legend: N rows (for a sequence model N = T*B), H input features, O outputs.
// Linear head: y = x W^T + b.
namespace FastRnn.Testing;

/// <summary>The double-precision reference of a fully connected layer <c>y = x W^T + b</c> (PyTorch's <c>nn.Linear</c> layout).</summary>
public static class ReferenceLinear
{
    /// <summary>Computes <c>y = x W^T + b</c>.</summary>
    /// <param name="x">The input, <c>[N, H]</c>.</param>
    /// <param name="weight">The weight, <c>[O, H]</c>.</param>
    /// <param name="bias">The bias, <c>[O]</c>; <see langword="null"/> means none.</param>
    /// <param name="rows">N, the number of rows.</param>
    /// <param name="inputSize">H, the number of input features.</param>
    /// <param name="outputSize">O, the number of outputs.</param>
    /// <returns>The output, <c>[N, O]</c>.</returns>
    public static double[] Forward(double[] x, double[] weight, double[]? bias, int rows, int inputSize, int outputSize)
    {
        CheckShapes(x, weight, rows, inputSize, outputSize);
        if (bias is not null && bias.Length != outputSize)
            throw new ArgumentException($"bias has {bias.Length} elements, expected O = {outputSize}.", nameof(bias));
        // x: [N, H]  weight: [O, H]  y: [N, O]
        var y = new double[rows * outputSize];
        for (int n = 0; n < rows; n++)
        {
            for (int o = 0; o < outputSize; o++)
            {
                double acc = bias is null ? 0.0 : bias[o];
                for (int h = 0; h < inputSize; h++)
                    acc += x[(n * inputSize) + h] * weight[(o * inputSize) + h];
                y[(n * outputSize) + o] = acc;
            }
        }
        return y;
    }

    /// <summary>Back-propagates through <see cref="Forward"/>. The returned arrays are fresh (nothing accumulates).</summary>
    /// <param name="x">The input of the forward pass, <c>[N, H]</c>.</param>
    /// <param name="weight">The weight, <c>[O, H]</c>.</param>
    /// <param name="dy">dL/dy, <c>[N, O]</c>.</param>
    /// <param name="rows">N, the number of rows.</param>
    /// <param name="inputSize">H, the number of input features.</param>
    /// <param name="outputSize">O, the number of outputs.</param>
    /// <returns>dL/dW <c>[O, H]</c>, dL/db <c>[O]</c> and dL/dx <c>[N, H]</c>.</returns>
    public static ReferenceLinearGradients Backward(double[] x, double[] weight, double[] dy, int rows, int inputSize, int outputSize)
    {
        CheckShapes(x, weight, rows, inputSize, outputSize);
        ArgumentNullException.ThrowIfNull(dy);
        if (dy.Length != rows * outputSize)
            throw new ArgumentException($"dy has {dy.Length} elements, expected N*O = {rows * outputSize}.", nameof(dy));
        // dW: [O, H]  db: [O]  dx: [N, H]
        var dWeight = new double[outputSize * inputSize];
        var dBias = new double[outputSize];
        var dx = new double[rows * inputSize];
        for (int n = 0; n < rows; n++)
        {
            for (int o = 0; o < outputSize; o++)
            {
                // y[n, o] = sum_h x[n, h] W[o, h] + b[o]  =>  dW[o, h] += dy x[n, h], db[o] += dy, dx[n, h] += dy W[o, h]
                double g = dy[(n * outputSize) + o];
                dBias[o] += g;
                for (int h = 0; h < inputSize; h++)
                {
                    dWeight[(o * inputSize) + h] += g * x[(n * inputSize) + h];
                    dx[(n * inputSize) + h] += g * weight[(o * inputSize) + h];
                }
            }
        }
        return new ReferenceLinearGradients(dWeight, dBias, dx);
    }

    private static void CheckShapes(double[] x, double[] weight, int rows, int inputSize, int outputSize)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegative(outputSize);
        if (x.Length != rows * inputSize)
            throw new ArgumentException($"x has {x.Length} elements, expected N*H = {rows * inputSize}.", nameof(x));
        if (weight.Length != outputSize * inputSize)
            throw new ArgumentException($"weight has {weight.Length} elements, expected O*H = {outputSize * inputSize}.", nameof(weight));
    }
}
