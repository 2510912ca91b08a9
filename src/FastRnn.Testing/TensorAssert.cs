// Legend: a tensor is compared as a flat span; index i is the row-major offset.
using System.Globalization;
using System.Numerics;
using System.Text;

namespace FastRnn.Testing;

/// <summary>Element-wise tensor comparisons that report the first mismatches and the largest difference.</summary>
public static class TensorAssert
{
    private const int ReportedMismatches = 5;

    /// <summary>
    /// Passes if the lengths match and <c>|a - e| &lt;= absolute + relative * |e|</c> for every element
    /// (equal infinities and NaN where NaN is expected also pass; NaN anywhere else fails).
    /// </summary>
    /// <param name="actual">The values computed in <c>float</c>.</param>
    /// <param name="expected">The reference values.</param>
    /// <param name="relative">The tolerance relative to <c>|e|</c>.</param>
    /// <param name="absolute">The absolute tolerance.</param>
    /// <param name="name">The tensor's name, for the message.</param>
    /// <exception cref="TensorMismatchException">Some element, or the length, differs.</exception>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double relative, double absolute, string name)
    {
        var widened = new double[actual.Length];
        for (int i = 0; i < actual.Length; i++)
            widened[i] = actual[i];
        Close(widened, expected, relative, absolute, name);
    }

    /// <summary>
    /// Passes if the lengths match and <c>|a - e| &lt;= absolute + relative * |e|</c> for every element
    /// (equal infinities and NaN where NaN is expected also pass; NaN anywhere else fails).
    /// </summary>
    /// <param name="actual">The computed values.</param>
    /// <param name="expected">The reference values.</param>
    /// <param name="relative">The tolerance relative to <c>|e|</c>.</param>
    /// <param name="absolute">The absolute tolerance.</param>
    /// <param name="name">The tensor's name, for the message.</param>
    /// <exception cref="TensorMismatchException">Some element, or the length, differs.</exception>
    public static void Close(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double relative, double absolute, string name)
    {
        int common = Math.Min(actual.Length, expected.Length);
        int mismatches = 0;
        double maxDiff = 0;
        var first = new StringBuilder();
        for (int i = 0; i < common; i++)
        {
            double a = actual[i], e = expected[i];
            double diff = Math.Abs(a - e);
            // Math.Max propagates NaN, so a NaN anywhere shows in the max difference.
            if (!(a == e || (double.IsNaN(a) && double.IsNaN(e))))
                maxDiff = Math.Max(maxDiff, diff);
            bool ok = a == e || (double.IsNaN(a) && double.IsNaN(e)) || diff <= absolute + (relative * Math.Abs(e));
            if (ok)
                continue;
            if (mismatches < ReportedMismatches)
                first.Append(CultureInfo.InvariantCulture, $"\n  [{i}] actual {a:R}, expected {e:R}, |diff| {diff:G6}");
            mismatches++;
        }
        if (mismatches == 0 && actual.Length == expected.Length)
            return;

        var message = new StringBuilder();
        message.Append(CultureInfo.InvariantCulture, $"Tensor '{name}' differs");
        if (actual.Length != expected.Length)
            message.Append(CultureInfo.InvariantCulture, $": length {actual.Length}, expected {expected.Length} (compared the first {common})");
        message.Append(CultureInfo.InvariantCulture, $"; {mismatches} of {common} elements outside |a - e| <= {absolute:G3} + {relative:G3} |e|");
        message.Append(CultureInfo.InvariantCulture, $"; max |diff| {maxDiff:G6}.");
        if (mismatches > 0)
            message.Append(CultureInfo.InvariantCulture, $" First {Math.Min(mismatches, ReportedMismatches)}:").Append(first);
        throw new TensorMismatchException(message.ToString(), name, mismatches, maxDiff);
    }

    /// <summary>Passes if every element equals <paramref name="value"/> (NaN equals NaN, 0 equals -0): for guard regions and zeroed padding.</summary>
    /// <param name="actual">The values.</param>
    /// <param name="value">The value every element must have.</param>
    /// <param name="name">The tensor's name, for the message.</param>
    /// <exception cref="TensorMismatchException">Some element differs.</exception>
    public static void AllEqual(ReadOnlySpan<float> actual, float value, string name) => AllEqualCore(actual, value, name);

    /// <summary>Passes if every element equals <paramref name="value"/> (NaN equals NaN, 0 equals -0): for guard regions and zeroed padding.</summary>
    /// <param name="actual">The values.</param>
    /// <param name="value">The value every element must have.</param>
    /// <param name="name">The tensor's name, for the message.</param>
    /// <exception cref="TensorMismatchException">Some element differs.</exception>
    public static void AllEqual(ReadOnlySpan<double> actual, double value, string name) => AllEqualCore(actual, value, name);

    private static void AllEqualCore<T>(ReadOnlySpan<T> actual, T value, string name)
        where T : IFloatingPoint<T>
    {
        int mismatches = 0;
        double maxDiff = 0;
        var first = new StringBuilder();
        for (int i = 0; i < actual.Length; i++)
        {
            // Equals, not ==: NaN guard values must match NaN.
            if (actual[i].Equals(value))
                continue;
            maxDiff = Math.Max(maxDiff, Math.Abs(double.CreateTruncating(actual[i]) - double.CreateTruncating(value)));
            if (mismatches < ReportedMismatches)
                first.Append(CultureInfo.InvariantCulture, $"\n  [{i}] actual {actual[i]:R}");
            mismatches++;
        }
        if (mismatches == 0)
            return;
        string message = string.Create(
            CultureInfo.InvariantCulture,
            $"Tensor '{name}': {mismatches} of {actual.Length} elements differ from {value:R}; max |diff| {maxDiff:G6}. First {Math.Min(mismatches, ReportedMismatches)}:{first}");
        throw new TensorMismatchException(message, name, mismatches, maxDiff);
    }
}
