namespace FastRnn.Training;

/// <summary>
/// One named state buffer of an <see cref="Optimizer"/>, flat and in the layout of the parameter buffer it updates.
/// Names are PyTorch's per-parameter state keys (<c>momentum_buffer</c>, <c>square_avg</c>, <c>grad_avg</c>,
/// <c>exp_avg</c>, <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c>).
/// </summary>
/// <param name="Name">The state key.</param>
/// <param name="Values">The buffer: one float per parameter.</param>
public readonly record struct OptimizerStateBuffer(string Name, Memory<float> Values);
