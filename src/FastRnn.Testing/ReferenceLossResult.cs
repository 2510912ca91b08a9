// Legend: N rows, C classes (or the row width of a regression target).
namespace FastRnn.Testing;

/// <summary>A loss value and its gradient with respect to the prediction (or logits).</summary>
/// <param name="Loss">The reduced loss.</param>
/// <param name="Gradient">dLoss/dprediction, same shape as the prediction; 0 on rows that are not valid.</param>
public sealed record ReferenceLossResult(double Loss, double[] Gradient);
