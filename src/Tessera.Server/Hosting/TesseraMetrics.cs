using Prometheus;

namespace Tessera.Server.Hosting;

/// <summary>Prometheus counters served at <c>/metrics</c>. Labels carry codes and kinds, never identities.</summary>
internal static class TesseraMetrics
{
    public static readonly Counter TokensIssued = Metrics.CreateCounter("tessera_tokens_issued_total", "Tokens issued, by grant type.", "grant_type");
    public static readonly Counter TokensDenied = Metrics.CreateCounter("tessera_token_requests_denied_total", "Token requests refused, by OAuth error.", "error");
    public static readonly Counter Introspections = Metrics.CreateCounter("tessera_introspections_total", "Introspection answers, by result.", "result");
    public static readonly Counter Revocations = Metrics.CreateCounter("tessera_revocations_total", "Revocations, by kind.", "kind");
    public static readonly Counter ProxyRequests = Metrics.CreateCounter("tessera_proxy_requests_total", "Proxied requests, by tool and outcome (forwarded, refused, failed).", "tool", "outcome");
    public static readonly Counter McpMessages = Metrics.CreateCounter("tessera_mcp_messages_total",
        "Requests to MCP tools, by tool, MCP method (methods MCP defines; 'other' for the rest, 'GET' and 'DELETE' for the stream and the session's end) and outcome (forwarded, refused, failed).",
        "tool", "mcp_method", "outcome");
    public static readonly Counter ClusterChangesApplied = Metrics.CreateCounter("tessera_cluster_changes_applied_total",
        "Entries of the other nodes' change log applied to this node's memory (PostgreSQL), by kind.", "kind");
    public static readonly Counter ClusterSyncFailures = Metrics.CreateCounter("tessera_cluster_sync_failures_total",
        "Failed reads of the change log or of its notifications (PostgreSQL); this node answers 503 once max_staleness passes without a read.");
    public static readonly Counter Leases = Metrics.CreateCounter("tessera_leases_total", "Requests for database leases, by tool and outcome (issued, refused).", "tool", "outcome");
    public static readonly Counter LeaseRevokeFailures = Metrics.CreateCounter("tessera_lease_revoke_failures_total", "Attempts to end a database lease that failed (each is retried with backoff).");
    public static readonly Gauge LeasesFailingToEnd = Metrics.CreateGauge("tessera_leases_failing_to_end", "Database leases due to end whose last attempt to end failed; alert when above zero.");
    public static readonly Counter AdminRequests = Metrics.CreateCounter("tessera_admin_requests_total", "Admin API requests, by outcome.", "outcome");
    public static readonly Gauge PostureFindings = Metrics.CreateGauge("tessera_posture_findings",
        "Findings of the latest posture report (docs/posture.md), by type and severity; recomputed every few minutes and on every report.", "type", "severity");

    public static readonly Counter ConfigReloads = Metrics.CreateCounter("tessera_config_reloads_total",
        "Configuration reloads asked (tessera reload, the admin API, SIGHUP), by outcome (reloaded, refused).", "outcome");
    public static readonly Gauge ConfigInfo = Metrics.CreateGauge("tessera_config_info",
        "1 for the configuration this node runs, by its hash (sha256:...): nodes whose hashes differ run different files.", "hash");

    public static readonly Gauge AuditSinkLag = Metrics.CreateGauge("tessera_audit_sink_lag_events",
        "Committed audit events of this node's chain an audit sink has not delivered yet, by sink (read at each scrape).", "sink");
    public static readonly Counter AuditSinkFailures = Metrics.CreateCounter("tessera_audit_sink_failures_total",
        "Failed attempts of an audit sink to read or write a batch, by sink; each is retried with backoff and nothing is lost.", "sink");
    public static readonly Gauge AuditSinkFailing = Metrics.CreateGauge("tessera_audit_sink_failing",
        "1 while an audit sink's last attempt failed, else 0, by sink; alert when 1.", "sink");

    /// <summary>Counts a reload and, when it swapped the configuration, moves <see cref="ConfigInfo"/> to the new hash.</summary>
    public static void ConfigReloaded(Core.Configuration.ConfigReload outcome)
    {
        ConfigReloads.WithLabels(outcome.Reloaded ? "reloaded" : "refused").Inc();
        if (outcome.Reloaded && outcome.Hash != outcome.PreviousHash)
        {
            ConfigInfo.RemoveLabelled(outcome.PreviousHash);
            ConfigInfo.WithLabels(outcome.Hash).Set(1);
        }
    }

    /// <summary>Sets every type and severity to its count in <paramref name="report"/> (zero when none).</summary>
    public static void SetPostureFindings(Core.Posture.PostureReport report)
    {
        foreach (var (type, severity, count) in report.Counts())
        {
            PostureFindings.WithLabels(type, Core.Posture.PostureSeverities.Name(severity)).Set(count);
        }
    }
}
