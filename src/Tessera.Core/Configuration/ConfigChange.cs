using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tessera.Core.Configuration;

/// <summary>
/// What a new configuration changes against the running one (docs/operations.md, "Reloading the
/// configuration"): one line per agent, tool, scope, principal, admin, approver group or identity
/// provider added, removed or changed, naming the keys that changed (never a value: a key's value
/// may be a secret's hash or a webhook URL), and the top-level sections that take a restart.
/// </summary>
public sealed record ConfigChange(IReadOnlyList<string> Changes, IReadOnlyList<string> RestartRequired, IReadOnlyList<string> RemovedAgents)
{
    /// <summary>
    /// The sections a reload never changes, by their key in <c>tessera.yaml</c>: where the node
    /// listens and stores, what it is called, how long tokens live and how keys are kept, and the
    /// machinery built once at start (limits, audit sinks, telemetry, the console's sign-in). A file
    /// that changes one is refused whole, so the running hash always describes what runs.
    /// </summary>
    public static readonly IReadOnlyList<(string Key, Func<TesseraConfig, object?> Value)> RestartOnly =
    [
        ("server", c => c.Server),
        ("storage", c => c.Storage),
        ("cluster", c => c.Cluster),
        ("data_dir", c => c.DataDir),
        ("tokens", c => c.Tokens),
        ("signing_keys", c => c.SigningKeys),
        ("vault", c => c.Vault),
        ("dpop", c => c.Dpop),
        ("rate_limits", c => c.RateLimits),
        ("audit", c => new { checkpoint = c.AuditCheckpoints, sinks = c.AuditSinks }),
        ("telemetry", c => c.Telemetry),
        ("console", c => c.Console),
    ];

    // Option records are compared as JSON: structural (lists, dictionaries, nested records) with no
    // equality code of our own to keep in step with every new option. Snake case names the keys as
    // tessera.yaml does.
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public bool IsEmpty => Changes.Count == 0 && RestartRequired.Count == 0;

    public static ConfigChange Between(TesseraConfig running, TesseraConfig next)
    {
        var restart = RestartOnly.Where(s => !JsonNode.DeepEquals(Node(s.Value(running)), Node(s.Value(next)))).Select(s => s.Key).ToList();
        var changes = new List<string>();
        var removedAgents = new List<string>();
        Compare(changes, "agent", running.Agents, next.Agents, a => a.Id, removedAgents);
        Compare(changes, "tool", running.Tools, next.Tools, t => t.Id, ignore: "scopes");
        // The scopes of a tool that stays, one line each (a tool added or removed brings or takes all of its own).
        foreach (var (before, after) in Matched(running.Tools, next.Tools, t => t.Id))
        {
            foreach (var (name, scopeBefore, scopeAfter) in Keyed(before.Scopes, after.Scopes))
            {
                Describe(changes, "scope", $"{after.Id}:{name}", scopeBefore, scopeAfter);
            }
        }

        Compare(changes, "principal", running.Principals, next.Principals, p => $"{p.Idp}/{p.Sub}");
        Compare(changes, "admin", running.Admins, next.Admins, a => $"{a.Idp}/{a.Sub}");
        Compare(changes, "approver group", running.ApproverGroups, next.ApproverGroups, g => g.Id);
        Compare(changes, "identity provider", running.IdentityProviders, next.IdentityProviders, p => p.Id);
        if (!JsonNode.DeepEquals(Node(running.Registry), Node(next.Registry)))
        {
            changes.Add("registry changed");
        }

        if (!JsonNode.DeepEquals(Node(running.Posture), Node(next.Posture)))
        {
            changes.Add("posture changed");
        }

        return new ConfigChange(changes, restart, removedAgents);
    }

    private static void Compare<T>(List<string> changes, string kind, IReadOnlyList<T> before, IReadOnlyList<T> after, Func<T, string> id,
        List<string>? removed = null, string? ignore = null)
    {
        var old = before.GroupBy(id).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        var now = after.GroupBy(id).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        // Sorted, so the summary reads the same whatever the order of the file.
        foreach (var key in old.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
        {
            var existed = old.TryGetValue(key, out var b);
            var exists = now.TryGetValue(key, out var a);
            if (existed && !exists)
            {
                removed?.Add(key);
            }

            Describe(changes, kind, key, existed ? b : default, exists ? a : default, ignore);
        }
    }

    private static void Describe<T>(List<string> changes, string kind, string key, T? before, T? after, string? ignore = null)
    {
        switch (before, after)
        {
            case (null, null):
                return;
            case (null, _):
                changes.Add($"{kind} added: {key}");
                return;
            case (_, null):
                changes.Add($"{kind} removed: {key}");
                return;
        }

        if (Node(before) is JsonObject b && Node(after) is JsonObject a)
        {
            var keys = b.Select(p => p.Key).Union(a.Select(p => p.Key)).Where(k => k != ignore && !JsonNode.DeepEquals(b[k], a[k])).ToList();
            if (keys.Count > 0)
            {
                changes.Add($"{kind} changed: {key} ({string.Join(", ", keys)})");
            }
        }
        else if (!JsonNode.DeepEquals(Node(before), Node(after)))
        {
            changes.Add($"{kind} changed: {key}");
        }
    }

    private static IEnumerable<(T Before, T After)> Matched<T>(IReadOnlyList<T> before, IReadOnlyList<T> after, Func<T, string> id)
    {
        var old = before.GroupBy(id).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        return after.Where(a => old.ContainsKey(id(a))).OrderBy(id, StringComparer.Ordinal).Select(a => (old[id(a)], a));
    }

    private static IEnumerable<(string Name, ToolScopeOptions? Before, ToolScopeOptions? After)> Keyed(
        IReadOnlyDictionary<string, ToolScopeOptions> before, IReadOnlyDictionary<string, ToolScopeOptions> after) =>
        before.Keys.Union(after.Keys).Order(StringComparer.Ordinal).Select(k => (k, before.GetValueOrDefault(k), after.GetValueOrDefault(k)));

    private static JsonNode? Node(object? value) => value is null ? null : JsonSerializer.SerializeToNode(value, value.GetType(), Json);
}
