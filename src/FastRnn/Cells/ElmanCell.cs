// Legend: B_t active rows, H hidden size; G = 1.
namespace FastRnn.Cells;

/// <summary>The Elman step <c>h_t = f(z_t)</c>, <c>z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh</c>.</summary>
/// <remarks>Saves nothing beyond <c>h_t</c>: the derivative is taken from the output.</remarks>
internal readonly struct ElmanCell<TActivation>(TActivation activation) : IRecurrentCell
    where TActivation : struct, IActivation
{
    private readonly TActivation _activation = activation;

    public static int GateCount => 1;

    public static bool HasCellState => false;

    public static bool HasSeparateRecurrentProjection => false;

    // gates: [B_t, H] = z_t (left as is)  h: [B_t, H]
    public void ForwardStep(in ForwardStep step)
    {
        int count = step.Rows * step.Hidden;
        _activation.Invoke(step.Gates[..count], step.H[..count]);
    }

    // h_t = f(z_t)  =>  dz_t = dh_t * f'(z_t), with f' taken from h_t.
    public void BackwardStep(in BackwardStep step)
    {
        int count = step.Rows * step.Hidden;
        _activation.MultiplyByDerivative(step.H[..count], step.Dh[..count], step.DGates[..count]);
    }
}
