using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Tessera.Core.Telemetry;
using Tessera.Server.Hosting;

namespace Tessera.Server.Tests.Hosting;

/// <summary>
/// Traces and metrics over OTLP: a broker configured to export to a receiver on a loopback port
/// (a <see cref="TestUpstream"/> that records the OTLP requests), with a <see cref="SpanRecorder"/>
/// beside the exporter so the test reads the spans without decoding protobuf.
/// </summary>
public sealed class TesseraTelemetryTests
{
    private static string Telemetry(TestUpstream receiver) => $"""
        telemetry:
          otlp: {"{"} endpoint: "{receiver.Address}", protocol: http/protobuf {"}"}
          service_name: tessera-test
        """;

    private static async Task<(ProxyBroker Proxy, TestUpstream Receiver, SpanRecorder Spans)> StartAsync()
    {
        var receiver = await TestUpstream.StartAsync();
        receiver.AnswerWith(200);
        var spans = new SpanRecorder();
        var proxy = await ProxyBroker.StartAsync(
            configure: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddProcessor(spans)),
            extraSections: Telemetry(receiver));
        return (proxy, receiver, spans);
    }

    /// <summary>Sends the request inside a trace the test chose (sampled), so it finds its spans among other tests'.</summary>
    private static async Task<(HttpResponseMessage Response, ActivityTraceId Trace)> SendTracedAsync(ProxyBroker proxy, HttpMethod method, string path, string token)
    {
        using var caller = Caller();
        var response = await proxy.SendAsync(method, path, token);
        return (response, caller.TraceId);
    }

    /// <summary>The test's own span, current while it sends: the client propagates its trace (traceparent, sampled).</summary>
    private static Activity Caller() =>
        new Activity("test.caller").SetParentId(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start();

    /// <summary>
    /// Tessera's request span. (The test upstream is traced too: it is in the same trace, since the
    /// agent's traceparent header is forwarded to it as sent.)
    /// </summary>
    private static Activity RequestSpan(IReadOnlyList<Activity> spans) => Assert.Single(spans, IsTesseraRequest);

    private static bool IsTesseraRequest(Activity span) =>
        span.Kind == ActivityKind.Server && span.GetTagItem("url.path") is string path && (path.StartsWith("/proxy/", StringComparison.Ordinal) || path.StartsWith("/oauth/", StringComparison.Ordinal));

    private static bool HasRequestAndAudits(IReadOnlyList<Activity> spans, int audits) =>
        spans.Any(IsTesseraRequest) && spans.Count(s => s.OperationName == TesseraTrace.AuditAppend) == audits;

    [Fact]
    public async Task A_proxied_call_is_one_trace_with_validation_rules_vault_audit_and_upstream_under_the_request_span()
    {
        var (proxy, receiver, recorder) = await StartAsync();
        await using var _ = proxy;
        await using var __ = receiver;
        var token = proxy.SignToken(c => c with { Mission = "m-7f3a" });

        var (response, trace) = await SendTracedAsync(proxy, HttpMethod.Get, "/proxy/crm/contacts/42", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = await recorder.WaitForAsync(trace, s => HasRequestAndAudits(s, audits: 2));

        var request = RequestSpan(spans);
        var children = spans.Where(s => s.ParentSpanId == request.SpanId).Select(s => s.OperationName).Order(StringComparer.Ordinal);
        Assert.Equal(
            new[] { TesseraTrace.TokenValidation, TesseraTrace.RuleMatch, TesseraTrace.VaultCredential, TesseraTrace.AuditAppend, TesseraTrace.Upstream, TesseraTrace.AuditAppend }.Order(StringComparer.Ordinal),
            children);
        Assert.Equal("support-agent", request.GetTagItem(TesseraTrace.AgentAttribute));
        Assert.Equal("crm", request.GetTagItem(TesseraTrace.ToolAttribute));
        Assert.Equal("m-7f3a", request.GetTagItem(TesseraTrace.MissionAttribute));
        Assert.Equal("allowed", request.GetTagItem(TesseraTrace.OutcomeAttribute));

        // The audit spans say which event they wrote; the upstream span, what the upstream answered.
        Assert.Equal(["proxy.completed", "proxy.forwarded"],
            spans.Where(s => s.OperationName == TesseraTrace.AuditAppend).Select(s => (string)s.GetTagItem(TesseraTrace.AuditTypeAttribute)!).Order(StringComparer.Ordinal));
        var upstream = Assert.Single(spans, s => s.OperationName == TesseraTrace.Upstream);
        Assert.Equal("crm", upstream.GetTagItem(TesseraTrace.ToolAttribute));
        Assert.Equal(200, upstream.GetTagItem("http.response.status_code"));
    }

    [Fact]
    public async Task A_refused_call_carries_its_outcome_and_the_audited_reason_code()
    {
        var (proxy, receiver, recorder) = await StartAsync();
        await using var _ = proxy;
        await using var __ = receiver;
        var token = await proxy.TokenAsync("crm:read");

        var (response, trace) = await SendTracedAsync(proxy, HttpMethod.Post, "/proxy/crm/exports", token);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var spans = await recorder.WaitForAsync(trace, s => HasRequestAndAudits(s, audits: 1));

        var denied = (await proxy.Broker.AuditEventsAsync()).Last(e => e.Record.Type == AuditTypes.ProxyDenied).Record;
        var request = RequestSpan(spans);
        Assert.Equal("denied", request.GetTagItem(TesseraTrace.OutcomeAttribute));
        Assert.NotNull(denied.ReasonCode);
        Assert.Equal(denied.ReasonCode, request.GetTagItem(TesseraTrace.ReasonCodeAttribute));
        Assert.Equal("support-agent", request.GetTagItem(TesseraTrace.AgentAttribute));
        Assert.DoesNotContain(spans, s => s.OperationName == TesseraTrace.Upstream);
    }

    [Fact]
    public async Task The_exporter_sends_traces_and_metrics_to_the_configured_endpoint_without_any_token_or_secret()
    {
        var (proxy, receiver, recorder) = await StartAsync();
        await using var _ = proxy;
        await using var __ = receiver;
        var token = await proxy.TokenAsync("crm:read");

        var (response, trace) = await SendTracedAsync(proxy, HttpMethod.Get, "/proxy/crm/contacts/42", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = await recorder.WaitForAsync(trace, s => HasRequestAndAudits(s, audits: 2));
        Assert.True(proxy.Broker.Service<TracerProvider>().ForceFlush());
        Assert.True(proxy.Broker.Service<MeterProvider>().ForceFlush());

        var traces = receiver.Received.Where(r => r.RawTarget == "/v1/traces").ToList();
        Assert.NotEmpty(traces);
        Assert.All(traces, r => Assert.Equal("application/x-protobuf", r.Headers["Content-Type"]));
        Assert.Contains(traces, r => Contains(r.Body, Convert.FromHexString(trace.ToHexString())) && Contains(r.Body, Encoding.UTF8.GetBytes(TesseraTrace.Upstream)));
        Assert.Contains(receiver.Received, r => r.RawTarget == "/v1/metrics" && Contains(r.Body, "tessera.proxy.requests"u8.ToArray()));

        // Neither the token (nor its signature alone), the agent's secret nor the tool's credential is exported anywhere.
        string[] secrets = [token, token.Split('.')[2], TestBroker.SupportSecret, ProxyBroker.CrmKey];
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(receiver.Received, r => Contains(r.Body, Encoding.UTF8.GetBytes(secret)));
            Assert.DoesNotContain(spans.SelectMany(s => s.TagObjects), tag => tag.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true);
        }
    }

    [Fact]
    public async Task An_mcp_call_carries_the_mcp_method_and_the_tool_name_it_called()
    {
        var receiver = await TestUpstream.StartAsync();
        await using var __ = receiver;
        receiver.AnswerWith(200);
        var recorder = new SpanRecorder();
        await using var mcp = await Mcp.McpBroker.StartAsync(
            configure: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddProcessor(recorder)),
            extraSections: Telemetry(receiver));
        var token = await mcp.TokenAsync();

        ActivityTraceId trace;
        using (var caller = Caller())
        {
            trace = caller.TraceId;
            await using var agent = await Mcp.McpTestClient.ConnectAsync(mcp.Endpoint, token, TestContext.Current.CancellationToken, Mcp.McpTestClient.StatelessProtocol);
            await agent.CallToolAsync("search_issues", new Dictionary<string, object?> { ["query"] = "q" }, cancellationToken: TestContext.Current.CancellationToken);
        }

        var spans = await recorder.WaitForAsync(trace, s => s.Any(span => IsTesseraRequest(span) && "search_issues".Equals(span.GetTagItem(TesseraTrace.McpNameAttribute))));
        var call = Assert.Single(spans, span => IsTesseraRequest(span) && "search_issues".Equals(span.GetTagItem(TesseraTrace.McpNameAttribute)));
        Assert.Equal("tools/call", call.GetTagItem(TesseraTrace.McpMethodAttribute));
        Assert.Equal(Mcp.McpBroker.ToolId, call.GetTagItem(TesseraTrace.ToolAttribute));
        Assert.Equal("support-agent", call.GetTagItem(TesseraTrace.AgentAttribute));
        Assert.Contains(spans, s => s.ParentSpanId == call.SpanId && s.OperationName == TesseraTrace.RuleMatch);
        Assert.Contains(spans, s => s.ParentSpanId == call.SpanId && s.OperationName == TesseraTrace.Upstream);
    }

    [Fact]
    public async Task The_token_endpoint_traces_client_authentication_issuance_and_audit()
    {
        var (proxy, receiver, recorder) = await StartAsync();
        await using var _ = proxy;
        await using var __ = receiver;
        ActivityTraceId trace;
        using (var caller = Caller())
        {
            trace = caller.TraceId;
            using var response = await proxy.Broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var spans = await recorder.WaitForAsync(trace, s => HasRequestAndAudits(s, audits: 1));

        var server = RequestSpan(spans);
        Assert.Equal(
            new[] { TesseraTrace.ClientAuthentication, TesseraTrace.TokenIssuance, TesseraTrace.AuditAppend }.Order(StringComparer.Ordinal),
            spans.Where(s => s.ParentSpanId == server.SpanId).Select(s => s.OperationName).Order(StringComparer.Ordinal));
        Assert.Equal("support-agent", server.GetTagItem(TesseraTrace.AgentAttribute));
        Assert.Equal("allowed", server.GetTagItem(TesseraTrace.OutcomeAttribute));
    }

    [Fact]
    public async Task The_Prometheus_endpoint_shows_its_own_counters_and_not_the_exported_meter()
    {
        var (proxy, receiver, _) = await StartAsync();
        await using var _ = proxy;
        await using var __ = receiver;
        using var response = await proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/42", await proxy.TokenAsync("crm:read"));
        Assert.True(proxy.Broker.Service<MeterProvider>().ForceFlush());

        var metrics = (await proxy.Broker.Client.GetStringAsync("/metrics")).Split('\n');
        Assert.Contains(metrics, line => line.StartsWith("tessera_proxy_requests_total{", StringComparison.Ordinal));
        Assert.DoesNotContain(metrics, line => line.StartsWith("tessera_tessera_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_telemetry_section_nothing_listens_and_nothing_is_exported()
    {
        await using var proxy = await ProxyBroker.StartAsync();

        Assert.Null(proxy.Broker.Config.Telemetry);
        Assert.Null(proxy.Broker.App.Services.GetService<TracerProvider>());
        Assert.Null(proxy.Broker.App.Services.GetService<MeterProvider>());
        Assert.Null(proxy.Broker.App.Services.GetService<TesseraMeter>());
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
