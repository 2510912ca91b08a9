// Legend: I input size, H hidden size; G = 4 gate blocks in the order i, f, g, o.
namespace FastRnn.Testing;

/// <summary>
/// The parameters of one LSTM layer and direction in PyTorch's layout, row-major, in <c>double</c>:
/// <c>weight_ih</c> <c>[4H, I]</c>, <c>weight_hh</c> <c>[4H, H]</c>, <c>bias_ih</c> and <c>bias_hh</c> <c>[4H]</c>,
/// each in blocks of H rows in the gate order i, f, g, o (<see cref="ReferenceLstm.InputGate"/> ... <see cref="ReferenceLstm.OutputGate"/>).
/// </summary>
/// <remarks>The arrays are allocated zero-filled and may be written freely.</remarks>
public sealed class ReferenceLstmParameters : ReferenceRnnParameters
{
    /// <summary>Creates zero-filled parameters.</summary>
    /// <param name="inputSize">I, the number of input features.</param>
    /// <param name="hiddenSize">H, the number of hidden units.</param>
    public ReferenceLstmParameters(int inputSize, int hiddenSize)
        : base(ReferenceLstm.GateCount, inputSize, hiddenSize)
    {
    }

    /// <summary>A deep copy (the arrays are copied), handy for perturbing one parameter in a finite-difference check.</summary>
    /// <returns>The copy.</returns>
    public ReferenceLstmParameters Clone()
    {
        var copy = new ReferenceLstmParameters(InputSize, HiddenSize);
        CopyArraysTo(copy);
        return copy;
    }
}
