using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Tessera.Core.Audit;
using Tessera.Core.Audit.Sinks;

namespace Tessera.Server.Tests.Hosting;

public sealed class AuditSinkServiceTests
{
    private static string WithFileSink(string path) => TestBroker.DefaultYaml() + $$"""

        audit:
          sinks:
            - { type: file, path: {{path}} }
        """;

    [Fact]
    public async Task A_file_sink_streams_every_audited_request_in_order_and_reports_its_lag()
    {
        await using var broker = await TestBroker.StartAsync(WithFileSink("logs/audit.jsonl"));
        var sink = Assert.Single(broker.Service<AuditSinks>().All);

        var token = await broker.IssueAsync();

        // Every event of the request is committed once the test's own marker is; then the sink has them all.
        var events = await broker.AuditEventsAsync();
        await UntilDeliveredAsync(sink, broker.Service<AuditLog>().LastSeq);

        var lines = (await File.ReadAllLinesAsync(Path.Combine(broker.Directory, "logs", "audit.jsonl"), TestContext.Current.CancellationToken))
            .Where(l => !l.Contains("\"type\":\"test.flush\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(events.Select(e => e.Seq), lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("seq").GetInt64()));
        Assert.Equal(events.Select(e => e.Hash), lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("hash").GetString()));
        Assert.Contains(lines, l => l.Contains("\"type\":\"token.issued\"", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(token, StringComparison.Ordinal));

        var metrics = await broker.Client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Contains("tessera_audit_sink_lag_events{sink=\"file\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("tessera_audit_sink_failing{sink=\"file\"} 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sink_that_cannot_write_refuses_no_request_shows_in_metrics_and_posture_and_catches_up_once_it_can()
    {
        var directory = TestBroker.NewDirectory();
        Directory.CreateDirectory(directory);

        // A file stands where the sink's directory should be: the sink cannot create its file.
        var blocked = Path.Combine(directory, "logs");
        await File.WriteAllTextAsync(blocked, "not a directory", TestContext.Current.CancellationToken);
        await using var broker = await TestBroker.StartAsync(WithFileSink("logs/audit.jsonl"), directory);
        var sink = Assert.Single(broker.Service<AuditSinks>().All);

        await broker.IssueAsync();
        await broker.IssueAsync();
        await UntilAsync(sink, s => s.Failures > 0);

        var metrics = await broker.Client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Contains("tessera_audit_sink_failing{sink=\"file\"} 1", metrics, StringComparison.Ordinal);
        Assert.Matches("tessera_audit_sink_failures_total\\{sink=\"file\"\\} [1-9]", metrics);
        Assert.DoesNotContain("tessera_audit_sink_lag_events{sink=\"file\"} 0\n", metrics, StringComparison.Ordinal);
        using var posture = await broker.AdminAsync(HttpMethod.Get, "/admin/v1/posture");
        Assert.Contains("audit.sink_failing", await posture.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

        File.Delete(blocked);
        broker.Time.Advance(AuditSink.FirstRetryInterval);
        await UntilDeliveredAsync(sink, broker.Service<AuditLog>().LastSeq);

        var lines = await File.ReadAllLinesAsync(Path.Combine(directory, "logs", "audit.jsonl"), TestContext.Current.CancellationToken);
        var seqs = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);
        Assert.Equal(2, lines.Count(l => l.Contains("\"type\":\"token.issued\"", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task With_a_stdout_sink_every_log_line_goes_to_standard_error()
    {
        await using var plain = await TestBroker.StartAsync();
        Assert.NotEqual(LogLevel.Trace, plain.Service<IOptions<ConsoleLoggerOptions>>().Value.LogToStandardErrorThreshold);

        var capture = new MemoryStream();
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml() + """

            audit:
              sinks:
                - { type: stdout }
            """, configure: b => b.Services.AddSingleton(sp => AuditSinks.Create(sp.GetRequiredService<Core.Configuration.TesseraConfig>(),
                sp.GetRequiredService<Core.Storage.IAuditStore>(), sp.GetRequiredService<AuditLog>(), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>(), () => capture)));

        Assert.Equal(LogLevel.Trace, broker.Service<IOptions<ConsoleLoggerOptions>>().Value.LogToStandardErrorThreshold);
        await broker.IssueAsync();
        await UntilDeliveredAsync(Assert.Single(broker.Service<AuditSinks>().All), broker.Service<AuditLog>().LastSeq);
        var text = Encoding.UTF8.GetString(capture.ToArray());
        Assert.All(text.TrimEnd('\n').Split('\n'), line => Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(line).RootElement.ValueKind));
    }

    private static Task UntilDeliveredAsync(AuditSink sink, long seq) => UntilAsync(sink, s => s.Delivered >= seq);

    private static async Task UntilAsync(AuditSink sink, Func<AuditSink, bool> condition)
    {
        while (true)
        {
            var changed = sink.Changed;
            if (condition(sink))
            {
                return;
            }

            await changed.WaitAsync(TestContext.Current.CancellationToken);
        }
    }
}
