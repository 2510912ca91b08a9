// Legend: I input size, H hidden size, G gates, n state size (H; 2H for the LSTM's [h; c]).
//
// The layer's cell re-written in double from its equations, one sequence and one step at a time, returning the next
// state and the step Jacobian d state_next / d state_prev as an explicit [n, n] matrix. Diagnostics only: clarity over
// speed, and independent of the float kernels (the weights are read from the layer and widened to double).
using FastRnn.Cells;
using FastRnn.Layers;

namespace FastRnn.Diagnostics;

internal abstract class StateJacobianCell
{
    // weightIh: [G*H, I]  weightHh: [G*H, H]  biasIh, biasHh, gi, gh: [G*H]
    private readonly double[] _weightIh;
    private readonly double[] _biasIh;
    private readonly double[] _biasHh;

    private protected StateJacobianCell(RecurrentLayer layer)
    {
        H = layer.HiddenSize;
        I = layer.InputSize;
        G = layer.GateCount;
        _weightIh = Widen(layer.WeightIh.Values);
        WeightHh = Widen(layer.WeightHh.Values);
        _biasIh = Widen(layer.BiasIh.Values);
        _biasHh = Widen(layer.BiasHh.Values);
        Gi = new double[G * H];
        Gh = new double[G * H];
    }

    /// <summary>n: the size of the state the Jacobian is taken over.</summary>
    public abstract int StateSize { get; }

    private protected int H { get; }

    private protected int I { get; }

    private protected int G { get; }

    private protected double[] WeightHh { get; }

    /// <summary>W_ih x + b_ih of the last step, [G*H].</summary>
    private protected double[] Gi { get; }

    /// <summary>W_hh h_prev + b_hh of the last step, [G*H].</summary>
    private protected double[] Gh { get; }

    public static StateJacobianCell Create(RecurrentLayer layer) => layer switch
    {
        ElmanLayer elman => new ElmanJacobianCell(elman),
        LstmLayer lstm => new LstmJacobianCell(lstm),
        GruLayer gru => new GruJacobianCell(gru),
        _ => throw new ArgumentException($"no Jacobian model for {layer.GetType().Name}", nameof(layer)),
    };

    /// <summary>One step: <paramref name="next"/> from <paramref name="x"/> and <paramref name="state"/>; the step Jacobian when <paramref name="jacobian"/> is not empty.</summary>
    /// <param name="x">x_t: [I].</param>
    /// <param name="state">The state before the step: [n] (h, then c for the LSTM).</param>
    /// <param name="next">The state after the step: [n].</param>
    /// <param name="jacobian">[n, n] row-major, d next[r] / d state[c] at (r, c); or empty to skip it.</param>
    public void Step(ReadOnlySpan<double> x, ReadOnlySpan<double> state, Span<double> next, Span<double> jacobian)
    {
        // gi = W_ih x + b_ih,  gh = W_hh h + b_hh (h is the first H entries of the state)
        ReadOnlySpan<double> h = state[..H];
        for (int r = 0; r < G * H; r++)
        {
            double sumX = _biasIh[r], sumH = _biasHh[r];
            ReadOnlySpan<double> wx = _weightIh.AsSpan(r * I, I), wh = WeightHh.AsSpan(r * H, H);
            for (int k = 0; k < I; k++)
            {
                sumX += wx[k] * x[k];
            }

            for (int k = 0; k < H; k++)
            {
                sumH += wh[k] * h[k];
            }

            Gi[r] = sumX;
            Gh[r] = sumH;
        }

        StepFromProjections(state, next, jacobian);
    }

    private protected abstract void StepFromProjections(ReadOnlySpan<double> state, Span<double> next, Span<double> jacobian);

    /// <summary>W_hh's gate block <paramref name="gate"/>, row <paramref name="row"/>: [H].</summary>
    private protected ReadOnlySpan<double> RecurrentRow(int gate, int row) => WeightHh.AsSpan(((gate * H) + row) * H, H);

    private protected static double Sigmoid(double a) => 1.0 / (1.0 + Math.Exp(-a));

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

/// <summary>Elman: <c>h' = f(z)</c>, <c>z = gi + gh</c>; <c>dh'/dh = diag(f'(z)) W_hh</c>.</summary>
internal sealed class ElmanJacobianCell(ElmanLayer layer) : StateJacobianCell(layer)
{
    private readonly Nonlinearity _nonlinearity = layer.Nonlinearity;
    private readonly double _slope = layer.Nonlinearity == Nonlinearity.Relu ? 0 : layer.LeakySlope;

    public override int StateSize => H;

    private protected override void StepFromProjections(ReadOnlySpan<double> state, Span<double> next, Span<double> jacobian)
    {
        for (int j = 0; j < H; j++)
        {
            // f'(z) as the fast path takes it: ReLU's derivative at 0 is 0, leaky ReLU's is the slope (PyTorch's).
            double z = Gi[j] + Gh[j], y, derivative;
            switch (_nonlinearity)
            {
                case Nonlinearity.Tanh:
                    y = Math.Tanh(z);
                    derivative = 1 - (y * y);
                    break;
                case Nonlinearity.Sigmoid:
                    y = Sigmoid(z);
                    derivative = y * (1 - y);
                    break;
                case Nonlinearity.Relu:
                case Nonlinearity.LeakyRelu:
                    (y, derivative) = z > 0 ? (z, 1.0) : (_slope * z, _slope);
                    break;
                default:
                    (y, derivative) = (z, 1.0);
                    break;
            }

            next[j] = y;
            if (!jacobian.IsEmpty)
            {
                // dh'_j / dh_m = f'(z_j) W_hh[j, m]
                ReadOnlySpan<double> w = RecurrentRow(0, j);
                Span<double> row = jacobian.Slice(j * H, H);
                for (int m = 0; m < H; m++)
                {
                    row[m] = derivative * w[m];
                }
            }
        }
    }
}

/// <summary>
/// LSTM over the state [h; c]: <c>i, f, o = sigmoid</c>, <c>g = tanh</c> of <c>a = gi + gh</c>, <c>c' = f*c + i*g</c>,
/// <c>h' = o*tanh(c')</c>. The Jacobian has four [H, H] blocks (rows h', c'; columns h, c).
/// </summary>
internal sealed class LstmJacobianCell(LstmLayer layer) : StateJacobianCell(layer)
{
    private readonly double[] _forget = new double[layer.HiddenSize];

    public override int StateSize => 2 * H;

    /// <summary>The forget gate f of the last step, [H].</summary>
    public ReadOnlySpan<double> ForgetGate => _forget;

    private protected override void StepFromProjections(ReadOnlySpan<double> state, Span<double> next, Span<double> jacobian)
    {
        int n = 2 * H;
        for (int j = 0; j < H; j++)
        {
            int ji = (LstmCell.I * H) + j, jf = (LstmCell.F * H) + j, jg = (LstmCell.G * H) + j, jo = (LstmCell.O * H) + j;
            double i = Sigmoid(Gi[ji] + Gh[ji]), f = Sigmoid(Gi[jf] + Gh[jf]), g = Math.Tanh(Gi[jg] + Gh[jg]), o = Sigmoid(Gi[jo] + Gh[jo]);
            double c = state[H + j];
            double cNext = (f * c) + (i * g), tc = Math.Tanh(cNext);
            next[j] = o * tc;
            next[H + j] = cNext;
            _forget[j] = f;
            if (jacobian.IsEmpty)
            {
                continue;
            }

            // dc'_j/dh_m = c_j f' W_f[j,m] + g_j i' W_i[j,m] + i_j g' W_g[j,m]     dc'_j/dc_m = f_j [j = m]
            // dh'_j/dh_m = tanh(c'_j) o' W_o[j,m] + o_j (1 - tanh^2 c'_j) dc'_j/dh_m   dh'_j/dc_m = o_j (1 - tanh^2 c'_j) f_j [j = m]
            double dF = c * f * (1 - f), dI = g * i * (1 - i), dG = i * (1 - (g * g)), dO = tc * o * (1 - o), dTc = o * (1 - (tc * tc));
            ReadOnlySpan<double> wi = RecurrentRow(LstmCell.I, j), wf = RecurrentRow(LstmCell.F, j), wg = RecurrentRow(LstmCell.G, j), wo = RecurrentRow(LstmCell.O, j);
            Span<double> hRow = jacobian.Slice(j * n, n), cRow = jacobian.Slice((H + j) * n, n);
            for (int m = 0; m < H; m++)
            {
                double dcdh = (dF * wf[m]) + (dI * wi[m]) + (dG * wg[m]);
                cRow[m] = dcdh;
                hRow[m] = (dO * wo[m]) + (dTc * dcdh);
            }

            hRow[H..].Clear();
            cRow[H..].Clear();
            cRow[H + j] = f;
            hRow[H + j] = dTc * f;
        }
    }
}

/// <summary>
/// GRU (linear-before-reset): <c>r, z = sigmoid(gi + gh)</c>, <c>n = tanh(gi_n + r * gh_n)</c> with <c>gh_n = W_hn h + b_hn</c>,
/// <c>h' = (1 - z) n + z h</c>.
/// </summary>
internal sealed class GruJacobianCell(GruLayer layer) : StateJacobianCell(layer)
{
    public override int StateSize => H;

    private protected override void StepFromProjections(ReadOnlySpan<double> state, Span<double> next, Span<double> jacobian)
    {
        for (int j = 0; j < H; j++)
        {
            int jr = (GruCell.R * H) + j, jz = (GruCell.Z * H) + j, jn = (GruCell.N * H) + j;
            double r = Sigmoid(Gi[jr] + Gh[jr]), z = Sigmoid(Gi[jz] + Gh[jz]), hn = Gh[jn], n = Math.Tanh(Gi[jn] + (r * hn));
            double h = state[j];
            next[j] = ((1 - z) * n) + (z * h);
            if (jacobian.IsEmpty)
            {
                continue;
            }

            // dh'_j/dh_m = z_j [j = m] + (h_j - n_j) z' W_z[j,m] + (1 - z_j)(1 - n_j^2) (r_j W_n[j,m] + hn_j r' W_r[j,m])
            double dZ = (h - n) * z * (1 - z), dN = (1 - z) * (1 - (n * n)), dNr = dN * r, dR = dN * hn * r * (1 - r);
            ReadOnlySpan<double> wr = RecurrentRow(GruCell.R, j), wz = RecurrentRow(GruCell.Z, j), wn = RecurrentRow(GruCell.N, j);
            Span<double> row = jacobian.Slice(j * H, H);
            for (int m = 0; m < H; m++)
            {
                row[m] = (dZ * wz[m]) + (dNr * wn[m]) + (dR * wr[m]);
            }

            row[j] += z;
        }
    }
}
