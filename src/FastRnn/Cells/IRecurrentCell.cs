// Legend: B_t active rows at this step, H hidden size, G gates per cell.
namespace FastRnn.Cells;

/// <summary>
/// The pointwise ("post-GEMM") part of one time step of a recurrent cell. The sequence driver owns the time loop and
/// the GEMMs; a cell only turns gate pre-activations into states, and state gradients into gate gradients.
/// </summary>
internal interface IRecurrentCell
{
    /// <summary>G: gate blocks per hidden unit in the PyTorch weight layout (Elman 1, GRU 3, LSTM 4).</summary>
    static abstract int GateCount { get; }

    /// <summary>One forward step over the active rows.</summary>
    /// <param name="rows">B_t.</param>
    /// <param name="hidden">H.</param>
    /// <param name="gates">[B_t, G*H]: in, the pre-activations (both projections and both biases); out, what
    /// <see cref="BackwardStep"/> needs (the cell decides, e.g. post-activation gates).</param>
    /// <param name="hPrev">[B_t, H] the previous state.</param>
    /// <param name="h">[B_t, H] the new state.</param>
    void ForwardStep(int rows, int hidden, Span<float> gates, ReadOnlySpan<float> hPrev, Span<float> h);

    /// <summary>One backward step over the active rows.</summary>
    /// <param name="rows">B_t.</param>
    /// <param name="hidden">H.</param>
    /// <param name="dh">[B_t, H] the total gradient at h_t (output gradient plus the carried <c>dhNext</c>).</param>
    /// <param name="gates">[B_t, G*H] what <see cref="ForwardStep"/> saved.</param>
    /// <param name="hPrev">[B_t, H] the previous state.</param>
    /// <param name="h">[B_t, H] the state this step produced.</param>
    /// <param name="dGates">[B_t, G*H] out: the gradient at the gate pre-activations.</param>
    void BackwardStep(int rows, int hidden, ReadOnlySpan<float> dh, ReadOnlySpan<float> gates, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> h, Span<float> dGates);
}
