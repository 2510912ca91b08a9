namespace FastRnn.Kernels;

/// <summary>Whether a GEMM operand is used as stored (row-major) or transposed, as BLAS's <c>'N'</c> and <c>'T'</c>.</summary>
public enum MatrixOp
{
    /// <summary>Use the matrix as stored: element (i, j) is at <c>i * ld + j</c>.</summary>
    None,

    /// <summary>Use the transpose: element (i, j) of the operand is at <c>j * ld + i</c> of the stored matrix.</summary>
    Transpose,
}
