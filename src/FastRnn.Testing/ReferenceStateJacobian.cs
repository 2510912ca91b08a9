// Legend: I input size, H hidden size, k steps, n state size (H; 2H for an LSTM's [h; c]).
namespace FastRnn.Testing;

/// <summary>
/// The Jacobian of the state after k reference steps with respect to the state before them, built column by column by
/// centered finite differences of the reference forward pass: independent of any analytic Jacobian.
/// </summary>
public static class ReferenceStateJacobian
{
    /// <summary>
    /// Runs <paramref name="parameters"/> over <paramref name="x"/> (k steps, in processing order, one sequence) from the
    /// given state and returns the final state: <c>[n]</c>, h then (LSTM) c.
    /// </summary>
    /// <param name="parameters">Elman, LSTM or GRU reference parameters.</param>
    /// <param name="x">The inputs, <c>[k, I]</c>, in the order they are processed.</param>
    /// <param name="state">The initial state, <c>[n]</c>.</param>
    /// <returns>The final state, <c>[n]</c>.</returns>
    public static double[] Run(ReferenceRnnParameters parameters, double[] x, double[] state)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(state);
        int H = parameters.HiddenSize, k = x.Length / parameters.InputSize;
        double[] h = state[..H];
        switch (parameters)
        {
            case ReferenceLstmParameters p:
                ReferenceLstmForward lstm = ReferenceLstm.Forward(p, k, 1, x, h, state[H..], null, reverse: false);
                return [.. lstm.HN, .. lstm.CN];
            case ReferenceGruParameters p:
                return ReferenceGru.Forward(p, k, 1, x, h, null, reverse: false).HN;
            case ReferenceElmanParameters p:
                return ReferenceElman.Forward(p, k, 1, x, h, null, reverse: false).HN;
            default:
                throw new NotSupportedException(parameters.GetType().Name);
        }
    }

    /// <summary>
    /// <c>d state_k / d state_0</c> through the k steps of <paramref name="x"/>, column j by
    /// <c>(Run(state + eps e_j) - Run(state - eps e_j)) / (2 eps)</c>.
    /// </summary>
    /// <param name="parameters">Elman, LSTM or GRU reference parameters.</param>
    /// <param name="x">The inputs, <c>[k, I]</c>, in processing order.</param>
    /// <param name="state">The state before the first step, <c>[n]</c>.</param>
    /// <param name="eps">The step.</param>
    /// <returns>The Jacobian, <c>[n, n]</c> row-major: (r, c) is d final[r] / d state[c].</returns>
    public static double[] FiniteDifference(ReferenceRnnParameters parameters, double[] x, double[] state, double eps = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(state);
        int n = state.Length;
        var jacobian = new double[n * n];
        var probe = (double[])state.Clone();
        for (int column = 0; column < n; column++)
        {
            probe[column] = state[column] + eps;
            double[] plus = Run(parameters, x, probe);
            probe[column] = state[column] - eps;
            double[] minus = Run(parameters, x, probe);
            probe[column] = state[column];
            for (int row = 0; row < n; row++)
                jacobian[(row * n) + column] = (plus[row] - minus[row]) / (2 * eps);
        }
        return jacobian;
    }

    /// <summary>The <c>[size, size]</c> block of an <c>[n, n]</c> matrix at (<paramref name="row0"/>, <paramref name="col0"/>).</summary>
    /// <param name="matrix">The matrix.</param>
    /// <param name="n">n.</param>
    /// <param name="row0">First row.</param>
    /// <param name="col0">First column.</param>
    /// <param name="size">The block's size.</param>
    /// <returns>The block, <c>[size, size]</c>.</returns>
    public static double[] Block(double[] matrix, int n, int row0, int col0, int size)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        var block = new double[size * size];
        for (int i = 0; i < size; i++)
            Array.Copy(matrix, ((row0 + i) * n) + col0, block, i * size, size);
        return block;
    }
}
