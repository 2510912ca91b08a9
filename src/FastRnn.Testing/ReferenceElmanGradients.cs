// Legend: T time steps, B batch, I input size, H hidden size.
namespace FastRnn.Testing;

/// <summary>The gradients computed by <see cref="ReferenceElman.Backward"/>. Every array is fresh (nothing accumulates).</summary>
public sealed class ReferenceElmanGradients
{
    internal ReferenceElmanGradients(int steps, int batch, int inputSize, int hiddenSize)
    {
        DWeightIh = new double[hiddenSize * inputSize];
        DWeightHh = new double[hiddenSize * hiddenSize];
        DBiasIh = new double[hiddenSize];
        DBiasHh = new double[hiddenSize];
        DX = new double[steps * batch * inputSize];
        DH0 = new double[batch * hiddenSize];
        DHidden = new double[steps * batch * hiddenSize];
        DPreActivations = new double[steps * batch * hiddenSize];
    }

    /// <summary>dL/dW_ih, <c>[H, I]</c>.</summary>
    public double[] DWeightIh { get; }

    /// <summary>dL/dW_hh, <c>[H, H]</c>.</summary>
    public double[] DWeightHh { get; }

    /// <summary>dL/db_ih, <c>[H]</c>.</summary>
    public double[] DBiasIh { get; }

    /// <summary>dL/db_hh, <c>[H]</c> (equal to <see cref="DBiasIh"/>).</summary>
    public double[] DBiasHh { get; }

    /// <summary>dL/dx, <c>[T, B, I]</c>; 0 at padding.</summary>
    public double[] DX { get; }

    /// <summary>dL/dh0, <c>[B, H]</c>; equal to <c>dh_n</c> for a zero-length sequence.</summary>
    public double[] DH0 { get; }

    /// <summary>The total dL/dh_t at each valid step (<c>dOutputs</c> plus the carried gradient, plus <c>dh_n</c> at the last processed step), <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] DHidden { get; }

    /// <summary>dL/dz_t = DHidden * f'(z_t), <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] DPreActivations { get; }
}
