// Legend: I input size, H hidden size; G = 3 gate blocks in the order r, z, n.
namespace FastRnn.Testing;

/// <summary>
/// The parameters of one GRU layer and direction in PyTorch's layout, row-major, in <c>double</c>:
/// <c>weight_ih</c> <c>[3H, I]</c>, <c>weight_hh</c> <c>[3H, H]</c>, <c>bias_ih</c> and <c>bias_hh</c> <c>[3H]</c>,
/// each in blocks of H rows in the gate order r, z, n (<see cref="ReferenceGru.ResetGate"/> ... <see cref="ReferenceGru.NewGate"/>).
/// </summary>
/// <remarks>The arrays are allocated zero-filled and may be written freely.</remarks>
public sealed class ReferenceGruParameters : ReferenceRnnParameters
{
    /// <summary>Creates zero-filled parameters.</summary>
    /// <param name="inputSize">I, the number of input features.</param>
    /// <param name="hiddenSize">H, the number of hidden units.</param>
    public ReferenceGruParameters(int inputSize, int hiddenSize)
        : base(ReferenceGru.GateCount, inputSize, hiddenSize)
    {
    }

    /// <summary>A deep copy (the arrays are copied), handy for perturbing one parameter in a finite-difference check.</summary>
    /// <returns>The copy.</returns>
    public ReferenceGruParameters Clone()
    {
        var copy = new ReferenceGruParameters(InputSize, HiddenSize);
        CopyArraysTo(copy);
        return copy;
    }
}
