// Legend: fd the finite-difference estimate, a the analytic value (gradient . direction).
namespace FastRnn.Testing;

/// <summary>The outcome of a <see cref="GradientCheck"/>: the worst probe and its numbers.</summary>
/// <param name="Probes">How many directions (or coordinates) were probed.</param>
/// <param name="MaxRelativeError">The largest <see cref="GradientCheck.RelativeError"/> over the probes (0 when none).</param>
/// <param name="MaxAbsoluteError">The largest <c>|fd - a|</c> over the probes.</param>
/// <param name="WorstProbe">The index of the probe with the largest relative error (the coordinate, for a full check); -1 when none.</param>
/// <param name="WorstFiniteDifference">fd at the worst probe.</param>
/// <param name="WorstAnalytic">a at the worst probe.</param>
public sealed record GradientCheckReport(
    int Probes, double MaxRelativeError, double MaxAbsoluteError, int WorstProbe, double WorstFiniteDifference, double WorstAnalytic);
