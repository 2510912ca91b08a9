using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace FastRnn;

/// <summary>Throws out of line so that validation costs the hot paths one predictable branch.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    internal static void ThrowArgument(string paramName, string message) => throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    internal static void ThrowOutOfRange(string paramName, string message) => throw new ArgumentOutOfRangeException(paramName, message);

    internal static void ThrowIfNegative(int value, [CallerArgumentExpression(nameof(value))] string? paramName = null)
    {
        if (value < 0)
        {
            ThrowOutOfRange(paramName ?? "value", $"must be non-negative, was {value}");
        }
    }

    internal static void ThrowIfNotPositive(int value, [CallerArgumentExpression(nameof(value))] string? paramName = null)
    {
        if (value <= 0)
        {
            ThrowOutOfRange(paramName ?? "value", $"must be positive, was {value}");
        }
    }

    internal static void ThrowIfTooShort<T>(ReadOnlySpan<T> span, int needed, string paramName)
    {
        if (span.Length < needed)
        {
            ThrowArgument(paramName, $"expected at least {needed} elements, got {span.Length}");
        }
    }

    internal static void ThrowIfTooShort<T>(Span<T> span, int needed, string paramName) => ThrowIfTooShort((ReadOnlySpan<T>)span, needed, paramName);

    /// <summary>Exact length check for a tensor argument, naming its shape: "expected 24 elements ([T=2, B=3, I=4]), got 23".</summary>
    internal static void ThrowIfLengthMismatch<T>(ReadOnlySpan<T> span, string paramName, Dims shape)
    {
        if (span.Length != shape.Product)
        {
            ThrowArgument(paramName, $"expected {shape.Product} elements ({shape}), got {span.Length}");
        }
    }

    internal static void ThrowIfLengthMismatch<T>(Span<T> span, string paramName, Dims shape) => ThrowIfLengthMismatch((ReadOnlySpan<T>)span, paramName, shape);
}
