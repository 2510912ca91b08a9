namespace FastRnn.Tests;

internal static class RepositoryPaths
{
    /// <summary>A file of the repository, found by walking up from the test binaries to the folder holding FastRnn.sln.</summary>
    public static string File(string relativePath)
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "FastRnn.sln")))
            {
                return Path.Combine(directory.FullName, relativePath);
            }
        }

        throw new FileNotFoundException($"FastRnn.sln not found above {AppContext.BaseDirectory}");
    }
}
