namespace FastRnn.Diagnostics;

/// <summary>
/// What a recurrent weight predicts for gradients flowing back through time, from its spectral radius rho, its largest
/// singular value sigma and the largest derivative gamma of the activation it feeds (1 for tanh and ReLU, 0.25 for
/// sigmoid). BPTT multiplies one Jacobian <c>diag(f'(z_t)) W_hh</c> per step, whose norm is at most <c>gamma * sigma</c>.
/// </summary>
/// <remarks>
/// The readings follow Pascanu, Mikolov and Bengio, "On the difficulty of training recurrent neural networks" (ICML 2013):
/// <c>sigma * gamma &lt; 1</c> is sufficient for vanishing gradients, <c>sigma * gamma &gt; 1</c> is necessary for exploding
/// ones; the radius reading (<c>rho * gamma</c> against 1) is the usual eigenvalue heuristic. Saturated units have
/// <c>f'</c> well below gamma, so exploding is a risk, never a certainty.
/// </remarks>
public enum GradientFlowReading
{
    /// <summary><c>sigma * gamma &lt; 1</c>: every step's Jacobian shrinks every vector, so gradients vanish at least geometrically.</summary>
    VanishingGuaranteed,

    /// <summary><c>rho * gamma &lt; 1 &lt;= sigma * gamma</c>: predicted to vanish over long distances, after possible transient growth.</summary>
    VanishingPredicted,

    /// <summary><c>rho * gamma</c> within <see cref="RecurrentWeightSpectra.MarginalTolerance"/> of 1 (e.g. an orthogonal weight with tanh): neither predicted.</summary>
    Marginal,

    /// <summary><c>rho * gamma &gt; 1</c>: gradients risk exploding where units are not saturated.</summary>
    ExplodingRisk,
}
