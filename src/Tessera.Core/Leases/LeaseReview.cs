using Tessera.Core.Configuration;
using Tessera.Core.Tools;

namespace Tessera.Core.Leases;

/// <summary>
/// Whether a live database lease still holds what the running configuration would give it. A lease's
/// role received its grants once, at issue; a token is narrowed on every use
/// (<see cref="ConfigSnapshot.Narrow"/>), but a role keeps what it was granted until it is dropped.
/// So a reload ends every lease the new configuration would not issue as it stands: its tool gone or
/// pointed at another database, one of its scopes removed or its grants changed (any change: SQL
/// text cannot be compared for breadth), or a scope no longer allowed to an agent of its chain or
/// within its principal's ceiling. The agent asks again and gets a lease of the new configuration.
/// </summary>
public static class LeaseReview
{
    /// <summary>Why <paramref name="after"/> no longer gives <paramref name="lease"/> (issued under <paramref name="before"/>), or null when it stands.</summary>
    public static string? Withdrawn(Lease lease, ConfigSnapshot before, ConfigSnapshot after)
    {
        if (after.Tools.FindById(lease.Tool) is not { Protocol: ToolProtocol.Postgres } tool)
        {
            return "tool removed";
        }

        var old = before.Tools.FindById(lease.Tool)?.Options;
        if (old is null || old.Connection != tool.Options.Connection || old.AdminSecret != tool.Options.AdminSecret)
        {
            return "the tool's database changed";
        }

        foreach (var scope in lease.Scopes)
        {
            var key = scope.StartsWith(lease.Tool + ":", StringComparison.Ordinal) ? scope[(lease.Tool.Length + 1)..] : null;
            if (key is null || !tool.Options.Scopes.TryGetValue(key, out var now))
            {
                return $"scope {scope} removed";
            }

            if (!old.Scopes.TryGetValue(key, out var then) || !then.Grants.SequenceEqual(now.Grants, StringComparer.Ordinal))
            {
                return $"grants of {scope} changed";
            }

            foreach (var agent in lease.Agents)
            {
                if (after.Agents.Find(agent) is not { } registered || !registered.AllowedScopes.Contains(scope))
                {
                    return $"{scope} no longer allowed to {agent}";
                }
            }

            // A lease names its principal by sub only: every ceiling listed for that sub must allow the scope (fail closed).
            if (lease.Principal is { } sub && after.Config.Principals.Any(p => p.Sub == sub && !p.Scopes.Contains(scope, StringComparer.Ordinal)))
            {
                return $"{scope} beyond the ceiling of principal {sub}";
            }
        }

        return null;
    }
}
