namespace Tessera.Core.Audit.Sinks;

/// <summary>
/// Lines to a file, rotated by size: before a line that would take the file past
/// <c>maxSize</c>, the file is synced and renamed to <c>PATH.1</c> (<c>PATH.1</c> to <c>PATH.2</c>, …,
/// the oldest beyond <c>keep</c> deleted) and a new file begun, so a line is never split across
/// files. Each batch is synced (fsync) before <see cref="WriteAsync"/> returns, so the sink's cursor
/// never gets ahead of what is on disk. Files are created readable by the owner only (0600).
/// </summary>
public sealed class AuditSinkFile(string path, long maxSize, int keep) : AuditSinkOutput
{
    private FileStream? _file;

    /// <summary>The length of the current file up to its last synced line; a failed write is cut back to it.</summary>
    private long _synced = -1;

    /// <summary>The current file's length with what is buffered (lines go out in 64 KiB writes, not one system call each).</summary>
    private long _length;

    private const int BufferSize = 64 * 1024;

    public string Path => path;

    /// <summary>Opens (creating it 0600, with its directory) a file to write (and read back its last line) that others may read and rotate.</summary>
    internal static FileStream Open(string file, FileMode mode, int bufferSize = 0)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        var options = new FileStreamOptions
        {
            Mode = mode,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read | FileShare.Delete,
            BufferSize = bufferSize,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(file, options);
    }

    public override long? LastSeq()
    {
        foreach (var candidate in new[] { path, path + ".1" })
        {
            if (LastLine(candidate) is { } line)
            {
                // A line this sink did not write tells nothing: the cursor decides.
                try
                {
                    using var json = System.Text.Json.JsonDocument.Parse(line);
                    return json.RootElement.GetProperty("seq").GetInt64();
                }
                catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    return null;
                }
            }
        }

        return null;
    }

    public override async ValueTask WriteAsync(IReadOnlyList<byte[]> lines, CancellationToken cancellationToken)
    {
        var file = _file ??= OpenCurrent();
        foreach (var line in lines)
        {
            if (_length > 0 && _length + line.Length > maxSize)
            {
                file = await RotateAsync(file, cancellationToken);
            }

            await file.WriteAsync(line, cancellationToken);
            _length += line.Length;
        }

        await SyncAsync(file, cancellationToken);
        _synced = _length;
    }

    private static async Task SyncAsync(FileStream file, CancellationToken cancellationToken)
    {
        await file.FlushAsync(cancellationToken);
        file.Flush(flushToDisk: true);
    }

    public override void Reset()
    {
        try
        {
            _file?.Dispose();
        }
        catch (IOException)
        {
            // The handle is gone either way; the next write reopens the file and cuts it back.
        }

        _file = null;
    }

    /// <summary>
    /// Opens the current file at its end, cut back to its last complete line: what a failed write or
    /// a crash left after it (half a line, lines whose batch is written again) goes.
    /// </summary>
    private FileStream OpenCurrent()
    {
        var file = Open(path, FileMode.OpenOrCreate, BufferSize);
        try
        {
            var keepLength = _synced >= 0 && _synced <= file.Length ? _synced : CompleteLength(file);
            if (file.Length != keepLength)
            {
                file.SetLength(keepLength);
            }

            file.Seek(0, SeekOrigin.End);
            _length = keepLength;
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Syncs the current file, shifts the rotated ones (dropping the oldest) and begins a new one.</summary>
    private async Task<FileStream> RotateAsync(FileStream current, CancellationToken cancellationToken)
    {
        await SyncAsync(current, cancellationToken);
        await current.DisposeAsync();
        _file = null;
        File.Delete($"{path}.{keep}");
        for (var i = keep - 1; i >= 1; i--)
        {
            if (File.Exists($"{path}.{i}"))
            {
                File.Move($"{path}.{i}", $"{path}.{i + 1}");
            }
        }

        File.Move(path, path + ".1");
        _synced = 0;
        _length = 0;
        return _file = Open(path, FileMode.CreateNew, BufferSize);
    }

    /// <summary>The length of a file up to and including its last <c>\n</c>.</summary>
    private static long CompleteLength(FileStream file)
    {
        var buffer = new byte[64 * 1024];
        var end = file.Length;
        while (end > 0)
        {
            var start = Math.Max(0, end - buffer.Length);
            var count = (int)(end - start);
            RandomAccess.Read(file.SafeFileHandle, buffer.AsSpan(0, count), start);
            var newline = buffer.AsSpan(0, count).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                return start + newline + 1;
            }

            end = start;
        }

        return 0;
    }

    /// <summary>The last complete line of a file, or null when it has none (or does not exist).</summary>
    private static byte[]? LastLine(string file)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 0);
        var end = CompleteLength(stream);
        if (end == 0)
        {
            return null;
        }

        // The line before the last '\n': back to the '\n' before it, or the start of the file.
        var start = end - 1;
        var buffer = new byte[64 * 1024];
        while (start > 0)
        {
            var from = Math.Max(0, start - buffer.Length);
            var count = (int)(start - from);
            RandomAccess.Read(stream.SafeFileHandle, buffer.AsSpan(0, count), from);
            var newline = buffer.AsSpan(0, count).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                start = from + newline + 1;
                break;
            }

            start = from;
        }

        var line = new byte[end - 1 - start];
        RandomAccess.Read(stream.SafeFileHandle, line, start);
        return line;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file?.Dispose();
            _file = null;
        }

        base.Dispose(disposing);
    }
}
