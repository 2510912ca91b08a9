namespace FastRnn.Diagnostics;

/// <summary>
/// Which Jacobian of the final state with respect to the state k steps earlier a <see cref="JacobianNormSeries"/> measures.
/// "T" is each sequence's last processed step (for a reverse layer, t = 0), and "T - k" is k processing steps before it.
/// </summary>
public enum JacobianBlock
{
    /// <summary>
    /// <c>dh_T / dh_{T-k}</c> [H, H]. Elman and GRU: the whole state Jacobian <c>J_T ... J_{T-k+1}</c>. LSTM: the h-to-h
    /// block of the (h, c) Jacobian, i.e. through the full (h, c) recurrence (every path in between, the cell state's
    /// included) with <c>c_{T-k}</c> held fixed.
    /// </summary>
    Hidden,

    /// <summary>
    /// LSTM only: <c>dc_T / dc_{T-k}</c> [H, H], the c-to-c block of the (h, c) Jacobian: every path from <c>c_{T-k}</c> to
    /// <c>c_T</c> (through the forget gates, and through <c>h</c> and <c>W_hh</c> back into the gates) with <c>h_{T-k}</c> held fixed.
    /// </summary>
    Cell,

    /// <summary>LSTM only: <c>d(h_T, c_T) / d(h_{T-k}, c_{T-k})</c> [2H, 2H], the whole state Jacobian (h first, then c).</summary>
    State,

    /// <summary>
    /// LSTM only: the direct cell-to-cell path alone, <c>diag(f_T * ... * f_{T-k+1})</c> (the "constant error carousel" the
    /// seeds credit for LSTM's long memory): spectral norm <c>max_j prod f_j</c>, Frobenius <c>sqrt(sum_j (prod f_j)^2)</c>.
    /// It equals <see cref="Cell"/> when the paths through h vanish (e.g. saturated gates).
    /// </summary>
    ForgetPath,
}
