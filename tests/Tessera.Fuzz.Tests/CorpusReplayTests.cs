using Tessera.Fuzz.Targets;

namespace Tessera.Fuzz.Tests;

/// <summary>
/// Every input the fuzzer kept (tools/Tessera.Fuzz/corpus/&lt;target&gt;) still gives an outcome the target
/// documents: a fixed crash stays fixed, and a change that breaks a parser on an input it once handled fails here.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string> Targets => [.. FuzzTargets.ByName.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_corpus_input_of_the_target_gives_a_documented_outcome(string target)
    {
        var folder = Path.Combine(RepositoryRoot(), "tools", "Tessera.Fuzz", "corpus", target);
        var files = Directory.GetFiles(folder);
        Assert.NotEmpty(files);

        var run = FuzzTargets.ByName[target];
        foreach (var file in files)
        {
            var input = File.ReadAllBytes(file);
            var thrown = Record.Exception(() => run(input));
            Assert.True(thrown is null, $"{target}/{Path.GetFileName(file)}: {thrown}");
        }
    }

    [Fact]
    public void Every_target_has_a_corpus_and_every_corpus_a_target()
    {
        var folders = Directory.GetDirectories(Path.Combine(RepositoryRoot(), "tools", "Tessera.Fuzz", "corpus")).Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(FuzzTargets.ByName.Keys.Order(StringComparer.Ordinal), folders);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tessera.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Tessera.slnx not found above " + AppContext.BaseDirectory);
    }
}
