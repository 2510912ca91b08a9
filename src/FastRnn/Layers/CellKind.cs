namespace FastRnn.Layers;

/// <summary>The recurrent cell of a layer or stack.</summary>
public enum CellKind
{
    /// <summary>Elman RNN (PyTorch's <c>nn.RNN</c>), G = 1; the nonlinearity is chosen separately.</summary>
    Elman,

    /// <summary>LSTM (<c>nn.LSTM</c>), G = 4, gate order i, f, g, o.</summary>
    Lstm,

    /// <summary>GRU (<c>nn.GRU</c>), G = 3, gate order r, z, n, linear-before-reset.</summary>
    Gru,
}
