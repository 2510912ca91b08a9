// Legend: T time steps, B batch, I input size, H hidden size, G gates per cell (Elman 1, GRU 3, LSTM 4).
namespace FastRnn.Testing;

/// <summary>
/// The gradients common to <see cref="ReferenceElmanGradients"/>, <see cref="ReferenceGruGradients"/> and <see cref="ReferenceLstmGradients"/>.
/// Every array is fresh (nothing accumulates across calls).
/// </summary>
public abstract class ReferenceRnnGradients
{
    private protected ReferenceRnnGradients(int gateCount, int stateParts, int steps, int batch, int inputSize, int hiddenSize)
    {
        int rows = gateCount * hiddenSize;
        // dW_ih: [G*H, I]  dW_hh: [G*H, H]  db: [G*H]  dX: [T, B, I]  dInitial: P x [B, H]  dHidden: [T, B, H]
        DWeightIh = new double[rows * inputSize];
        DWeightHh = new double[rows * hiddenSize];
        DBiasIh = new double[rows];
        DBiasHh = new double[rows];
        DX = new double[steps * batch * inputSize];
        DInitialStates = new double[stateParts][];
        for (int p = 0; p < stateParts; p++)
            DInitialStates[p] = new double[batch * hiddenSize];
        DHidden = new double[steps * batch * hiddenSize];
    }

    /// <summary>dL/dW_ih, <c>[G*H, I]</c>.</summary>
    public double[] DWeightIh { get; }

    /// <summary>dL/dW_hh, <c>[G*H, H]</c>.</summary>
    public double[] DWeightHh { get; }

    /// <summary>dL/db_ih, <c>[G*H]</c>.</summary>
    public double[] DBiasIh { get; }

    /// <summary>dL/db_hh, <c>[G*H]</c>.</summary>
    public double[] DBiasHh { get; }

    /// <summary>dL/dx, <c>[T, B, I]</c>; 0 at padding.</summary>
    public double[] DX { get; }

    /// <summary>dL/dh0, <c>[B, H]</c>; equal to <c>dh_n</c> for a zero-length sequence.</summary>
    public double[] DH0 => DInitialStates[0];

    /// <summary>The total dL/dh_t at each valid step (<c>dOutputs</c> plus the carried gradient, plus <c>dh_n</c> at the last processed step), <c>[T, B, H]</c>; 0 at padding.</summary>
    public double[] DHidden { get; }

    /// <summary>Per state part (h, then c for an LSTM): dL/d initial state, <c>[B, H]</c>.</summary>
    internal double[][] DInitialStates { get; }
}
