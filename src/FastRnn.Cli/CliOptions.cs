// Option factories with uniform validation: a bad value is a parse error (exit 2) whose message names the option and
// says what was expected and what was given.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace FastRnn.Cli;

/// <summary>Builds validated options for commands.</summary>
public static class CliOptions
{
    /// <summary>An integer option, at least <paramref name="minimum"/>.</summary>
    public static Option<int> Int(string name, int defaultValue, string description, int minimum = 1)
    {
        return new Option<int>(name)
        {
            Description = description,
            HelpName = "N",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result => ParseSingle(result, name, (string text, out int value) =>
            {
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value))
                {
                    return $"'{text}' is not an integer";
                }

                return value < minimum ? string.Create(CultureInfo.InvariantCulture, $"must be at least {minimum}, got {value}") : null;
            }),
        };
    }

    /// <summary>A floating-point option, greater than <paramref name="exclusiveMinimum"/> and finite.</summary>
    public static Option<double> Double(string name, double defaultValue, string description, double exclusiveMinimum = 0)
    {
        return new Option<double>(name)
        {
            Description = description,
            HelpName = "X",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result => ParseSingle(result, name, (string text, out double value) =>
            {
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) || !double.IsFinite(value))
                {
                    return $"'{text}' is not a finite number";
                }

                return value > exclusiveMinimum ? null : string.Create(CultureInfo.InvariantCulture, $"must be greater than {exclusiveMinimum}, got {text}");
            }),
        };
    }

    /// <summary>A list of integers, each at least <paramref name="minimum"/>: <c>--name 16,64</c> or <c>--name 16 64</c>.</summary>
    public static Option<int[]> IntList(string name, IReadOnlyList<int> defaultValue, string description, int minimum = 1)
    {
        int[] defaults = [.. defaultValue];
        return new Option<int[]>(name)
        {
            Description = $"{description} (comma-separated)",
            HelpName = "N,N,...",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => defaults,
            CustomParser = result => ParseList(result, name, (string text, out int value) =>
            {
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value))
                {
                    return $"'{text}' is not an integer";
                }

                return value < minimum ? string.Create(CultureInfo.InvariantCulture, $"each value must be at least {minimum}, got {value}") : null;
            }),
        };
    }

    /// <summary>One cell by name: <c>elman</c>, <c>lstm</c> or <c>gru</c>.</summary>
    public static Option<CellKind> Cell(string name, CellKind defaultValue, string description)
    {
        return new Option<CellKind>(name)
        {
            Description = $"{description} ({CellNames.Expected})",
            HelpName = "CELL",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result => ParseSingle(result, name, (string text, out CellKind cell) =>
                CellNames.TryParse(text, out cell) ? null : $"unknown cell '{text}' (expected {CellNames.Expected})"),
        };
    }

    /// <summary>A list of cells by name: <c>--name elman,gru</c>.</summary>
    public static Option<CellKind[]> Cells(string name, string description)
    {
        return new Option<CellKind[]>(name)
        {
            Description = $"{description} ({CellNames.Expected}, comma-separated)",
            HelpName = "CELL,...",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [.. CellNames.All],
            CustomParser = result => ParseList(result, name, (string text, out CellKind cell) =>
                CellNames.TryParse(text, out cell) ? null : $"unknown cell '{text}' (expected {CellNames.Expected})"),
        };
    }

    /// <summary>An input file argument that must exist (a missing file is a usage error naming the path).</summary>
    public static Argument<FileInfo> ExistingFile(string name, string description)
    {
        var argument = new Argument<FileInfo>(name) { Description = description };
        argument.Validators.Add(result =>
        {
            FileInfo? file = result.GetValueOrDefault<FileInfo>();
            if (file is not null && !file.Exists)
            {
                result.AddError(Directory.Exists(file.FullName) ? $"'{file}' is a directory, not a file" : $"file not found: '{file}'");
            }
        });
        return argument;
    }

    private delegate string? ItemParser<T>(string text, out T value);

    // The option's single token; a bad value becomes the option's error ("--name: 'x' is not an integer").
    private static T ParseSingle<T>(ArgumentResult result, string name, ItemParser<T> parse)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        string? error = parse(text, out T value);
        if (error is not null)
        {
            result.AddError($"{name}: {error}");
        }

        return value;
    }

    // Splits every token at commas; the first bad item becomes the option's error.
    private static T[] ParseList<T>(ArgumentResult result, string name, ItemParser<T> parse)
    {
        var values = new List<T>();
        foreach (Token token in result.Tokens)
        {
            foreach (string item in token.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                string? error = parse(item, out T value);
                if (error is not null)
                {
                    result.AddError($"{name}: {error}");
                    return [];
                }

                values.Add(value);
            }
        }

        if (values.Count == 0)
        {
            result.AddError($"{name} needs at least one value");
        }

        return [.. values];
    }
}
