// Model-level safetensors: a whole ParameterStore saved and loaded by parameter name.
//
// Loading validates everything before it writes anything: every parameter present, shapes equal, dtype F32 or F64, no
// unexpected tensors when asked, and every F64 value within float range. The values are decoded into a staging buffer
// of the store's layout, and only when all of them decoded is the staging buffer copied into the store, so a failed load
// never leaves a half-loaded model.
using System.Text;

namespace FastRnn.IO;

/// <summary>Saves a <see cref="ParameterStore"/> as a safetensors file and loads one back, by parameter name.</summary>
public static class Safetensors
{
    // A load that fails lists its problems; past this many it says how many more there are.
    private const int MaxListedProblems = 16;

    /// <summary>
    /// Writes every parameter of <paramref name="store"/> as an F32 tensor under its name (PyTorch's state-dict names),
    /// replacing the file only once the new one is complete. For gradients or extra tensors, use
    /// <see cref="SafetensorsWriter"/> with <see cref="SafetensorsWriter.AddParameters"/> and
    /// <see cref="SafetensorsWriter.AddGradients"/>.
    /// </summary>
    /// <param name="store">The parameters.</param>
    /// <param name="path">The file's path.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> entries.</param>
    public static void Save(ParameterStore store, string path, IEnumerable<KeyValuePair<string, string>>? metadata = null) =>
        CreateWriter(store, metadata).WriteTo(path);

    /// <summary>Writes every parameter of <paramref name="store"/> as an F32 tensor under its name, to a stream.</summary>
    /// <param name="store">The parameters.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> entries.</param>
    public static void Save(ParameterStore store, Stream stream, IEnumerable<KeyValuePair<string, string>>? metadata = null) =>
        CreateWriter(store, metadata).WriteTo(stream);

    /// <summary>Reads a file and loads it into <paramref name="store"/>; see <see cref="LoadInto(ParameterStore, SafetensorsFile, SafetensorsLoadOptions?)"/>.</summary>
    /// <param name="store">The parameters to fill.</param>
    /// <param name="path">The file's path.</param>
    /// <param name="options">Name prefix and strictness; defaults when null.</param>
    /// <exception cref="InvalidDataException">The file is invalid or does not match the store; the store is unchanged.</exception>
    public static void LoadInto(ParameterStore store, string path, SafetensorsLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        SafetensorsFile file = SafetensorsFile.Read(path);
        try
        {
            LoadInto(store, file, options);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Reads a file from a stream and loads it into <paramref name="store"/>; see <see cref="LoadInto(ParameterStore, SafetensorsFile, SafetensorsLoadOptions?)"/>.</summary>
    /// <param name="store">The parameters to fill.</param>
    /// <param name="stream">A readable stream holding one safetensors file; it is not closed.</param>
    /// <param name="options">Name prefix and strictness; defaults when null.</param>
    /// <exception cref="InvalidDataException">The file is invalid or does not match the store; the store is unchanged.</exception>
    public static void LoadInto(ParameterStore store, Stream stream, SafetensorsLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        LoadInto(store, SafetensorsFile.Read(stream), options);
    }

    /// <summary>
    /// Fills every parameter of <paramref name="store"/> from the file tensor named <c>Prefix + name</c>. Each must exist,
    /// have exactly the parameter's shape and be F32 or F64 (rounded to float; a finite value beyond the float range
    /// fails). With <see cref="SafetensorsLoadOptions.RejectUnexpectedTensors"/>, tensors under the prefix that match no
    /// parameter fail the load too. Everything is checked first and the store is written only when all of it passed, so
    /// on failure the store is unchanged. Gradients are never touched.
    /// </summary>
    /// <param name="store">The parameters to fill.</param>
    /// <param name="file">A parsed safetensors file.</param>
    /// <param name="options">Name prefix and strictness; defaults when null.</param>
    /// <exception cref="InvalidDataException">The file does not match the store; the message lists every mismatch.</exception>
    public static void LoadInto(ParameterStore store, SafetensorsFile file, SafetensorsLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(file);
        options ??= new SafetensorsLoadOptions();
        string prefix = options.Prefix ?? "";

        var problems = new List<string>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (ParameterTensor parameter in store.Tensors)
        {
            string key = prefix + parameter.Name;
            expected.Add(key);
            string shown = SafetensorsErrors.Quote(key);
            if (!file.TryGetInfo(key, out SafetensorsTensorInfo? info))
            {
                problems.Add($"missing tensor {shown} (the model's {parameter.ShapeText})");
                continue;
            }

            if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.F64))
            {
                problems.Add($"tensor {shown} is {info.DType.HeaderName()}; parameters load from F32 or F64");
            }

            if (!info.Shape.SequenceEqual(parameter.Shape))
            {
                problems.Add($"tensor {shown} has shape {info.ShapeText} in the file, the model expects {parameter.ShapeText}");
            }
        }

        if (options.RejectUnexpectedTensors)
        {
            foreach (string name in file.Names)
            {
                if (name.StartsWith(prefix, StringComparison.Ordinal) && !expected.Contains(name) && !IsIgnored(name, options.IgnoredPrefixes))
                {
                    problems.Add($"unexpected tensor {SafetensorsErrors.Quote(name)} (not a parameter of the model)");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw SafetensorsErrors.Invalid("the file does not match the model: " + Join(problems));
        }

        // Decode into a staging copy of the store's layout; ReadAsFloat32 may still fail (an F64 value out of range),
        // and that must happen before the store is touched.
        float[] staging = new float[store.Length];
        foreach (ParameterTensor parameter in store.Tensors)
        {
            file.ReadAsFloat32(prefix + parameter.Name, staging.AsSpan(parameter.Offset, parameter.Length));
        }

        staging.CopyTo(store.Values);
    }

    private static SafetensorsWriter CreateWriter(ParameterStore store, IEnumerable<KeyValuePair<string, string>>? metadata)
    {
        ArgumentNullException.ThrowIfNull(store);
        var writer = new SafetensorsWriter();
        if (metadata is not null)
        {
            foreach (KeyValuePair<string, string> item in metadata)
            {
                writer.AddMetadata(item.Key, item.Value);
            }
        }

        return writer.AddParameters(store);
    }

    private static bool IsIgnored(string name, IReadOnlyList<string>? ignoredPrefixes)
    {
        if (ignoredPrefixes is null)
        {
            return false;
        }

        foreach (string ignored in ignoredPrefixes)
        {
            if (!string.IsNullOrEmpty(ignored) && name.StartsWith(ignored, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string Join(List<string> problems)
    {
        var text = new StringBuilder();
        int listed = Math.Min(problems.Count, MaxListedProblems);
        for (int i = 0; i < listed; i++)
        {
            text.Append(i == 0 ? "" : "; ").Append(problems[i]);
        }

        if (problems.Count > listed)
        {
            text.Append($"; and {problems.Count - listed} more");
        }

        return text.ToString();
    }
}
