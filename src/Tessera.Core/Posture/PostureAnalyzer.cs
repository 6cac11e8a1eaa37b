using System.Globalization;
using Tessera.Core.Identity;
using Tessera.Core.Mcp;
using Tessera.Core.Tools;
using Tessera.Core.Tokens;

namespace Tessera.Core.Posture;

/// <summary>
/// Computes the posture report (docs/posture.md) from the registry, the tools, the vault's metadata,
/// the usage counters and the configuration each node runs: each agent's reach and right-sized
/// scopes, and the findings. Pure: the same input gives the same report, so the CLI and the admin
/// API show the same thing.
/// </summary>
public static class PostureAnalyzer
{
    public static PostureReport Analyze(PostureInput input)
    {
        var now = input.Now;
        var since = now - input.Options.Window;
        var tools = input.Tools.ToDictionary(t => t.Id, StringComparer.Ordinal);
        var agents = input.Agents.ToDictionary(a => a.Id, StringComparer.Ordinal);
        var findings = new List<PostureFinding>();
        var postures = new List<AgentPosture>();

        // Each agent's tools once: the delegation walks below visit every agent many times.
        var reachOf = input.Agents.ToDictionary(a => a.Id, a => ToolsOf(a, tools), StringComparer.Ordinal);

        foreach (var agent in input.Agents.OrderBy(a => a.Id, StringComparer.Ordinal))
        {
            var usage = input.Usage.Of(agent.Id);
            var used = agent.AllowedScopes.Where(s => usage.ScopesLastGranted.TryGetValue(s, out var at) && at >= since).ToList();
            var unused = agent.AllowedScopes.Where(s => !used.Contains(s, StringComparer.Ordinal)).ToList();
            var expired = agent.IsExpiredAt(now);
            var delegates = Delegates(agent, agents);
            var reach = ReachOf(reachOf[agent.Id], delegates, tools);
            var rightSized = unused.Count > 0 ? used : null;
            postures.Add(new AgentPosture(agent.Id, agent.Owner, agent.Purpose, agent.Expires, AgentStatus.Of(agent, input.IsSuspended(agent.Id), now), usage.LastTokenAt,
                used, unused, reach, rightSized));

            if (expired)
            {
                // An expired registration issues nothing: its other findings would be noise until it is renewed or removed.
                findings.Add(new PostureFinding(PostureFindingTypes.AgentExpired, PostureSeverity.High,
                    $"registration expired {Ago(agent.Expires, now)} ({Stamp(agent.Expires)})",
                    $"remove agent '{agent.Id}' from tessera.yaml, or renew its expiry after its owner ({agent.Owner}) confirms it is still needed")
                { Agent = agent.Id });
                continue;
            }

            if (agent.Expires - now <= PostureOptions.ExpiringSoon)
            {
                findings.Add(new PostureFinding(PostureFindingTypes.AgentExpiringSoon, PostureOptions.ExpirySeverity(agent.Expires - now),
                    $"registration expires in {Days(agent.Expires - now)} ({Stamp(agent.Expires)})",
                    $"ask its owner ({agent.Owner}) whether agent '{agent.Id}' is still needed; renew its expiry or let it lapse")
                { Agent = agent.Id });
            }

            if (usage.LastTokenAt is not { } last || now - last > input.Options.StaleAfter)
            {
                findings.Add(new PostureFinding(PostureFindingTypes.AgentStale, PostureSeverity.Medium,
                    usage.LastTokenAt is { } at ? $"last token {Ago(at, now)} ({Stamp(at)})" : "no token on record",
                    $"if agent '{agent.Id}' is no longer used, remove it and revoke what it holds: tessera revoke --agent {agent.Id}")
                { Agent = agent.Id });
            }

            foreach (var scope in unused)
            {
                findings.Add(new PostureFinding(PostureFindingTypes.AgentUnusedScope, PostureSeverity.Medium,
                    usage.ScopesLastGranted.TryGetValue(scope, out var at) ? $"last granted {Ago(at, now)} ({Stamp(at)}), not within {Days(input.Options.Window)}" : "never granted",
                    $"right-size agent '{agent.Id}': allowed_scopes: [{string.Join(", ", used)}]")
                { Agent = agent.Id, Tool = ToolOf(scope), Scope = scope });
            }

            var ttl = agent.MaxTtl is { } own && own < input.Tokens.MaxTtl ? own : input.Tokens.MaxTtl;
            if (ttl > input.Options.MaxTtl)
            {
                findings.Add(new PostureFinding(PostureFindingTypes.AgentLongTtl, PostureSeverity.Medium,
                    agent.MaxTtl is null
                        ? $"no max_ttl: its tokens may live the server's tokens.max_ttl, {Duration(ttl)}"
                        : $"max_ttl {Duration(ttl)}",
                    $"set max_ttl: {Duration(input.Options.MaxTtl)} (or less) on agent '{agent.Id}'")
                { Agent = agent.Id });
            }

            if (agent.HasStaticSecret && agent.AssertionKeys.Count == 0 && agent.Federated is null)
            {
                findings.Add(new PostureFinding(PostureFindingTypes.AgentSecretAuth, PostureSeverity.Medium,
                    $"authenticates only with a shared client secret ({agent.Secrets.Count} configured)",
                    $"give agent '{agent.Id}' a key (auth.jwks, private_key_jwt) or a federated identity (auth.federated), then remove its client secrets")
                { Agent = agent.Id });
            }

            foreach (var (tool, via) in WidenedReach(reachOf[agent.Id], delegates, reachOf))
            {
                var path = PathTo(via, delegates);
                findings.Add(new PostureFinding(PostureFindingTypes.DelegationWidensReach, PostureSeverity.High,
                    $"through may_delegate_to {DisplayPath(path)} it can hand work to an agent that reaches tool '{tool}', which its own allowed_scopes do not",
                    $"remove '{path[0]}' from may_delegate_to of agent '{agent.Id}', or narrow the delegate's allowed_scopes to what this agent may reach")
                { Agent = agent.Id, Tool = tool });
            }
        }

        foreach (var secret in input.Secrets.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            if (secret.AgeAt(now) > input.Options.RotateSecretsAfter)
            {
                findings.Add(new PostureFinding(PostureFindingTypes.SecretNotRotated, PostureSeverity.Medium,
                    $"version {secret.Version.ToString(CultureInfo.InvariantCulture)} set {Ago(secret.CreatedAt, now)} ({Stamp(secret.CreatedAt)}), over {Days(input.Options.RotateSecretsAfter)}",
                    $"rotate it at the upstream, then: tessera secret rotate {secret.Name}")
                { Secret = secret.Name, Tool = secret.UsedBy.Count == 1 ? secret.UsedBy[0] : null });
            }
        }

        // A lease that should have ended and has not: its role still logs in, so it outranks any hygiene finding.
        foreach (var lease in (input.FailingLeases ?? []).OrderBy(l => l.Id, StringComparer.Ordinal))
        {
            findings.Add(new PostureFinding(PostureFindingTypes.LeaseRevokeFailing, PostureSeverity.High,
                $"lease {lease.Id} (role {lease.Username}) should have ended ({lease.EndReason ?? "due"}), but {lease.Attempts.ToString(CultureInfo.InvariantCulture)} attempt(s) failed; last: {lease.LastError}",
                $"let Tessera reach the database of tool '{lease.Tool}' with its admin secret (it retries with backoff); if the database is gone, drop the role by hand and run: tessera lease revoke {lease.Id} --force")
            { Agent = lease.Agent, Tool = lease.Tool });
        }

        // A sink that cannot write or lags far behind: the collector misses events the store still holds.
        foreach (var sink in (input.AuditSinks ?? []).OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            if (sink.FailingSince is { } failingSince)
            {
                findings.Add(new PostureFinding(PostureFindingTypes.AuditSinkFailing, PostureSeverity.High,
                    $"audit sink '{sink.Name}' has failed to write since {Stamp(failingSince)}, {sink.Failures.ToString(CultureInfo.InvariantCulture)} failure(s); {sink.Lag.ToString(CultureInfo.InvariantCulture)} event(s) after seq {sink.Delivered.ToString(CultureInfo.InvariantCulture)} wait in the store",
                    "see the warning Tessera logged for the sink (a directory it cannot write, a full disk, a reader that went away) and fix it; the sink retries with backoff and catches up, losing nothing"));
            }
            else if (sink.Lag >= Audit.Sinks.AuditSink.FarBehind)
            {
                findings.Add(new PostureFinding(PostureFindingTypes.AuditSinkBehind, PostureSeverity.Medium,
                    $"audit sink '{sink.Name}' is {sink.Lag.ToString(CultureInfo.InvariantCulture)} events behind the log (delivered through seq {sink.Delivered.ToString(CultureInfo.InvariantCulture)})",
                    "expected while a new sink copies the log's history; otherwise its output is slower than the log grows (a slow disk, a reader that reads slowly)"));
            }
        }

        // Nodes that each read their own tessera.yaml and do not run the same one: a request is
        // allowed or refused depending on the node the load balancer picks.
        var nodes = input.Nodes ?? [];
        var configurations = Cluster.NodeConfig.ConfigurationsRun(nodes);
        if (configurations > 1)
        {
            findings.Add(new PostureFinding(PostureFindingTypes.ConfigNodesDiffer, PostureSeverity.Medium,
                $"{nodes.Count.ToString(CultureInfo.InvariantCulture)} nodes run {configurations.ToString(CultureInfo.InvariantCulture)} configurations: " +
                string.Join(", ", nodes.OrderBy(n => n.Node, StringComparer.Ordinal).Select(n => $"{n.Node} {Configuration.ConfigReloader.Short(n.ConfigHash)}")),
                "give every node the same tessera.yaml and reload each (POST /admin/v1/config/reload, or SIGHUP); GET /admin/v1/status lists what each node runs"));
        }

        var unmatched = new List<RuleUse>();
        foreach (var tool in input.Tools.OrderBy(t => t.Id, StringComparer.Ordinal))
        {
            foreach (var (name, scope) in tool.Options.Scopes.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                var fullScope = $"{tool.Id}:{name}";
                foreach (var rule in scope.Rules)
                {
                    if (WriteWildcard(tool, rule) is { } severity)
                    {
                        findings.Add(new PostureFinding(PostureFindingTypes.RuleWriteWildcard, severity,
                            $"rule '{rule}' of scope {fullScope} allows {(tool.Protocol == ToolProtocol.Mcp ? "calling any tool" : "writing anywhere")} under its prefix",
                            "name the paths (or tools) the scope needs instead of a wildcard; put rare writes in a scope with an approval")
                        { Tool = tool.Id, Scope = fullScope, Rule = rule });
                    }

                    if (!input.Usage.RulesLastMatched.TryGetValue(new RuleUse(fullScope, rule), out var at) || at < since)
                    {
                        unmatched.Add(new RuleUse(fullScope, rule));
                    }
                }
            }
        }

        return new PostureReport(now, input.Options.Window, postures, findings, unmatched);
    }

    /// <summary>The tools the agent's scopes name (configured ones), their vault secrets, and the agents it may delegate to, transitively.</summary>
    private static AgentReach ReachOf(List<string> reached, Dictionary<string, Delegate> delegates, Dictionary<string, Tool> tools)
    {
        var secrets = reached.Select(t => tools[t].Options.Credential?.Secret).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new AgentReach(reached, secrets, [.. delegates.Keys.Order(StringComparer.Ordinal)]);
    }

    private static List<string> ToolsOf(Agent agent, Dictionary<string, Tool> tools) =>
        agent.AllowedScopes.Tools().Where(tools.ContainsKey).Order(StringComparer.Ordinal).ToList();

    /// <summary>How an agent is reached through <c>may_delegate_to</c>: the agent that delegates to it on a shortest path (null: the agent itself does), and how many hops.</summary>
    private readonly record struct Delegate(string? Parent, int Hops);

    /// <summary>
    /// Every agent reachable through <c>may_delegate_to</c> (registered ones), breadth first, each with
    /// its parent on a shortest path: linear in the agents and edges (a path per agent would be
    /// quadratic in a long delegation chain).
    /// </summary>
    private static Dictionary<string, Delegate> Delegates(Agent agent, Dictionary<string, Agent> agents)
    {
        var found = new Dictionary<string, Delegate>(StringComparer.Ordinal);
        var queue = new Queue<(Agent Agent, int Hops)>();
        queue.Enqueue((agent, 0));
        while (queue.Count > 0)
        {
            var (from, hops) = queue.Dequeue();
            foreach (var id in from.MayDelegateTo.Order(StringComparer.Ordinal))
            {
                if (id == agent.Id || found.ContainsKey(id) || !agents.TryGetValue(id, out var next))
                {
                    continue;
                }

                found[id] = new Delegate(hops == 0 ? null : from.Id, hops + 1);
                queue.Enqueue((next, hops + 1));
            }
        }

        return found;
    }

    /// <summary>Tools a delegate (at any depth) reaches that the agent itself does not, each with the nearest delegate that reaches it.</summary>
    private static IEnumerable<(string Tool, string Via)> WidenedReach(List<string> own, Dictionary<string, Delegate> delegates, Dictionary<string, List<string>> reachOf)
    {
        var seen = new HashSet<string>(own, StringComparer.Ordinal);
        foreach (var (id, _) in delegates.OrderBy(d => d.Value.Hops).ThenBy(d => d.Key, StringComparer.Ordinal))
        {
            foreach (var tool in reachOf[id])
            {
                if (seen.Add(tool))
                {
                    yield return (tool, id);
                }
            }
        }
    }

    /// <summary>The delegation path from the agent to <paramref name="to"/>, first hop first.</summary>
    private static List<string> PathTo(string to, Dictionary<string, Delegate> delegates)
    {
        var path = new List<string>();
        for (string? at = to; at is not null; at = delegates[at].Parent)
        {
            path.Add(at);
        }

        path.Reverse();
        return path;
    }

    /// <summary>A path as evidence: whole up to four hops, else its ends and its length (a report must stay readable, and small).</summary>
    private static string DisplayPath(List<string> path) =>
        path.Count <= 4 ? string.Join(" -> ", path) : $"{path[0]} -> {path[1]} -> ... -> {path[^1]} ({path.Count} hops)";

    /// <summary>
    /// A rule that writes anywhere under a prefix: an HTTP rule for a method other than GET, HEAD or
    /// OPTIONS whose path ends in <c>**</c> (high when it is any method on everything), or an MCP
    /// <c>tools/call</c> of any tool (no name, or a name of wildcards only, or one ending in <c>**</c>).
    /// </summary>
    private static PostureSeverity? WriteWildcard(Tool tool, string rule)
    {
        if (tool.Protocol == ToolProtocol.Mcp)
        {
            var mcp = McpRule.Parse(rule, out _);
            return mcp is { Method: "tools/call" } && (mcp.Pattern is null || mcp.Pattern.Text.Trim('*').Length == 0 || mcp.Pattern.Text.EndsWith("**", StringComparison.Ordinal))
                ? PostureSeverity.Medium
                : null;
        }

        var space = rule.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0)
        {
            return null;
        }

        var method = rule[..space];
        var path = rule[(space + 1)..];
        if (method is "GET" or "HEAD" or "OPTIONS" || !(path == "/**" || path.EndsWith("/**", StringComparison.Ordinal)))
        {
            return null;
        }

        return method == "*" && path == "/**" ? PostureSeverity.High : PostureSeverity.Medium;
    }

    private static string? ToolOf(string scope) => scope.IndexOf(':', StringComparison.Ordinal) is var i and > 0 ? scope[..i] : null;

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Ago(DateTimeOffset at, DateTimeOffset now) => $"{Days(now - at)} ago";

    private static string Days(TimeSpan span) => span.TotalDays >= 1
        ? $"{Math.Floor(span.TotalDays).ToString(CultureInfo.InvariantCulture)} days"
        : Duration(span);

    /// <summary>A duration as the configuration writes it (<c>90d</c>, <c>8h</c>, <c>15m</c>, <c>30s</c>).</summary>
    private static string Duration(TimeSpan span) => span switch
    {
        { TotalDays: >= 1 } when span.TotalDays % 1 == 0 => $"{span.TotalDays.ToString(CultureInfo.InvariantCulture)}d",
        { TotalHours: >= 1 } when span.TotalHours % 1 == 0 => $"{span.TotalHours.ToString(CultureInfo.InvariantCulture)}h",
        { TotalMinutes: >= 1 } when span.TotalMinutes % 1 == 0 => $"{span.TotalMinutes.ToString(CultureInfo.InvariantCulture)}m",
        _ => $"{Math.Ceiling(span.TotalSeconds).ToString(CultureInfo.InvariantCulture)}s",
    };
}
