// Legend: T time steps, B batch, I input size, H hidden size.
namespace FastRnn.Testing;

/// <summary>
/// The parameters of one Elman layer and direction in PyTorch's layout, row-major, in <c>double</c> (G = 1:
/// <c>weight_ih</c> is <c>[H, I]</c>, <c>weight_hh</c> <c>[H, H]</c>, the biases <c>[H]</c>).
/// </summary>
/// <remarks>
/// <c>h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)</c>. The arrays are allocated zero-filled and may be written freely.
/// </remarks>
public sealed class ReferenceElmanParameters : ReferenceRnnParameters
{
    /// <summary>Creates zero-filled parameters.</summary>
    /// <param name="inputSize">I, the number of input features.</param>
    /// <param name="hiddenSize">H, the number of hidden units.</param>
    public ReferenceElmanParameters(int inputSize, int hiddenSize)
        : base(1, inputSize, hiddenSize)
    {
    }

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
        CopyArraysTo(copy);
        return copy;
    }
}
