// Legend: n matrix size; a matrix is a row-major span, element (i, j) at i*n + j (or i*stride + j for a block view).
//
// Small dense linear algebra in double for the diagnostics (not a training path; allocation is fine):
//   - all eigenvalues of a real square matrix: Householder reduction to upper Hessenberg form, then the implicit
//     Francis double-shift QR iteration with deflation (Golub & Van Loan, Matrix Computations, 4th ed., algorithms
//     7.4.2 and 7.5.1-7.5.2), eigenvalues only, so each sweep touches only the active window;
//   - the largest singular value by power iteration on A^T A, for blocks of a larger matrix.
using System.Numerics;
using System.Numerics.Tensors;

namespace FastRnn.Diagnostics;

internal static class DenseMatrix
{
    // Wilkinson's limit for the iterations spent on one eigenvalue before giving up (EISPACK allows 30 per eigenvalue).
    private const int MaxSweepsPerEigenvalue = 60;

    // The unit roundoff of double, 2^-52.
    private const double Eps = 2.220446049250313e-16;

    /// <summary>The n eigenvalues of <paramref name="a"/> (overwritten), complex pairs adjacent, in no particular order.</summary>
    // a: [n, n]
    internal static Complex[] Eigenvalues(double[] a, int n)
    {
        var eigenvalues = new Complex[n];
        ReduceToHessenberg(a, n);
        double scale = 0;
        foreach (double v in a)
        {
            scale = Math.Max(scale, Math.Abs(v));
        }

        int hi = n - 1, sweeps = 0;
        while (hi >= 0)
        {
            // The unreduced block [l, hi]: walk up until a subdiagonal entry is negligible next to its neighbours.
            int l = hi;
            while (l > 0)
            {
                double neighbours = Math.Abs(a[((l - 1) * n) + l - 1]) + Math.Abs(a[(l * n) + l]);
                if (neighbours == 0)
                {
                    neighbours = scale;
                }

                if (Math.Abs(a[(l * n) + l - 1]) <= Eps * neighbours)
                {
                    a[(l * n) + l - 1] = 0;
                    break;
                }

                l--;
            }

            if (l == hi)
            {
                // A 1x1 block has split off: a real eigenvalue.
                eigenvalues[hi] = a[(hi * n) + hi];
                hi--;
                sweeps = 0;
            }
            else if (l == hi - 1)
            {
                // A 2x2 block has split off: a real pair or a complex-conjugate pair.
                (eigenvalues[hi - 1], eigenvalues[hi]) = Eigenvalues2x2(a[((hi - 1) * n) + hi - 1], a[((hi - 1) * n) + hi], a[(hi * n) + hi - 1], a[(hi * n) + hi]);
                hi -= 2;
                sweeps = 0;
            }
            else
            {
                if (++sweeps > MaxSweepsPerEigenvalue)
                {
                    throw new InvalidOperationException($"the QR iteration did not converge for the eigenvalue at {hi} of a {n}x{n} matrix");
                }

                // Shifts: the eigenvalues of the trailing 2x2 block as their sum s and product t (both real even when
                // the pair is complex). Every 10th sweep without deflation uses an exceptional shift to break cycles.
                double s, t;
                if (sweeps % 10 == 0)
                {
                    double w = Math.Abs(a[(hi * n) + hi - 1]) + Math.Abs(a[((hi - 1) * n) + hi - 2]);
                    s = 1.5 * w;
                    t = w * w;
                }
                else
                {
                    double p = a[((hi - 1) * n) + hi - 1], q = a[((hi - 1) * n) + hi], r = a[(hi * n) + hi - 1], d = a[(hi * n) + hi];
                    s = p + d;
                    t = (p * d) - (q * r);
                }

                FrancisStep(a, n, l, hi, s, t);
            }
        }

        return eigenvalues;
    }

    /// <summary>Largest singular value of a [rows, cols] matrix, from the largest eigenvalue of its smaller Gram matrix.</summary>
    // a: [rows, cols]
    internal static double LargestSingularValue(ReadOnlySpan<double> a, int rows, int cols)
    {
        if (rows == 0 || cols == 0)
        {
            return 0;
        }

        // G = A^T A [cols, cols] or A A^T [rows, rows], whichever is smaller; its eigenvalues are the squared singular values.
        bool transposed = rows < cols;
        int m = transposed ? rows : cols, inner = transposed ? cols : rows;
        double[] gram = new double[m * m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double sum = 0;
                for (int k = 0; k < inner; k++)
                {
                    sum += transposed ? a[(i * cols) + k] * a[(j * cols) + k] : a[(k * cols) + i] * a[(k * cols) + j];
                }

                gram[(i * m) + j] = sum;
                gram[(j * m) + i] = sum;
            }
        }

        // Rounding can leave a tiny imaginary part on a pair of close eigenvalues of the symmetric G; the modulus is safe.
        double largest = 0;
        foreach (Complex lambda in Eigenvalues(gram, m))
        {
            largest = Math.Max(largest, lambda.Magnitude);
        }

        return Math.Sqrt(largest);
    }

    /// <summary>
    /// Largest singular value of the block [rows, cols] at <paramref name="offset"/> with row stride <paramref name="stride"/>
    /// of <paramref name="a"/>, by power iteration on B^T B from a random start: v &lt;- B^T B v / ||B^T B v||, with the Rayleigh
    /// quotient ||B v||^2 as the estimate of sigma^2. Stops when the residual ||B^T B v - sigma^2 v|| falls below
    /// <paramref name="tolerance"/> * sigma^2 (the random start keeps a component along the top singular vector, so a small
    /// residual means the top one), or after <paramref name="maxIterations"/>. The estimate never exceeds the true value.
    /// </summary>
    // v, u: [cols]  w: [rows] scratch
    internal static double PowerIterationLargestSingularValue(
        ReadOnlySpan<double> a, int offset, int stride, int rows, int cols, Random random, int maxIterations, double tolerance,
        Span<double> v, Span<double> w, Span<double> u, out int iterations, out bool converged)
    {
        for (int j = 0; j < cols; j++)
        {
            v[j] = Gaussian(random);
        }

        Normalize(v);
        double lambda = 0;
        for (iterations = 1; iterations <= maxIterations; iterations++)
        {
            // w = B v;  lambda = ||w||^2 = v^T B^T B v;  u = B^T w
            u.Clear();
            for (int i = 0; i < rows; i++)
            {
                ReadOnlySpan<double> row = a.Slice(offset + (i * stride), cols);
                w[i] = TensorPrimitives.Dot(row, v);
                TensorPrimitives.MultiplyAdd(row, w[i], u, u);
            }

            lambda = TensorPrimitives.Dot(w[..rows], w[..rows]);
            if (lambda == 0)
            {
                // B v = 0 for a random v: B is zero (almost surely).
                converged = true;
                return 0;
            }

            // The residual is summed element by element: ||u||^2 - lambda^2 would cancel to ~1e-8 relative.
            double residualSquares = 0;
            for (int j = 0; j < cols; j++)
            {
                double e = u[j] - (lambda * v[j]);
                residualSquares += e * e;
            }

            double residual = Math.Sqrt(residualSquares);
            TensorPrimitives.Multiply(u, 1 / TensorPrimitives.Norm(u), v);
            if (residual <= tolerance * lambda)
            {
                converged = true;
                return Math.Sqrt(lambda);
            }
        }

        iterations = maxIterations;
        converged = false;
        return Math.Sqrt(lambda);
    }

    internal static double Gaussian(Random random)
    {
        // Box-Muller: Gaussian components make a random direction uniform on the sphere.
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static void Normalize(Span<double> v)
    {
        double norm = TensorPrimitives.Norm(v);
        if (norm == 0)
        {
            v[0] = 1;
            return;
        }

        TensorPrimitives.Multiply(v, 1 / norm, v);
    }

    // Householder similarity transforms Q^T A Q that zero each column below its subdiagonal (G&VL 7.4.2).
    // a: [n, n], overwritten by the upper Hessenberg matrix (entries below the subdiagonal set to exactly 0)
    private static void ReduceToHessenberg(double[] a, int n)
    {
        double[] v = new double[n];
        for (int k = 0; k < n - 2; k++)
        {
            // v = x + sign(x_0) ||x|| e_0 for x = a[k+1.., k]; P = I - beta v v^T maps x to -sign(x_0) ||x|| e_0.
            int m = n - k - 1;
            double norm = 0;
            for (int i = 0; i < m; i++)
            {
                v[i] = a[((k + 1 + i) * n) + k];
                norm = Math.Max(norm, Math.Abs(v[i]));
            }

            if (norm == 0)
            {
                continue;
            }

            // Scaled by the largest entry so the squares cannot overflow.
            double sumSquares = 0;
            for (int i = 0; i < m; i++)
            {
                v[i] /= norm;
                sumSquares += v[i] * v[i];
            }

            double alpha = Math.Sqrt(sumSquares) * (v[0] >= 0 ? 1 : -1);
            v[0] += alpha;
            double beta = 1 / (alpha * v[0]);

            // Left: rows k+1.., columns k..: A -= beta v (v^T A)
            for (int j = k; j < n; j++)
            {
                double dot = 0;
                for (int i = 0; i < m; i++)
                {
                    dot += v[i] * a[((k + 1 + i) * n) + j];
                }

                dot *= beta;
                for (int i = 0; i < m; i++)
                {
                    a[((k + 1 + i) * n) + j] -= dot * v[i];
                }
            }

            // Right: all rows, columns k+1..: A -= beta (A v) v^T
            for (int i = 0; i < n; i++)
            {
                Span<double> row = a.AsSpan((i * n) + k + 1, m);
                double dot = beta * TensorPrimitives.Dot(row, v.AsSpan(0, m));
                TensorPrimitives.MultiplyAdd(v.AsSpan(0, m), -dot, row, row);
            }

            for (int i = k + 2; i < n; i++)
            {
                a[(i * n) + k] = 0;
            }
        }
    }

    // One implicit double-shift QR sweep on the unreduced Hessenberg block [l, hi] (G&VL 7.5.1), with shifts given by
    // their sum s and product t: the first column of (H - s1 I)(H - s2 I) = H^2 - s H + t I starts a 3-row bulge that
    // Householder reflectors chase down the subdiagonal. Eigenvalues only, so only the block's rows and columns change.
    private static void FrancisStep(double[] a, int n, int l, int hi, double s, double t)
    {
        double h00 = a[(l * n) + l], h01 = a[(l * n) + l + 1], h10 = a[((l + 1) * n) + l], h11 = a[((l + 1) * n) + l + 1], h21 = a[((l + 2) * n) + l + 1];
        double x = (h00 * h00) + (h01 * h10) - (s * h00) + t;
        double y = h10 * (h00 + h11 - s);
        double z = h10 * h21;
        for (int k = l; k <= hi - 2; k++)
        {
            if (Reflector3(x, y, z, out double v0, out double v1, out double v2, out double beta))
            {
                // Rows k..k+2 from column max(l, k-1); then columns k..k+2 of rows l..min(k+3, hi).
                for (int j = Math.Max(l, k - 1); j <= hi; j++)
                {
                    double dot = beta * ((v0 * a[(k * n) + j]) + (v1 * a[((k + 1) * n) + j]) + (v2 * a[((k + 2) * n) + j]));
                    a[(k * n) + j] -= dot * v0;
                    a[((k + 1) * n) + j] -= dot * v1;
                    a[((k + 2) * n) + j] -= dot * v2;
                }

                for (int i = l; i <= Math.Min(k + 3, hi); i++)
                {
                    double dot = beta * ((a[(i * n) + k] * v0) + (a[(i * n) + k + 1] * v1) + (a[(i * n) + k + 2] * v2));
                    a[(i * n) + k] -= dot * v0;
                    a[(i * n) + k + 1] -= dot * v1;
                    a[(i * n) + k + 2] -= dot * v2;
                }
            }

            if (k > l)
            {
                // The reflector annihilated the bulge in column k-1.
                a[((k + 1) * n) + k - 1] = 0;
                a[((k + 2) * n) + k - 1] = 0;
            }

            x = a[((k + 1) * n) + k];
            y = a[((k + 2) * n) + k];
            z = k < hi - 2 ? a[((k + 3) * n) + k] : 0;
        }

        // The last bulge entry: a 2-row reflector on rows hi-1, hi.
        if (Reflector3(x, y, 0, out double u0, out double u1, out _, out double b))
        {
            for (int j = hi - 2; j <= hi; j++)
            {
                double dot = b * ((u0 * a[((hi - 1) * n) + j]) + (u1 * a[(hi * n) + j]));
                a[((hi - 1) * n) + j] -= dot * u0;
                a[(hi * n) + j] -= dot * u1;
            }

            for (int i = l; i <= hi; i++)
            {
                double dot = b * ((a[(i * n) + hi - 1] * u0) + (a[(i * n) + hi] * u1));
                a[(i * n) + hi - 1] -= dot * u0;
                a[(i * n) + hi] -= dot * u1;
            }
        }

        a[(hi * n) + hi - 2] = 0;
    }

    // P = I - beta v v^T with P (x, y, z)^T = -sign(x) ||(x, y, z)|| e_0; false when the vector is 0 (P = I).
    private static bool Reflector3(double x, double y, double z, out double v0, out double v1, out double v2, out double beta)
    {
        double scale = Math.Abs(x) + Math.Abs(y) + Math.Abs(z);
        if (scale == 0)
        {
            (v0, v1, v2, beta) = (0, 0, 0, 0);
            return false;
        }

        x /= scale;
        y /= scale;
        z /= scale;
        double alpha = Math.Sqrt((x * x) + (y * y) + (z * z)) * (x >= 0 ? 1 : -1);
        (v0, v1, v2) = (x + alpha, y, z);
        beta = 1 / (alpha * v0);
        return true;
    }

    // Eigenvalues of [[p, q], [r, d]]: d + h +- sqrt(h^2 + q r) with h = (p - d) / 2, the real pair formed without cancellation.
    private static (Complex, Complex) Eigenvalues2x2(double p, double q, double r, double d)
    {
        double h = 0.5 * (p - d), discriminant = (h * h) + (q * r);
        if (discriminant >= 0)
        {
            double root = Math.Sqrt(discriminant);
            double z = h + (h >= 0 ? root : -root);
            double first = d + z;
            double second = z == 0 ? d : d - (q * r / z);
            return (first, second);
        }

        double imaginary = Math.Sqrt(-discriminant);
        return (new Complex(d + h, imaginary), new Complex(d + h, -imaginary));
    }
}
