namespace FastRnn.Training;

/// <summary>How <see cref="Initializers.Initialize"/> fills a recurrent layer's weight matrix <c>[G*H, X]</c> (X = I or H).</summary>
public enum WeightInitialization
{
    /// <summary>PyTorch's default for recurrent layers: uniform in <c>[-1/sqrt(H), 1/sqrt(H)]</c>.</summary>
    PyTorchDefault,

    /// <summary>Xavier/Glorot uniform over the whole matrix (fan in X, fan out G*H), as <c>nn.init.xavier_uniform_</c> on the tensor.</summary>
    XavierUniform,

    /// <summary>Xavier/Glorot normal over the whole matrix.</summary>
    XavierNormal,

    /// <summary>Kaiming/He uniform with fan in X.</summary>
    KaimingUniform,

    /// <summary>Kaiming/He normal with fan in X.</summary>
    KaimingNormal,

    /// <summary>One orthogonal matrix for the whole <c>[G*H, X]</c> tensor, as <c>nn.init.orthogonal_</c> on it.</summary>
    Orthogonal,

    /// <summary>An independent orthogonal <c>[H, X]</c> matrix per gate block (the usual choice for <c>weight_hh</c>: each gate's recurrence is orthogonal).</summary>
    OrthogonalPerGate,

    /// <summary>All zeros.</summary>
    Zeros,
}
