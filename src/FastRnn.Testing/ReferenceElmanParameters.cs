// Legend: T time steps, B batch, I input size, H hidden size.
namespace FastRnn.Testing;

/// <summary>
/// The parameters of one Elman layer and direction in PyTorch's layout, row-major, in <c>double</c>.
/// </summary>
/// <remarks>
/// <c>h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)</c>. The arrays are allocated zero-filled and may be written freely.
/// </remarks>
public sealed class ReferenceElmanParameters
{
    /// <summary>Creates zero-filled parameters.</summary>
    /// <param name="inputSize">I, the number of input features.</param>
    /// <param name="hiddenSize">H, the number of hidden units.</param>
    public ReferenceElmanParameters(int inputSize, int hiddenSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenSize);
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        // weightIh: [H, I]  weightHh: [H, H]  biasIh: [H]  biasHh: [H]
        WeightIh = new double[hiddenSize * inputSize];
        WeightHh = new double[hiddenSize * hiddenSize];
        BiasIh = new double[hiddenSize];
        BiasHh = new double[hiddenSize];
    }

    /// <summary>I, the number of input features.</summary>
    public int InputSize { get; }

    /// <summary>H, the number of hidden units.</summary>
    public int HiddenSize { get; }

    /// <summary>PyTorch's <c>weight_ih</c>: <c>[H, I]</c>, row-major.</summary>
    public double[] WeightIh { get; }

    /// <summary>PyTorch's <c>weight_hh</c>: <c>[H, H]</c>, row-major.</summary>
    public double[] WeightHh { get; }

    /// <summary>PyTorch's <c>bias_ih</c>: <c>[H]</c>.</summary>
    public double[] BiasIh { get; }

    /// <summary>PyTorch's <c>bias_hh</c>: <c>[H]</c>.</summary>
    public double[] BiasHh { get; }

    /// <summary>The elementwise function <c>f</c>; <see cref="Nonlinearity.Tanh"/> by default.</summary>
    public Nonlinearity Nonlinearity { get; set; } = Nonlinearity.Tanh;

    /// <summary>The negative-side slope of <see cref="Nonlinearity.LeakyRelu"/>; ignored by the other functions.</summary>
    public double LeakySlope { get; set; } = 0.01;

    /// <summary>A deep copy (the arrays are copied), handy for perturbing one parameter in a finite-difference check.</summary>
    /// <returns>The copy.</returns>
    public ReferenceElmanParameters Clone()
    {
        var copy = new ReferenceElmanParameters(InputSize, HiddenSize)
        {
            Nonlinearity = Nonlinearity,
            LeakySlope = LeakySlope,
        };
        WeightIh.CopyTo(copy.WeightIh, 0);
        WeightHh.CopyTo(copy.WeightHh, 0);
        BiasIh.CopyTo(copy.BiasIh, 0);
        BiasHh.CopyTo(copy.BiasHh, 0);
        return copy;
    }
}
