// Legend: a tensor is compared as a flat span of elements.
namespace FastRnn.Testing;

/// <summary>Thrown by <see cref="TensorAssert"/> when a tensor differs from what was expected; the message lists the first mismatches.</summary>
public sealed class TensorMismatchException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public TensorMismatchException()
        : base("Tensor mismatch.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public TensorMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TensorMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal TensorMismatchException(string message, string tensorName, int mismatchCount, double maxAbsoluteDifference)
        : base(message)
    {
        TensorName = tensorName;
        MismatchCount = mismatchCount;
        MaxAbsoluteDifference = maxAbsoluteDifference;
    }

    /// <summary>The name of the tensor that differed, if known.</summary>
    public string? TensorName { get; }

    /// <summary>How many elements differed (within the common length).</summary>
    public int MismatchCount { get; }

    /// <summary>The largest <c>|actual - expected|</c> over the common length (NaN if any element involved NaN).</summary>
    public double MaxAbsoluteDifference { get; }
}
