// Legend: T time steps, B batch, I input size, H hidden size.
namespace FastRnn.Testing;

/// <summary>
/// The gradients computed by <see cref="ReferenceElman.Backward"/> (G = 1: <c>DWeightIh</c> is <c>[H, I]</c>, the bias gradients <c>[H]</c>,
/// and <c>DBiasHh</c> equals <c>DBiasIh</c>). Every array is fresh (nothing accumulates).
/// </summary>
public sealed class ReferenceElmanGradients : ReferenceRnnGradients
{
    internal ReferenceElmanGradients(int steps, int batch, int inputSize, int hiddenSize)
        : base(1, 1, steps, batch, inputSize, hiddenSize)
    {
        DPreActivations = new double[steps * batch * hiddenSize];
    }

    /// <summary>dL/dz_t = DHidden * f'(z_t), <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] DPreActivations { get; }
}
