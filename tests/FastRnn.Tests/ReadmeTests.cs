namespace FastRnn.Tests;

public class ReadmeTests
{
    [Fact]
    public void Embedding_example_trains()
    {
        (float first, float last) = ReadmeExample.Run();
        Assert.True(first > 0.5f, $"initial loss {first}");
        Assert.True(last < 0.05f, $"loss went from {first} to {last}");
    }

    [Fact]
    public void Readme_shows_the_tested_example_verbatim()
    {
        string source = File.ReadAllText(RepositoryPaths.File("tests/FastRnn.Tests/ReadmeExample.cs"));
        int begin = source.IndexOf("// begin-readme", StringComparison.Ordinal);
        int end = source.IndexOf("// end-readme", StringComparison.Ordinal);
        string[] lines = source[(source.IndexOf('\n', begin) + 1)..source.LastIndexOf('\n', end)].Split('\n');
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        string snippet = string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart())).TrimEnd();

        string readme = File.ReadAllText(RepositoryPaths.File("README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.True(readme.Contains(snippet, StringComparison.Ordinal), "README.md must contain the example from ReadmeExample.cs verbatim:\n" + snippet);
    }
}
