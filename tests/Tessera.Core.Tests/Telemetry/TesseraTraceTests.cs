using System.Diagnostics;
using Tessera.Core.Audit;
using Tessera.Core.Telemetry;

namespace Tessera.Core.Tests.Telemetry;

/// <summary>
/// The only tests of this assembly that listen to the "Tessera" source; the tests of one class run
/// one after another, so "nobody listens" holds in the first test and is undone by each listener here.
/// </summary>
public sealed class TesseraTraceTests
{
    private static readonly ActivitySource Requests = new("Tessera.Tests.Requests");

    private static readonly AuditRecord Denied = new()
    {
        Type = AuditTypes.ProxyDenied,
        Outcome = AuditOutcomes.Denied,
        Agent = "support-agent",
        Tool = "crm",
        Mission = "m-1",
        ReasonCode = RefusalCodes.ProxyTokenExpired,
        Reason = "the token is expired",
        Jti = "jti-0123456789",
        McpMethod = "tools/call",
        McpName = "create_ticket",
    };

    private static ActivityListener Listen()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is TesseraTrace.SourceName or "Tessera.Tests.Requests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    [Fact]
    public void Without_a_listener_no_span_is_started_and_nothing_is_attributed()
    {
        Assert.False(TesseraTrace.Source.HasListeners());
        Assert.Null(TesseraTrace.Start(TesseraTrace.TokenValidation));
        Assert.Null(TesseraTrace.StartAudit(Denied));
        Assert.Null(Activity.Current);
    }

    [Fact]
    public void An_audit_span_carries_its_events_identifiers_and_codes_and_so_does_the_request_span()
    {
        using var listener = Listen();
        using var request = Requests.StartActivity("request", ActivityKind.Server)!;

        using var audit = TesseraTrace.StartAudit(Denied)!;

        Assert.Equal(request.SpanId, audit.ParentSpanId);
        foreach (var span in new[] { audit, request })
        {
            Assert.Equal("support-agent", span.GetTagItem(TesseraTrace.AgentAttribute));
            Assert.Equal("crm", span.GetTagItem(TesseraTrace.ToolAttribute));
            Assert.Equal("m-1", span.GetTagItem(TesseraTrace.MissionAttribute));
            Assert.Equal("denied", span.GetTagItem(TesseraTrace.OutcomeAttribute));
            Assert.Equal(RefusalCodes.ProxyTokenExpired, span.GetTagItem(TesseraTrace.ReasonCodeAttribute));
            Assert.Equal("tools/call", span.GetTagItem(TesseraTrace.McpMethodAttribute));
            Assert.Equal("create_ticket", span.GetTagItem(TesseraTrace.McpNameAttribute));

            // The free-text reason and the token's id are the audit log's, not the trace's.
            Assert.DoesNotContain(span.TagObjects, tag => tag.Value is string value && (value.Contains("the token is", StringComparison.Ordinal) || value.Contains("jti-", StringComparison.Ordinal)));
        }

        Assert.Equal(AuditTypes.ProxyDenied, audit.GetTagItem(TesseraTrace.AuditTypeAttribute));
    }

    [Fact]
    public void An_audit_append_leaves_the_callers_span_current_so_its_next_span_is_a_sibling()
    {
        using var listener = Listen();
        using var request = Requests.StartActivity("request", ActivityKind.Server)!;

        using var audit = TesseraTrace.StartAudit(Denied)!;
        using var next = TesseraTrace.Start(TesseraTrace.Upstream)!;

        Assert.Equal(request.SpanId, next.ParentSpanId);
    }

    [Fact]
    public void The_last_event_of_a_request_sets_its_outcome_and_clears_an_earlier_code()
    {
        using var listener = Listen();
        using var request = Requests.StartActivity("request", ActivityKind.Server)!;

        TesseraTrace.StartAudit(Denied)!.Dispose();
        TesseraTrace.StartAudit(Denied with { Type = AuditTypes.ProxyCompleted, Outcome = AuditOutcomes.Allowed, ReasonCode = null })!.Dispose();

        Assert.Equal("allowed", request.GetTagItem(TesseraTrace.OutcomeAttribute));
        Assert.Null(request.GetTagItem(TesseraTrace.ReasonCodeAttribute));
    }

    [Fact]
    public async Task A_failed_append_ends_its_span_as_an_error_and_still_throws()
    {
        using var listener = Listen();
        var audit = TesseraTrace.StartAudit(Denied)!;

        await Assert.ThrowsAsync<AuditWriteException>(() => TesseraTrace.EndWith(audit, Task.FromException<AuditEvent>(new AuditWriteException("down", null))));

        Assert.Equal(ActivityStatusCode.Error, audit.Status);
        Assert.True(audit.IsStopped);
    }
}
