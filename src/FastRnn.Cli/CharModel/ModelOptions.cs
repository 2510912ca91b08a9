// Option factories the model commands (train, sample, gradflow, run) need beyond CliOptions: values that may be 0,
// fractions, and input files given as options. Same contract as CliOptions: a bad value is a parse error (exit 2)
// naming the option, what was expected and what was given.
using System.CommandLine;
using System.Globalization;

namespace FastRnn.Cli.CharModel;

/// <summary>Validated options for the model commands.</summary>
public static class ModelOptions
{
    /// <summary>A finite floating-point option, at least 0.</summary>
    public static Option<double> NonNegativeDouble(string name, double defaultValue, string description) =>
        Double(name, defaultValue, description, value => value >= 0 ? null : "must be at least 0");

    /// <summary>A finite floating-point option in [0, 1).</summary>
    public static Option<double> Fraction(string name, double defaultValue, string description) =>
        Double(name, defaultValue, description, value => value is >= 0 and < 1 ? null : "must be in [0, 1)");

    /// <summary>An input file given as an option; a missing file (or a directory) is a usage error naming the path.</summary>
    public static Option<FileInfo?> ExistingFile(string name, string description, bool required = false)
    {
        var option = new Option<FileInfo?>(name)
        {
            Description = description,
            HelpName = "FILE",
            Required = required,
        };
        option.Validators.Add(result =>
        {
            FileInfo? file = result.GetValueOrDefault<FileInfo?>();
            if (file is not null && !file.Exists)
            {
                result.AddError(Directory.Exists(file.FullName) ? $"{name}: '{file}' is a directory, not a file" : $"{name}: file not found: '{file}'");
            }
        });
        return option;
    }

    /// <summary>Whether <paramref name="option"/> was typed on the command line (not just defaulted).</summary>
    public static bool IsGiven(ParseResult parseResult, Option option)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        return parseResult.GetResult(option) is { Implicit: false };
    }

    private static Option<double> Double(string name, double defaultValue, string description, Func<double, string?> check)
    {
        return new Option<double>(name)
        {
            Description = description,
            HelpName = "X",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
                {
                    result.AddError($"{name}: '{text}' is not a finite number");
                    return 0;
                }

                string? error = check(value);
                if (error is not null)
                {
                    result.AddError($"{name}: {error}, got {text}");
                }

                return value;
            },
        };
    }
}
