// Legend: n matrix size; matrices are row-major double arrays, element (i, j) at i*cols + j.
namespace FastRnn.Testing;

/// <summary>
/// Independent dense linear algebra for checking spectral diagnostics, in double, as plain loops: singular values by
/// one-sided Jacobi rotations, traces of matrix powers (which determine the eigenvalues through Newton's identities),
/// and Gelfand's formula for the spectral radius.
/// </summary>
public static class ReferenceSpectra
{
    /// <summary>
    /// All singular values, largest first, by one-sided Jacobi (Hestenes): rotate pairs of columns until every pair is
    /// orthogonal; the singular values are then the column norms. Accurate to a few units of roundoff relative to the largest.
    /// </summary>
    /// <param name="matrix">The matrix, <c>[rows, cols]</c>.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="cols">Columns.</param>
    /// <returns><c>min(rows, cols)</c> values, descending.</returns>
    public static double[] SingularValues(double[] matrix, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ReferenceRecurrence.CheckLength(matrix, rows * cols, nameof(matrix));
        // Work on the transpose when it is wider than tall, so there are at most as many columns as rows: a: [m, c], m >= c.
        bool transpose = rows < cols;
        int m = transpose ? cols : rows, c = transpose ? rows : cols;
        var a = new double[m * c];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
                a[transpose ? (j * c) + i : (i * c) + j] = matrix[(i * cols) + j];
        }

        for (int sweep = 0; sweep < 100; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < c - 1; p++)
            {
                for (int q = p + 1; q < c; q++)
                {
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int i = 0; i < m; i++)
                    {
                        alpha += a[(i * c) + p] * a[(i * c) + p];
                        beta += a[(i * c) + q] * a[(i * c) + q];
                        gamma += a[(i * c) + p] * a[(i * c) + q];
                    }
                    if (Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta) || gamma == 0)
                        continue;
                    // The rotation that makes columns p and q orthogonal: tan(theta) = t solves t^2 + 2 zeta t - 1 = 0.
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + (zeta * zeta)));
                    double cos = 1 / Math.Sqrt(1 + (t * t)), sin = cos * t;
                    for (int i = 0; i < m; i++)
                    {
                        double ap = a[(i * c) + p], aq = a[(i * c) + q];
                        a[(i * c) + p] = (cos * ap) - (sin * aq);
                        a[(i * c) + q] = (sin * ap) + (cos * aq);
                    }
                }
            }
            if (!rotated)
                break;
        }

        var values = new double[c];
        for (int j = 0; j < c; j++)
        {
            double sum = 0;
            for (int i = 0; i < m; i++)
                sum += a[(i * c) + j] * a[(i * c) + j];
            values[j] = Math.Sqrt(sum);
        }
        Array.Sort(values);
        Array.Reverse(values);
        return values;
    }

    /// <summary>The Frobenius norm <c>sqrt(sum a_ij^2)</c>.</summary>
    /// <param name="matrix">The matrix, any shape.</param>
    /// <returns>The norm.</returns>
    public static double FrobeniusNorm(double[] matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        double sum = 0;
        foreach (double v in matrix)
            sum += v * v;
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// <c>trace(A^p)</c> for p = 1..<paramref name="count"/>, the power sums <c>sum_i lambda_i^p</c> of the eigenvalues: for
    /// p = 1..n they determine the eigenvalues (Newton's identities), so they check an eigenvalue routine independently.
    /// </summary>
    /// <param name="matrix">A, <c>[n, n]</c>.</param>
    /// <param name="n">n.</param>
    /// <param name="count">How many powers.</param>
    /// <returns><c>[count]</c>: element p - 1 is <c>trace(A^p)</c>.</returns>
    public static double[] TracesOfPowers(double[] matrix, int n, int count)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ReferenceRecurrence.CheckLength(matrix, n * n, nameof(matrix));
        var traces = new double[count];
        var power = (double[])matrix.Clone();
        for (int p = 0; p < count; p++)
        {
            for (int i = 0; i < n; i++)
                traces[p] += power[(i * n) + i];
            power = Multiply(power, matrix, n);
        }
        return traces;
    }

    /// <summary>
    /// Gelfand's formula, <c>rho(A) = lim ||A^k||^(1/k)</c>, with k = 2^<paramref name="squarings"/> reached by repeated squaring,
    /// normalizing after each square and keeping the scale as a logarithm. Converges like <c>O(n log k / k)</c> in the exponent.
    /// </summary>
    /// <param name="matrix">A, <c>[n, n]</c>.</param>
    /// <param name="n">n.</param>
    /// <param name="squarings">m: the power is 2^m.</param>
    /// <returns>The estimate of the spectral radius.</returns>
    public static double GelfandSpectralRadius(double[] matrix, int n, int squarings)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ReferenceRecurrence.CheckLength(matrix, n * n, nameof(matrix));
        // A^(2^j) = exp(logScale_j) * power_j with ||power_j||_F = 1; logScale_{j+1} = 2 logScale_j + log ||power_j^2||_F.
        double norm = FrobeniusNorm(matrix);
        if (norm == 0)
            return 0;
        double logScale = Math.Log(norm);
        var power = Array.ConvertAll(matrix, v => v / norm);
        for (int j = 0; j < squarings; j++)
        {
            power = Multiply(power, power, n);
            double squareNorm = FrobeniusNorm(power);
            if (squareNorm == 0)
                return 0;
            logScale = (2 * logScale) + Math.Log(squareNorm);
            for (int i = 0; i < power.Length; i++)
                power[i] /= squareNorm;
        }
        return Math.Exp(logScale / Math.Pow(2, squarings));
    }

    /// <summary>The product <c>A B</c> of two <c>[n, n]</c> matrices.</summary>
    /// <param name="a">A.</param>
    /// <param name="b">B.</param>
    /// <param name="n">n.</param>
    /// <returns>A B, <c>[n, n]</c>.</returns>
    public static double[] Multiply(double[] a, double[] b, int n)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var product = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < n; k++)
            {
                double aik = a[(i * n) + k];
                for (int j = 0; j < n; j++)
                    product[(i * n) + j] += aik * b[(k * n) + j];
            }
        }
        return product;
    }
}
