using Tessera.Core.Audit;
using Tessera.Core.Leases;
using Tessera.Core.Tokens;

namespace Tessera.Cli.Tests;

// The command writes to the process console, which the tests capture one at a time.
[Collection("Console")]
public sealed class LeaseCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Lease_list_shows_a_live_lease_and_revoke_refuses_what_it_cannot_end_until_forced()
    {
        await using var broker = await CliBroker.StartAsync();

        // A lease of a database tool that is no longer configured: ending it cannot reach its database.
        var now = broker.Service<TimeProvider>().GetUtcNow();
        var claims = new AccessTokenClaims
        {
            Issuer = "http://127.0.0.1", Subject = "alice", Audience = "urn:tessera:tool:warehouse", ClientId = CliBroker.Agent,
            Scope = ScopeSet.Parse("warehouse:read"), Jti = "jti-1", IssuedAt = now.ToUnixTimeSeconds(), ExpiresAt = now.AddMinutes(5).ToUnixTimeSeconds(),
            ActorChain = [CliBroker.Agent], Mission = "m_report",
        };
        var id = LeaseNames.NewId();
        await broker.Store.Leases.OpenAsync(Lease.Open(id, "warehouse", claims, ["warehouse:read"], now, now.AddMinutes(5), "cli-test"), Ct);
        await broker.Service<AuditLog>().AppendAsync(new AuditRecord { Type = AuditTypes.LeaseIssued, Outcome = AuditOutcomes.Allowed, Lease = id },
            new LeaseStep(id, LeaseStatus.Active, now), Ct);

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("lease", "list", "--config", broker.ConfigPath);
        Assert.True(exit == 0, stderr);
        Assert.Contains($"{id}  active   tool warehouse  role {LeaseNames.RoleOf(id)}  agent {CliBroker.Agent} for alice  mission m_report  scopes warehouse:read", stdout, StringComparison.Ordinal);

        var (jsonExit, json, _) = await TesseraCli.RunAsync("lease", "list", "--json", "--config", broker.ConfigPath);
        Assert.Equal(0, jsonExit);
        using (var line = JsonDocument.Parse(json))
        {
            Assert.Equal(("active", id), (line.RootElement.GetProperty("status").GetString(), line.RootElement.GetProperty("id").GetString()));
            Assert.False(line.RootElement.TryGetProperty("password", out _));
        }

        // Not forced: refused with the reason, and still live (retried).
        var refused = await TesseraCli.RunAsync("lease", "revoke", id, "--config", broker.ConfigPath);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("no longer a configured database tool", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("FAILING: 1 attempt(s)", (await TesseraCli.RunAsync("lease", "list", "--config", broker.ConfigPath)).Stdout, StringComparison.Ordinal);

        // Forced: closed, saying the role may remain.
        var forced = await TesseraCli.RunAsync("lease", "revoke", id, "--force", "--config", broker.ConfigPath);
        Assert.True(forced.Exit == 0, forced.Stderr);
        Assert.Contains($"lease {id} is ended (forced: role {LeaseNames.RoleOf(id)} may remain", forced.Stdout, StringComparison.Ordinal);
        Assert.Contains("No live leases.", (await TesseraCli.RunAsync("lease", "list", "--config", broker.ConfigPath)).Stdout, StringComparison.Ordinal);
        Assert.Contains($"{id}  ended", (await TesseraCli.RunAsync("lease", "list", "--all", "--config", broker.ConfigPath)).Stdout, StringComparison.Ordinal);

        var unknown = await TesseraCli.RunAsync("lease", "revoke", "ls_" + new string('0', 32), "--config", broker.ConfigPath);
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("No lease", unknown.Stderr, StringComparison.Ordinal);
    }
}
