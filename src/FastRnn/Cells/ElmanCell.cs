// Legend: B_t active rows, H hidden size; G = 1.
namespace FastRnn.Cells;

/// <summary>The Elman step <c>h_t = f(z_t)</c>, <c>z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh</c>.</summary>
/// <remarks>Saves nothing beyond <c>h_t</c>: the derivative is taken from the output.</remarks>
internal readonly struct ElmanCell<TActivation>(TActivation activation) : IRecurrentCell
    where TActivation : struct, IActivation
{
    private readonly TActivation _activation = activation;

    public static int GateCount => 1;

    // gates: [B_t, H] = z_t (left as is)  h: [B_t, H]
    public void ForwardStep(int rows, int hidden, Span<float> gates, ReadOnlySpan<float> hPrev, Span<float> h)
        => _activation.Invoke(gates[..(rows * hidden)], h[..(rows * hidden)]);

    // h_t = f(z_t)  =>  dz_t = dh_t * f'(z_t), with f' taken from h_t.
    public void BackwardStep(int rows, int hidden, ReadOnlySpan<float> dh, ReadOnlySpan<float> gates, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> h, Span<float> dGates)
    {
        int count = rows * hidden;
        _activation.MultiplyByDerivative(h[..count], dh[..count], dGates[..count]);
    }
}
