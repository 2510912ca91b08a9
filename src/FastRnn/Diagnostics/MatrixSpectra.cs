// Legend: n matrix size; matrices are row-major spans.
using System.Numerics;

namespace FastRnn.Diagnostics;

/// <summary>
/// Eigenvalues, spectral radius and largest singular value of small dense matrices (such as a recurrent weight's gate
/// blocks), computed in double. Not for training paths: these allocate.
/// </summary>
/// <remarks>
/// <para>Eigenvalues: Householder reduction to Hessenberg form, then the implicit double-shift (Francis) QR iteration
/// (Golub &amp; Van Loan, <i>Matrix Computations</i>, 4th ed., 7.4-7.5). It works on non-symmetric matrices and returns
/// complex-conjugate pairs (a rotation's <c>e^{+-i theta}</c>). It is backward stable: the eigenvalues are exact for a
/// matrix within about <c>1e-16 * ||A||</c> of the input. A defective eigenvalue (a Jordan block of size m) is
/// ill-conditioned for any such method and moves by up to about <c>(1e-16 ||A||)^(1/m)</c>.</para>
/// <para>Largest singular value: the square root of the largest eigenvalue of the smaller Gram matrix (<c>A^T A</c> or
/// <c>A A^T</c>), accurate to about <c>1e-16</c> relative.</para>
/// </remarks>
public static class MatrixSpectra
{
    /// <summary>All eigenvalues of a square matrix, complex-conjugate pairs adjacent, in no particular order.</summary>
    /// <param name="matrix">[n, n], row-major; finite values.</param>
    /// <param name="size">n.</param>
    /// <returns>The n eigenvalues, with multiplicity.</returns>
    /// <exception cref="ArgumentException">The span is not n*n long or holds a NaN or an infinity.</exception>
    public static Complex[] Eigenvalues(ReadOnlySpan<double> matrix, int size) => DenseMatrix.Eigenvalues(CheckedSquare(matrix, size), size);

    /// <inheritdoc cref="Eigenvalues(ReadOnlySpan{double}, int)"/>
    public static Complex[] Eigenvalues(ReadOnlySpan<float> matrix, int size) => Eigenvalues(Widen(matrix), size);

    /// <summary>The spectral radius <c>max |lambda|</c> over the eigenvalues of a square matrix (0 for n = 0).</summary>
    /// <param name="matrix">[n, n], row-major; finite values.</param>
    /// <param name="size">n.</param>
    /// <returns>The spectral radius.</returns>
    /// <exception cref="ArgumentException">The span is not n*n long or holds a NaN or an infinity.</exception>
    public static double SpectralRadius(ReadOnlySpan<double> matrix, int size)
    {
        double radius = 0;
        foreach (Complex lambda in Eigenvalues(matrix, size))
        {
            radius = Math.Max(radius, lambda.Magnitude);
        }

        return radius;
    }

    /// <inheritdoc cref="SpectralRadius(ReadOnlySpan{double}, int)"/>
    public static double SpectralRadius(ReadOnlySpan<float> matrix, int size) => SpectralRadius(Widen(matrix), size);

    /// <summary>The largest singular value <c>||A||_2</c> of a rectangular matrix (0 for an empty one).</summary>
    /// <param name="matrix">[rows, cols], row-major; finite values.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="columns">Columns.</param>
    /// <returns>The largest singular value.</returns>
    /// <exception cref="ArgumentException">The span is not rows*cols long or holds a NaN or an infinity.</exception>
    public static double LargestSingularValue(ReadOnlySpan<double> matrix, int rows, int columns)
    {
        ThrowHelper.ThrowIfNegative(rows);
        ThrowHelper.ThrowIfNegative(columns);
        ThrowHelper.ThrowIfLengthMismatch(matrix, nameof(matrix), new Dims("rows", rows, "columns", columns));
        ThrowIfNotFinite(matrix);
        return DenseMatrix.LargestSingularValue(matrix, rows, columns);
    }

    /// <inheritdoc cref="LargestSingularValue(ReadOnlySpan{double}, int, int)"/>
    public static double LargestSingularValue(ReadOnlySpan<float> matrix, int rows, int columns) => LargestSingularValue(Widen(matrix), rows, columns);

    private static double[] CheckedSquare(ReadOnlySpan<double> matrix, int size)
    {
        ThrowHelper.ThrowIfNegative(size);
        ThrowHelper.ThrowIfLengthMismatch(matrix, nameof(matrix), new Dims("n", size, "n", size));
        ThrowIfNotFinite(matrix);
        return matrix.ToArray();
    }

    // A NaN would keep the QR iteration from ever deflating.
    private static void ThrowIfNotFinite(ReadOnlySpan<double> matrix)
    {
        for (int i = 0; i < matrix.Length; i++)
        {
            if (!double.IsFinite(matrix[i]))
            {
                ThrowHelper.ThrowArgument(nameof(matrix), $"every element must be finite; element {i} is {matrix[i]}");
            }
        }
    }

    private static double[] Widen(ReadOnlySpan<float> values)
    {
        double[] wide = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            wide[i] = values[i];
        }

        return wide;
    }
}
