namespace FastRnn.IO;

/// <summary>How <see cref="Safetensors.LoadInto(ParameterStore, SafetensorsFile, SafetensorsLoadOptions?)"/> maps file tensors to parameters.</summary>
public sealed class SafetensorsLoadOptions
{
    /// <summary>
    /// Prepended to every parameter name to find its tensor in the file: with <c>rnn.</c>, parameter
    /// <c>weight_ih_l0</c> is read from <c>rnn.weight_ih_l0</c> (a PyTorch submodule's state-dict name). Empty by default.
    /// </summary>
    public string Prefix { get; init; } = "";

    /// <summary>
    /// When true, every file tensor whose name starts with <see cref="Prefix"/> must be one of the store's parameters,
    /// except those starting with one of <see cref="IgnoredPrefixes"/>; an unexpected tensor fails the load. False by
    /// default (extra tensors are ignored).
    /// </summary>
    public bool RejectUnexpectedTensors { get; init; }

    /// <summary>Name prefixes that are never unexpected, e.g. <c>grad.</c> for a file that also holds gradients.</summary>
    public IReadOnlyList<string> IgnoredPrefixes { get; init; } = [];
}
