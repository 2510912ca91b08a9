// Legend: N rows, H input features, O outputs.
namespace FastRnn.Testing;

/// <summary>The gradients computed by <see cref="ReferenceLinear.Backward"/>.</summary>
/// <param name="DWeight">dL/dW, <c>[O, H]</c>.</param>
/// <param name="DBias">dL/db, <c>[O]</c>.</param>
/// <param name="DX">dL/dx, <c>[N, H]</c>.</param>
public sealed record ReferenceLinearGradients(double[] DWeight, double[] DBias, double[] DX);
