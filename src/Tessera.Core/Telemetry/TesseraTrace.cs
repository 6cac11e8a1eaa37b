using System.Diagnostics;
using Tessera.Core.Audit;

namespace Tessera.Core.Telemetry;

/// <summary>
/// Tessera's spans (docs/observability.md): one <see cref="ActivitySource"/>, "Tessera", whose spans
/// are children of the request's span. Without a listener (telemetry not configured)
/// <see cref="Start"/> returns null after one check, and nothing else here runs: no attribute is
/// built for a span nobody records.
/// </summary>
/// <remarks>
/// Attributes are identifiers and codes only, the ones the audit event of the same action holds
/// (agent, tool, mission, outcome, refusal code, MCP method and name): never a token, a secret or a
/// header's value.
/// </remarks>
public static class TesseraTrace
{
    public const string SourceName = "Tessera";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The access token checked on a proxied call: signature, expiry, revocation.</summary>
    public const string TokenValidation = "tessera.token.validate";

    /// <summary>The rules of the token's scopes matched against the proxied request (HTTP or MCP).</summary>
    public const string RuleMatch = "tessera.proxy.rules";

    /// <summary>A tool credential decrypted from the vault and formatted for injection.</summary>
    public const string VaultCredential = "tessera.vault.credential";

    /// <summary>One audit event appended, until it is durable (or failed).</summary>
    public const string AuditAppend = "tessera.audit.append";

    /// <summary>The forwarded request, until the upstream's answer has been passed on.</summary>
    public const string Upstream = "tessera.proxy.upstream";

    /// <summary>The token endpoint's client authentication (secret, private_key_jwt or federated assertion).</summary>
    public const string ClientAuthentication = "tessera.client.authenticate";

    /// <summary>A token signed for issuance (its audit event follows as a sibling span).</summary>
    public const string TokenIssuance = "tessera.token.issue";

    public const string AgentAttribute = "tessera.agent";
    public const string ToolAttribute = "tessera.tool";
    public const string MissionAttribute = "tessera.mission";
    public const string OutcomeAttribute = "tessera.outcome";
    public const string ReasonCodeAttribute = "tessera.reason_code";
    public const string AuditTypeAttribute = "tessera.audit.type";
    public const string McpMethodAttribute = "tessera.mcp.method";
    public const string McpNameAttribute = "tessera.mcp.name";

    /// <summary>Starts an internal span, or returns null when nobody listens or the trace is not sampled.</summary>
    public static Activity? Start(string name) => Source.StartActivity(name, ActivityKind.Internal);

    /// <summary>
    /// Starts the span of one audit append, attributed as <paramref name="record"/> is. The request's own
    /// span (the nearest span not of this source) gets the same attribution: every action that is
    /// attributed is attributed in its audit event, so the trace says exactly what the log says, and the
    /// last event of a request (a refusal, or what became of a forwarded call) sets its outcome.
    /// </summary>
    internal static Activity? StartAudit(AuditRecord record)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var caller = Activity.Current;
        var span = Source.StartActivity(AuditAppend, ActivityKind.Internal);
        if (span is null)
        {
            return null;
        }

        // The append returns before its span ends: the caller's next span is its own sibling, not a child of this one.
        Activity.Current = caller;

        if (span.IsAllDataRequested)
        {
            span.SetTag(AuditTypeAttribute, record.Type);
            Attribute(span, record);
        }

        var request = span.Parent;
        while (request is not null && ReferenceEquals(request.Source, Source))
        {
            request = request.Parent;
        }

        if (request is { IsAllDataRequested: true, IsStopped: false })
        {
            Attribute(request, record);
        }

        return span;
    }

    /// <summary>Ends <paramref name="span"/> when <paramref name="append"/> completes, marking a failed append as an error.</summary>
    internal static async Task<T> EndWith<T>(Activity span, Task<T> append)
    {
        try
        {
            return await append;
        }
        catch (Exception ex)
        {
            // The exception's type only: an audit failure's message may name the store's location.
            span.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
        finally
        {
            span.Dispose();
        }
    }

    private static void Attribute(Activity span, AuditRecord record)
    {
        span.SetTag(AgentAttribute, record.Agent);
        span.SetTag(ToolAttribute, record.Tool);
        span.SetTag(MissionAttribute, record.Mission);
        span.SetTag(OutcomeAttribute, record.Outcome);
        span.SetTag(ReasonCodeAttribute, record.ReasonCode);
        if (record.McpMethod is not null)
        {
            span.SetTag(McpMethodAttribute, record.McpMethod);
            span.SetTag(McpNameAttribute, record.McpName);
        }
    }
}
