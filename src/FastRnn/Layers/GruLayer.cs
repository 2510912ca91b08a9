// Legend: T time steps, B batch, I input size, H hidden size; G = 3, gate order r, z, n.
using FastRnn.Cells;

namespace FastRnn.Layers;

/// <summary>
/// A GRU layer with PyTorch's <c>nn.GRU</c> layout, gate order r, z, n and its linear-before-reset form:
/// <c>n = tanh(W_in x + b_in + r*(W_hn h + b_hn))</c>, <c>h_t = (1-z)*n + z*h_{t-1}</c>; parameters <c>weight_ih[3H, I]</c>,
/// <c>weight_hh[3H, H]</c>, <c>bias_ih[3H]</c>, <c>bias_hh[3H]</c>.
/// </summary>
public sealed class GruLayer : RecurrentLayer
{
    /// <summary>Creates the layer and adds its four parameters to <paramref name="store"/>, initialized as PyTorch does.</summary>
    /// <param name="store">Where the parameters live.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="layerIndex">k in the parameter names (<c>weight_ih_l{k}</c>).</param>
    /// <param name="reverse">Whether this is the backward direction (parameter names end in <c>_reverse</c>).</param>
    /// <param name="seed">Seed of the default initialization.</param>
    /// <param name="namePrefix">Prepended to every parameter name.</param>
    public GruLayer(ParameterStore store, int inputSize, int hiddenSize, int layerIndex = 0, bool reverse = false, int seed = 0, string namePrefix = "")
        : base(store, inputSize, hiddenSize, GruCell.GateCount, layerIndex, reverse, namePrefix)
    {
        ResetParameters(seed);
    }

    private protected override void RunWithCell<TAction>(ref TAction action) => action.Run(default(GruCell));
}
