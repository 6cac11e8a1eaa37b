using Tessera.Core.Audit.Sinks;

namespace Tessera.Core.Tests.Audit;

public sealed class AuditSinkFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-sinkfile-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string FilePath => Path.Combine(_dir, "audit.jsonl");

    [Fact]
    public async Task Rotation_keeps_the_configured_number_of_files_and_never_splits_a_line()
    {
        using var file = new AuditSinkFile(FilePath, maxSize: 200, keep: 2);
        var lines = Enumerable.Range(1, 40).Select(Line).ToList();

        // Batches of different sizes, so rotation falls inside batches as well as between them.
        foreach (var batch in lines.Chunk(7))
        {
            await file.WriteAsync(batch, Ct);
        }

        Assert.True(File.Exists(FilePath + ".1"));
        Assert.True(File.Exists(FilePath + ".2"));
        Assert.False(File.Exists(FilePath + ".3"));
        var kept = new[] { FilePath + ".2", FilePath + ".1", FilePath }.Select(File.ReadAllBytes).ToList();
        Assert.All(kept, bytes => Assert.InRange(bytes.Length, 1, 200));
        Assert.All(kept, bytes => Assert.Equal((byte)'\n', bytes[^1]));

        // The newest lines, in order, none missing between the files and none cut.
        var text = string.Concat(kept.Select(Encoding.UTF8.GetString));
        var seqs = text[..^1].Split('\n').Select(l => JsonDocument.Parse(l).RootElement.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(41 - seqs.Count, seqs.Count).Select(i => (long)i), seqs);
        Assert.Equal(40, file.LastSeq());
    }

    [Fact]
    public async Task Half_a_line_left_by_a_crash_is_cut_before_the_next_line()
    {
        await File.WriteAllTextAsync(FilePath, Encoding.UTF8.GetString(Line(1)) + "{\"seq\":2,\"ty", Ct);
        using var file = new AuditSinkFile(FilePath, AuditSinkOptions.DefaultMaxSize, 3);

        Assert.Equal(1, file.LastSeq());
        await file.WriteAsync([Line(2)], Ct);

        Assert.Equal(Encoding.UTF8.GetString([.. Line(1), .. Line(2)]), await File.ReadAllTextAsync(FilePath, Ct));
    }

    [Fact]
    public void A_file_without_a_complete_line_tells_no_last_seq()
    {
        using var file = new AuditSinkFile(FilePath, AuditSinkOptions.DefaultMaxSize, 3);
        Assert.Null(file.LastSeq());

        File.WriteAllText(FilePath, "{\"seq\":1");
        Assert.Null(file.LastSeq());
    }

    [Fact]
    public async Task The_file_is_created_readable_and_writable_by_its_owner_only()
    {
        using var file = new AuditSinkFile(FilePath, maxSize: 200, keep: 1);

        await file.WriteAsync([.. Enumerable.Range(1, 5).Select(Line)], Ct);

        Assert.True(File.Exists(FilePath + ".1"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(FilePath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(FilePath + ".1"));
        }
    }

    /// <summary>A line about 60 bytes long, as a sink writes it.</summary>
    private static byte[] Line(int seq) => Encoding.UTF8.GetBytes($"{{\"seq\":{seq},\"type\":\"token.issued\",\"hash\":\"{seq:x8}\"}}\n");

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
