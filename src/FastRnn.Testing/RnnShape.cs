// Legend: T time steps, B batch, I input size, H hidden size.
namespace FastRnn.Testing;

/// <summary>The sizes of one RNN test case.</summary>
/// <param name="T">Time steps (at least 1).</param>
/// <param name="B">Batch size (at least 1).</param>
/// <param name="I">Input size (at least 1).</param>
/// <param name="H">Hidden size (at least 1).</param>
public sealed record RnnShape(int T, int B, int I, int H);
