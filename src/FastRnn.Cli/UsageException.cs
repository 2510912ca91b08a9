namespace FastRnn.Cli;

/// <summary>
/// Thrown by a command for a bad combination of arguments that the parser cannot see (exit code 2, like a parse error).
/// The message is printed as is after <c>fastrnn: error:</c>, so make it one sentence naming the option.
/// </summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the exception with the one-line message the user sees.</summary>
    public UsageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the one-line message the user sees and the cause.</summary>
    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public UsageException()
        : base("invalid usage")
    {
    }
}
