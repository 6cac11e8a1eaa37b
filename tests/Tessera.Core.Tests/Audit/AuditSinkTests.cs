using System.Buffers;
using Tessera.Core.Audit.Sinks;

namespace Tessera.Core.Tests.Audit;

public sealed class AuditSinkTests : IAsyncDisposable
{
    private readonly MemoryAuditStore _store = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-sink-").FullName;
    private AuditLog? _log;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string FilePath => Path.Combine(_dir, "logs", "audit.jsonl");

    [Fact]
    public async Task A_file_sink_receives_every_event_in_order_exactly_once_across_a_restart()
    {
        var log = await LogAsync();
        await AppendAsync(log, 5);
        await using (var first = Start(log, new AuditSinkFile(FilePath, AuditSinkOptions.DefaultMaxSize, 3)))
        {
            await UntilAsync(first.Sink, s => s.Delivered == 5);
            await AppendAsync(log, 2);
            await UntilAsync(first.Sink, s => s.Delivered == 7);
        }

        // Committed while no sink runs: the next one starts from its cursor.
        await AppendAsync(log, 3);
        await using (var second = Start(log, new AuditSinkFile(FilePath, AuditSinkOptions.DefaultMaxSize, 3)))
        {
            await UntilAsync(second.Sink, s => s.Delivered == 10);
        }

        Assert.Equal(ExpectedLines(1, 10), File.ReadAllText(FilePath));
    }

    [Fact]
    public async Task A_file_sink_resumes_after_its_last_line_when_its_cursor_was_not_saved_before_a_crash()
    {
        var log = await LogAsync();
        await AppendAsync(log, 6);
        await using (var first = Start(log, new AuditSinkFile(FilePath, AuditSinkOptions.DefaultMaxSize, 3)))
        {
            await UntilAsync(first.Sink, s => s.Delivered == 6);
        }

        // A crash after the lines were synced and before the cursor was written, and half a line after them.
        using (var cursor = new AuditSinkCursor(CursorPath))
        {
            cursor.Save(2);
        }

        await File.AppendAllTextAsync(FilePath, "{\"seq\":7,\"ti", Ct);
        await AppendAsync(log, 2);
        await using (var second = Start(log, new AuditSinkFile(FilePath, AuditSinkOptions.DefaultMaxSize, 3)))
        {
            await UntilAsync(second.Sink, s => s.Delivered == 8);
        }

        Assert.Equal(ExpectedLines(1, 8), File.ReadAllText(FilePath));
    }

    [Fact]
    public async Task A_sink_that_cannot_write_fails_no_append_is_reported_and_catches_up_with_nothing_missing_once_it_can()
    {
        var log = await LogAsync();

        // The sink's directory cannot be made: a file stands where it should be.
        var blocked = Path.Combine(_dir, "logs");
        await File.WriteAllTextAsync(blocked, "not a directory", Ct);
        await using var running = Start(log, new AuditSinkFile(FilePath, AuditSinkOptions.DefaultMaxSize, 3));

        // Every action is recorded and acknowledged while the sink fails.
        await AppendAsync(log, 4);
        await UntilAsync(running.Sink, s => s.Failures > 0 && s.Status().Lag == 4);
        var failing = running.Sink.Status();
        Assert.Equal(0, failing.Delivered);
        Assert.Equal(_time.GetUtcNow(), failing.FailingSince);

        // More events while it is down, then the directory can be made and the retry comes.
        await AppendAsync(log, 3);
        File.Delete(blocked);
        _time.Advance(AuditSink.FirstRetryInterval);
        await UntilAsync(running.Sink, s => s.Delivered == 7);

        Assert.Null(running.Sink.Status().FailingSince);
        Assert.Equal(0, running.Sink.Status().Lag);
        Assert.Equal(ExpectedLines(1, 7), File.ReadAllText(FilePath));
    }

    [Fact]
    public async Task A_sink_whose_stream_fails_half_way_writes_the_batch_again_and_backs_off_while_it_fails()
    {
        var log = await LogAsync();
        var stream = new ScriptedStream { Failing = true };
        await using var running = Start(log, new AuditSinkStream(stream));
        await AppendAsync(log, 3);
        await UntilAsync(running.Sink, s => s.Failures == 1);

        // The second attempt comes after the first interval, the third only after twice as long.
        _time.Advance(AuditSink.FirstRetryInterval);
        await UntilAsync(running.Sink, s => s.Failures == 2);
        _time.Advance(AuditSink.FirstRetryInterval);
        Assert.Equal(2, running.Sink.Failures);
        stream.Failing = false;
        _time.Advance(AuditSink.FirstRetryInterval);
        await UntilAsync(running.Sink, s => s.Delivered == 3);

        Assert.Equal(ExpectedLines(1, 3), Encoding.UTF8.GetString(stream.Written()));
    }

    [Fact]
    public async Task A_sink_stuck_writing_holds_up_no_append()
    {
        var log = await LogAsync();
        var stream = new ScriptedStream();
        stream.Hold();
        await using var running = Start(log, new AuditSinkStream(stream));
        await AppendAsync(log, 1);
        await stream.Holding.WaitAsync(Ct);

        // The sink waits on its reader; actions go on being recorded and acknowledged.
        await AppendAsync(log, 50);
        Assert.Equal(51, log.LastSeq);
        Assert.Equal(51, running.Sink.Status().Lag);

        stream.Release();
        await UntilAsync(running.Sink, s => s.Delivered == 51);
        Assert.Equal(ExpectedLines(1, 51), Encoding.UTF8.GetString(stream.Written()));
    }

    [Fact]
    public async Task A_stdout_sink_writes_json_lines_in_the_admin_apis_shape_and_nothing_else()
    {
        var log = await LogAsync();
        var stream = new ScriptedStream();
        await using var running = Start(log, new AuditSinkStream(stream));
        await AppendAsync(log, 3);
        await UntilAsync(running.Sink, s => s.Delivered == 3);

        var text = Encoding.UTF8.GetString(stream.Written());
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text[..^1].Split('\n');
        Assert.Equal(3, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            using var json = JsonDocument.Parse(lines[i]);
            var stored = _store.Events[i];
            Assert.Equal(stored.Seq, json.RootElement.GetProperty("seq").GetInt64());
            Assert.Equal(stored.Hash, json.RootElement.GetProperty("hash").GetString());
            Assert.Equal(stored.PrevHash, json.RootElement.GetProperty("prev_hash").GetString());
            Assert.Equal(AdminShape(stored), lines[i]);
        }
    }

    [Fact]
    public async Task A_new_sink_starts_from_the_beginning_of_the_log()
    {
        var log = await LogAsync();
        await AppendAsync(log, 4);
        var stream = new ScriptedStream();
        await using var running = Start(log, new AuditSinkStream(stream));
        await UntilAsync(running.Sink, s => s.Delivered == 4);

        Assert.Equal(ExpectedLines(1, 4), Encoding.UTF8.GetString(stream.Written()));
    }

    private string CursorPath => Path.Combine(_dir, "test.cursor");

    private async Task<AuditLog> LogAsync()
    {
        _log = new AuditLog(_store, _time, NullLogger<AuditLog>.Instance);
        await _log.StartAsync(Ct);
        return _log;
    }

    private static async Task AppendAsync(AuditLog log, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await log.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.TokenIssued,
                Outcome = AuditOutcomes.Allowed,
                Agent = "support-agent",
                Scopes = ["crm:read"],
                RequestId = $"req-{log.LastSeq + 1}",
            }, cancellationToken: Ct);
        }
    }

    private Running Start(AuditLog log, AuditSinkOutput output)
    {
        var sink = new AuditSink("test", output, new AuditSinkCursor(CursorPath), _store, log, _time, NullLogger.Instance);
        var stop = new CancellationTokenSource();
        return new Running(sink, stop, Task.Run(() => sink.RunAsync(stop.Token), Ct));
    }

    /// <summary>Waits on the sink's own signal until <paramref name="condition"/> holds.</summary>
    private static async Task UntilAsync(AuditSink sink, Func<AuditSink, bool> condition)
    {
        while (true)
        {
            var changed = sink.Changed;
            if (condition(sink))
            {
                return;
            }

            await changed.WaitAsync(Ct);
        }
    }

    /// <summary>The lines of events <paramref name="from"/> to <paramref name="to"/>, as the admin API writes each.</summary>
    private string ExpectedLines(long from, long to) =>
        string.Concat(_store.Events.Where(e => e.Seq >= from && e.Seq <= to).Select(e => AdminShape(e) + "\n"));

    private static string AdminShape(AuditEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            e.WriteTo(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public async ValueTask DisposeAsync()
    {
        if (_log is not null)
        {
            await _log.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private sealed class Running(AuditSink sink, CancellationTokenSource stop, Task run) : IAsyncDisposable
    {
        public AuditSink Sink => sink;

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await run;
            sink.Dispose();
            stop.Dispose();
        }
    }
}
