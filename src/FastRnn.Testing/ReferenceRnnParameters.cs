// Legend: I input size, H hidden size, G gates per cell (Elman 1, GRU 3, LSTM 4).
namespace FastRnn.Testing;

/// <summary>
/// The parameters of one recurrent layer and direction in PyTorch's layout, row-major, in <c>double</c>:
/// the common part of <see cref="ReferenceElmanParameters"/>, <see cref="ReferenceGruParameters"/> and <see cref="ReferenceLstmParameters"/>.
/// </summary>
/// <remarks>The G gate blocks of H rows each are stacked in the cell's gate order. The arrays are allocated zero-filled and may be written freely.</remarks>
public abstract class ReferenceRnnParameters
{
    private protected ReferenceRnnParameters(int gateCount, int inputSize, int hiddenSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenSize);
        GateCount = gateCount;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        // weightIh: [G*H, I]  weightHh: [G*H, H]  biasIh: [G*H]  biasHh: [G*H]
        WeightIh = new double[gateCount * hiddenSize * inputSize];
        WeightHh = new double[gateCount * hiddenSize * hiddenSize];
        BiasIh = new double[gateCount * hiddenSize];
        BiasHh = new double[gateCount * hiddenSize];
    }

    /// <summary>G, the number of gate blocks (Elman 1, GRU 3, LSTM 4).</summary>
    public int GateCount { get; }

    /// <summary>I, the number of input features.</summary>
    public int InputSize { get; }

    /// <summary>H, the number of hidden units.</summary>
    public int HiddenSize { get; }

    /// <summary>PyTorch's <c>weight_ih</c>: <c>[G*H, I]</c>, row-major.</summary>
    public double[] WeightIh { get; }

    /// <summary>PyTorch's <c>weight_hh</c>: <c>[G*H, H]</c>, row-major.</summary>
    public double[] WeightHh { get; }

    /// <summary>PyTorch's <c>bias_ih</c>: <c>[G*H]</c>.</summary>
    public double[] BiasIh { get; }

    /// <summary>PyTorch's <c>bias_hh</c>: <c>[G*H]</c>.</summary>
    public double[] BiasHh { get; }

    /// <summary>Copies the four arrays into <paramref name="copy"/>, which has the same sizes.</summary>
    /// <param name="copy">The destination.</param>
    private protected void CopyArraysTo(ReferenceRnnParameters copy)
    {
        WeightIh.CopyTo(copy.WeightIh, 0);
        WeightHh.CopyTo(copy.WeightHh, 0);
        BiasIh.CopyTo(copy.BiasIh, 0);
        BiasHh.CopyTo(copy.BiasHh, 0);
    }
}
