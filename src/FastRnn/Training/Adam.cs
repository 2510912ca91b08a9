// Legend: P parameters. The update, line by line against PyTorch, is in AdamUpdate.cs.
namespace FastRnn.Training;

/// <summary>
/// Adam (Kingma and Ba, 2015) with PyTorch's <c>torch.optim.Adam</c> update rule: weight decay is an L2 penalty added to
/// the gradient (for decoupled weight decay use <see cref="AdamW"/>); optional AMSGrad.
/// </summary>
/// <remarks>State: <c>exp_avg</c>, <c>exp_avg_sq</c>, and <c>max_exp_avg_sq</c> with AMSGrad; bias corrections use <see cref="Optimizer.StepCount"/>.</remarks>
public sealed class Adam : Optimizer
{
    /// <summary>The first-moment (gradient) running average.</summary>
    public const string ExpAvg = AdamUpdate.ExpAvg;

    /// <summary>The second-moment (squared gradient) running average.</summary>
    public const string ExpAvgSq = AdamUpdate.ExpAvgSq;

    /// <summary>The running maximum of <see cref="ExpAvgSq"/> (AMSGrad).</summary>
    public const string MaxExpAvgSq = AdamUpdate.MaxExpAvgSq;

    /// <summary>Creates the optimizer; the defaults are PyTorch's.</summary>
    /// <param name="learningRate">Step size, finite and &gt;= 0.</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator, finite and &gt;= 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, finite and &gt;= 0.</param>
    /// <param name="amsgrad">Normalize by the running maximum of the second moment (Reddi et al., 2018).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    public Adam(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : base(learningRate, AdamUpdate.StateNames(amsgrad))
    {
        AdamUpdate.ValidateHyperparameters(beta1, beta2, epsilon, weightDecay);
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        AmsGrad = amsgrad;
    }

    /// <summary>Decay of the first-moment average.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second-moment average.</summary>
    public double Beta2 { get; }

    /// <summary>Added to the denominator.</summary>
    public double Epsilon { get; }

    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>Whether AMSGrad is used.</summary>
    public bool AmsGrad { get; }

    private protected override void Update(Span<float> values, ReadOnlySpan<float> gradients, long step)
        => AdamUpdate.Run(
            values, gradients, StateBuffer(0), StateBuffer(1), AmsGrad ? StateBuffer(2) : default,
            new AdamUpdate.Hyper(LearningRate, Beta1, Beta2, Epsilon, WeightDecay, Decoupled: false, step));
}
