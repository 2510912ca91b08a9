// `fastrnn sample`: text from a `fastrnn train` checkpoint, one character per forward call with the carried state.
// stdout holds exactly the prompt and the generated characters (so the output can be piped); nothing is written to --out.
using System.CommandLine;
using FastRnn.Cli.CharModel;
using FastRnn.Training;

namespace FastRnn.Cli.Commands;

/// <summary>Generates text from a character model checkpoint.</summary>
internal sealed class SampleCommand() : CliCommand("sample", "Generate text from a `fastrnn train` checkpoint")
{
    private readonly Option<FileInfo?> _model = ModelOptions.ExistingFile("--model", "Checkpoint written by `fastrnn train`", required: true);
    private readonly Option<string?> _prompt = new("--prompt")
    {
        Description = "Text the model reads first and the output starts with (default: start after a newline, not printed)",
        HelpName = "TEXT",
    };

    private readonly Option<int> _length = CliOptions.Int("--length", 200, "Characters to generate", minimum: 0);
    private readonly Option<double> _temperature = ModelOptions.NonNegativeDouble("--temperature", 0.8, "Softmax temperature: lower is more conservative, 0 always takes the most likely character");

    protected override IReadOnlyList<Symbol> Symbols => [_model, _prompt, _length, _temperature];

    protected internal override int Execute(ParseResult parseResult, CommandContext context)
    {
        string? prompt = parseResult.GetValue(_prompt);
        if (prompt is { Length: 0 })
        {
            throw new UsageException("--prompt needs at least one character (leave it out to start after a newline)");
        }

        CharCheckpoint checkpoint = CharCheckpoint.Read(parseResult.GetValue(_model)!.FullName);
        CharVocabulary vocabulary = checkpoint.Vocabulary;
        int[] promptIds;
        if (prompt is null)
        {
            promptIds = CharSampler.DefaultPrompt(vocabulary);
        }
        else
        {
            try
            {
                promptIds = vocabulary.Encode(prompt, "--prompt", dropUnknown: false, out _);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message, e);
            }
        }

        SequenceModel model = checkpoint.CreateModel();
        int[] generated = new CharSampler(model).Generate(
            promptIds, parseResult.GetValue(_length), parseResult.GetValue(_temperature), (ulong)(uint)context.Seed);
        TextWriter output = context.Console.Profile.Out.Writer;
        output.Write(prompt ?? "");
        output.WriteLine(CharSampler.Decode(vocabulary, generated));
        output.Flush();
        return FastRnnCli.Success;
    }
}
