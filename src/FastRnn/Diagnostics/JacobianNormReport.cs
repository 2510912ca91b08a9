// Legend: K maximum distance, B batch, H hidden size.
namespace FastRnn.Diagnostics;

/// <summary>What <see cref="JacobianNorms.Compute"/> measured: one <see cref="JacobianNormSeries"/> per <see cref="JacobianBlock"/> that applies to the layer.</summary>
public sealed class JacobianNormReport
{
    private readonly int[] _lengths;

    internal JacobianNormReport(int hiddenSize, int[] lengths, JacobianNormSeries hidden, JacobianNormSeries? cell, JacobianNormSeries? state, JacobianNormSeries? forgetPath)
    {
        HiddenSize = hiddenSize;
        _lengths = lengths;
        Hidden = hidden;
        Cell = cell;
        State = state;
        ForgetPath = forgetPath;
        var all = new List<JacobianNormSeries> { hidden };
        foreach (JacobianNormSeries? series in (ReadOnlySpan<JacobianNormSeries?>)[state, cell, forgetPath])
        {
            if (series is not null)
            {
                all.Add(series);
            }
        }

        Series = all;
    }

    /// <summary>H.</summary>
    public int HiddenSize { get; }

    /// <summary>K: distances 1..K were measured (each sequence up to its own length).</summary>
    public int MaxDistance => Hidden.MaxDistance;

    /// <summary>B.</summary>
    public int BatchSize => Hidden.BatchSize;

    /// <summary>The sequence lengths used, [B] (all T when none were given).</summary>
    public ReadOnlySpan<int> Lengths => _lengths;

    /// <summary><c>dh_T / dh_{T-k}</c> (see <see cref="JacobianBlock.Hidden"/>).</summary>
    public JacobianNormSeries Hidden { get; }

    /// <summary>LSTM only: <c>dc_T / dc_{T-k}</c> through every path (see <see cref="JacobianBlock.Cell"/>); otherwise null.</summary>
    public JacobianNormSeries? Cell { get; }

    /// <summary>LSTM only: the whole (h, c) state Jacobian (see <see cref="JacobianBlock.State"/>); otherwise null.</summary>
    public JacobianNormSeries? State { get; }

    /// <summary>LSTM only: the forget-gate path alone (see <see cref="JacobianBlock.ForgetPath"/>); otherwise null.</summary>
    public JacobianNormSeries? ForgetPath { get; }

    /// <summary>Every series present: <see cref="Hidden"/>, then for an LSTM <see cref="State"/>, <see cref="Cell"/>, <see cref="ForgetPath"/>.</summary>
    public IReadOnlyList<JacobianNormSeries> Series { get; }
}
