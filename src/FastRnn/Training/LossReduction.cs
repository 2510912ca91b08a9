namespace FastRnn.Training;

/// <summary>How a loss combines its per-element terms.</summary>
public enum LossReduction
{
    /// <summary>Divide the sum by the number of valid targets (inside lengths, not ignored). With no valid target the loss and its gradient are 0.</summary>
    Mean,

    /// <summary>The plain sum over valid targets.</summary>
    Sum,
}
