namespace FastRnn.Training;

/// <summary>Which fan a Kaiming (He) initialization preserves the variance of (PyTorch's <c>mode</c>).</summary>
public enum FanMode
{
    /// <summary>The number of inputs of each unit (a weight <c>[out, in]</c>'s second dimension): preserves the forward pass's variance.</summary>
    FanIn,

    /// <summary>The number of outputs (the first dimension): preserves the backward pass's variance.</summary>
    FanOut,
}
