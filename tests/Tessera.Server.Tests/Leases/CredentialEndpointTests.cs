using System.Text.Json;
using Npgsql;
using Tessera.Core.Leases;
using Tessera.Core.Storage;
using Tessera.Credentials.Postgres.Tests;

namespace Tessera.Server.Tests.Leases;

/// <summary>
/// <c>POST /credentials/{tool}</c> end to end against a real PostgreSQL: what a lease may do in the
/// database, that it dies with its mission, its token and an operator's word, that a crash leaves no
/// role behind, and that a misconfiguration is a clear refusal.
/// </summary>
[Collection(LeaseCollection.Name)]
[Trait("Speed", "Slow")] // a real PostgreSQL cluster
public sealed class CredentialEndpointTests(Warehouse warehouse)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_read_lease_can_select_and_cannot_insert()
    {
        var (broker, _) = await LeaseBroker.StartAsync(warehouse);
        await using var _b = broker;
        var token = await broker.AgentTokenAsync("warehouse:read");

        using var response = await broker.RequestLeaseAsync(token);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var lease = JsonDocument.Parse(body).RootElement;
        var role = lease.GetProperty("username").GetString()!;
        Assert.Equal(LeaseNames.RoleOf(lease.GetProperty("lease_id").GetString()!), role);
        Assert.Equal((Warehouse.Database, warehouse.Port, "127.0.0.1"),
            (lease.GetProperty("database").GetString(), lease.GetProperty("port").GetInt32(), lease.GetProperty("host").GetString()));

        await using var connection = LeaseBroker.Connect(lease);
        await connection.OpenAsync(Ct);
        await using (var select = new NpgsqlCommand("SELECT count(*) FROM reporting.orders", connection))
        {
            Assert.True((long)(await select.ExecuteScalarAsync(Ct))! >= 1);
        }

        await using var insert = new NpgsqlCommand($"INSERT INTO reporting.orders VALUES ({Random.Shared.Next(1_000_000, int.MaxValue)}, 'x')", connection);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync(Ct));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);

        // On record with its role, scopes and holder; the password is nowhere in the log.
        var events = await broker.AuditEventsAsync();
        var issued = Assert.Single(events, e => e.Record.Type == AuditTypes.LeaseIssued);
        Assert.Equal((role, "warehouse", LeaseBroker.Agent), (issued.Record.Role, issued.Record.Tool, issued.Record.Agent));
        Assert.Equal(["warehouse:read"], issued.Record.Scopes);
        var password = lease.GetProperty("password").GetString()!;
        Assert.DoesNotContain(events, e => JsonSerializer.Serialize(e.Record).Contains(password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_write_scope_needs_an_approval_and_its_token_gets_one_lease_that_can_insert()
    {
        var (broker, idp) = await LeaseBroker.StartAsync(warehouse);
        await using var _b = broker;

        using var asked = await broker.ExchangeAsync(idp.Mint("alice", broker.Time.GetUtcNow()), "warehouse:write", purpose: "fix the March totals");
        var refusal = await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "approval_required");
        var authReqId = JsonDocument.Parse(refusal).RootElement.GetProperty("auth_req_id").GetString()!;
        await broker.ApproveAsync(idp, authReqId);
        broker.Time.Advance(ApprovalBroker.Interval);
        using var poll = await broker.PostFormAsync("/oauth/token", [new("grant_type", "urn:openid:params:grant-type:ciba"), new("auth_req_id", authReqId)],
            TestBroker.Basic(LeaseBroker.Agent, LeaseBroker.Secret));
        var token = await OAuthAssert.TokenAsync(poll);

        var lease = await broker.LeaseAsync(token);
        await using (var connection = LeaseBroker.Connect(lease))
        {
            await connection.OpenAsync(Ct);
            await using var insert = new NpgsqlCommand($"INSERT INTO reporting.orders VALUES ({Random.Shared.Next(1_000_000, int.MaxValue)}, 'approved')", connection);
            Assert.Equal(1, await insert.ExecuteNonQueryAsync(Ct));
        }

        // The approval allowed one use: a second lease with the same token is refused, on record.
        using var again = await broker.RequestLeaseAsync(token);
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        await AuditAssert.LastRefusalAsync(broker, AuditTypes.LeaseDenied, RefusalCodes.LeaseUsesSpent);
    }

    [Fact]
    public async Task Revoking_the_mission_kills_an_open_session_of_its_lease_and_drops_the_role()
    {
        var (broker, idp) = await LeaseBroker.StartAsync(warehouse);
        await using var _b = broker;
        using var started = await broker.ExchangeAsync(idp.Mint("alice", broker.Time.GetUtcNow()), scope: null, purpose: "monthly revenue report");
        var missionToken = await OAuthAssert.TokenAsync(started);
        using var exchanged = await broker.ExchangeAsync(missionToken, "warehouse:read", missionToken: true);
        var token = await OAuthAssert.TokenAsync(exchanged);
        var lease = await broker.LeaseAsync(token);
        var role = lease.GetProperty("username").GetString()!;

        await using var connection = LeaseBroker.Connect(lease);
        await connection.OpenAsync(Ct);
        var mission = JsonDocument.Parse(Convert.FromBase64String(Pad(token.Split('.')[1]))).RootElement.GetProperty("mission").GetString()!;
        using (var revoked = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "mission", id = mission }))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        // The reaper is woken by the revocation; this pass ends the lease or waits for the reaper's end of it.
        // A terminated session takes a moment to go: the provider polls for it on the broker's clock, which
        // the test moves to each such poll (and only those), however slowly the machine runs.
        await ((TestClock)broker.Time).StepUntilAsync(broker.Service<LeaseService>().EndDueAsync(Ct), due => due < TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));

        Assert.False(await warehouse.RoleExistsAsync(role));
        await using var select = new NpgsqlCommand("SELECT 1", connection);
        await Assert.ThrowsAnyAsync<Exception>(() => select.ExecuteScalarAsync(Ct));
        var ended = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.LeaseRevoked);
        Assert.Equal((mission, role, "alice"), (ended.Record.Mission, ended.Record.Role, ended.Record.Principal));
        Assert.Contains($"mission {mission} was revoked", ended.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_that_narrows_a_scopes_grants_drops_the_live_leases_role_and_the_next_lease_has_only_the_new_grants()
    {
        var (broker, _) = await LeaseBroker.StartAsync(warehouse);
        await using var _b = broker;
        var token = await broker.AgentTokenAsync("warehouse:read");
        var before = await broker.LeaseAsync(token);
        var role = before.GetProperty("username").GetString()!;
        Assert.True(await CanSelectOrdersAsync(before));

        // read: the schema and its tables → the schema only.
        var path = Path.Combine(broker.Directory, "tessera.yaml");
        var yaml = await File.ReadAllTextAsync(path, Ct);
        var narrowed = yaml.Replace($", \"GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {LeaseGrants.RolePlaceholder}\"", "", StringComparison.Ordinal);
        Assert.NotEqual(yaml, narrowed);
        await File.WriteAllTextAsync(path, narrowed, Ct);
        using (var reload = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/config/reload"))
        {
            Assert.Equal(HttpStatusCode.OK, reload.StatusCode);
        }

        // Ended by the reload itself, before it answered: no session was open, so the role is gone now.
        Assert.False(await warehouse.RoleExistsAsync(role));
        var ended = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.LeaseRevoked);
        Assert.Contains("grants of warehouse:read changed", ended.Record.Reason, StringComparison.Ordinal);

        // The same token gets a new lease, of the new grants only.
        Assert.False(await CanSelectOrdersAsync(await broker.LeaseAsync(token)));
    }

    private static async Task<bool> CanSelectOrdersAsync(JsonElement lease)
    {
        await using var connection = LeaseBroker.Connect(lease);
        await connection.OpenAsync(Ct);
        await using var privilege = new NpgsqlCommand("SELECT has_table_privilege('reporting.orders', 'SELECT')", connection);
        return (bool)(await privilege.ExecuteScalarAsync(Ct))!;
    }

    [Fact]
    public async Task A_lease_never_outlives_its_token()
    {
        var (broker, _) = await LeaseBroker.StartAsync(warehouse);
        await using var _b = broker;
        var token = await broker.AgentTokenAsync("warehouse:read");
        var exp = DateTimeOffset.FromUnixTimeSeconds(JsonDocument.Parse(Convert.FromBase64String(Pad(token.Split('.')[1]))).RootElement.GetProperty("exp").GetInt64());
        var lease = await broker.LeaseAsync(token);
        var role = lease.GetProperty("username").GetString()!;

        // lease_ttl is 15 minutes, the token lives 5: the lease ends with the token, in Tessera and in the database.
        Assert.Equal(exp, DateTimeOffset.Parse(lease.GetProperty("expires_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(exp, new DateTimeOffset(await warehouse.ScalarAsync<DateTime>("SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1", role), TimeSpan.Zero));

        broker.Time.Advance(exp - broker.Time.GetUtcNow());
        await broker.Service<LeaseService>().EndDueAsync(Ct);
        Assert.False(await warehouse.RoleExistsAsync(role));
        Assert.Contains(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.LeaseRevoked && e.Record.Role == role && e.Record.Reason!.StartsWith("it expired", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_crash_between_making_the_role_and_recording_the_lease_leaves_no_role_after_restart()
    {
        var (broker, _) = await LeaseBroker.StartAsync(warehouse);
        var token = await broker.AgentTokenAsync("warehouse:read");
        var directory = broker.Directory;

        // What a process killed after making the role and before lease.issued leaves: the lease recorded
        // as issuing (it is recorded first) and the role in the database, with nobody to hand it to.
        var claims = (await broker.Service<Core.Tokens.AccessTokenValidator>().ValidateAsync(token, Ct)).Claims!;
        var leaseId = LeaseNames.NewId();
        var now = broker.Time.GetUtcNow();
        await broker.Store.Leases.OpenAsync(Lease.Open(leaseId, "warehouse", claims, ["warehouse:read"], now, now.AddMinutes(5), broker.Config.Cluster.NodeId), Ct);
        var tool = broker.Service<Core.Configuration.LiveConfig>().Current.Tools.FindById("warehouse")!;
        await using (var provider = new Credentials.Postgres.PostgresCredentialProvider(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<Credentials.Postgres.PostgresCredentialProvider>.Instance))
        {
            await provider.IssueAsync(new CredentialRequest(leaseId, tool, LeaseNames.RoleOf(leaseId), tool.Options.Scopes["read"].Grants, now.AddMinutes(5), warehouse.AdminSecret), Ct);
        }

        Assert.True(await warehouse.RoleExistsAsync(LeaseNames.RoleOf(leaseId)));
        await broker.StopForRestartAsync();

        // The restarted broker ends what the stopped one left issuing: the role is dropped, on record.
        (broker, _) = await LeaseBroker.StartAsync(warehouse, directory: directory, putSecret: false);
        await using var _b = broker;
        await broker.Service<LeaseService>().EndDueAsync(Ct);
        Assert.False(await warehouse.RoleExistsAsync(LeaseNames.RoleOf(leaseId)));
        Assert.Equal(LeaseStatus.Ended, (await broker.Store.Leases.FindAsync(leaseId, Ct))!.Status);
        Assert.Contains(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.LeaseRevoked && e.Record.Lease == leaseId);
    }

    [Fact]
    public async Task A_lease_survives_a_restart_and_still_ends_with_its_token()
    {
        var (broker, _) = await LeaseBroker.StartAsync(warehouse);
        var token = await broker.AgentTokenAsync("warehouse:read");
        var lease = await broker.LeaseAsync(token);
        var role = lease.GetProperty("username").GetString()!;
        var restarted = await broker.RestartAsync();
        await using var _b = restarted;

        var listed = await restarted.AdminAsync(HttpMethod.Get, "/admin/v1/leases");
        Assert.Contains(JsonDocument.Parse(await listed.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("leases").EnumerateArray(),
            l => l.GetProperty("username").GetString() == role && l.GetProperty("status").GetString() == "active");
        using (var revoked = await restarted.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "token", token }))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        await restarted.Service<LeaseService>().EndDueAsync(Ct);
        Assert.False(await warehouse.RoleExistsAsync(role));
    }

    [Fact]
    public async Task A_wrong_admin_secret_is_a_clear_424_not_a_5xx_and_leaves_no_role()
    {
        var wrong = warehouse.AdminSecret.Replace(Warehouse.AdminPassword, "not-the-password", StringComparison.Ordinal);
        var (broker, _) = await LeaseBroker.StartAsync(warehouse, adminSecret: wrong);
        await using var _b = broker;
        var token = await broker.AgentTokenAsync("warehouse:read");
        var before = await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tessera\\_ls\\_%'");

        using var response = await broker.RequestLeaseAsync(token);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.FailedDependency, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;
        Assert.Contains("admin", detail, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("not-the-password", body, StringComparison.Ordinal);

        var denied = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.LeaseDenied);
        Assert.Equal((RefusalCodes.LeaseAdminRejected, AuditOutcomes.Error, 424), (denied.Record.ReasonCode, denied.Record.Outcome, denied.Record.Status));
        Assert.Equal(before, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tessera\\_ls\\_%'"));
        Assert.Equal(LeaseStatus.Ended, Assert.Single(await broker.Store.Leases.ListAsync(includeEnded: true, 10, Ct)).Status);
    }

    [Fact]
    public async Task An_operator_sees_a_lease_that_fails_to_end_and_can_force_it_closed()
    {
        var logs = new CapturingLoggerProvider();
        var (broker, _) = await LeaseBroker.StartAsync(warehouse, configure: logs.AddTo);
        await using var _b = broker;
        var lease = await broker.LeaseAsync(await broker.AgentTokenAsync("warehouse:read"));
        var id = lease.GetProperty("lease_id").GetString()!;
        var role = lease.GetProperty("username").GetString()!;

        // The admin secret goes wrong after the lease was made: ending it fails, is on record, and is retried.
        var wrong = warehouse.AdminSecret.Replace(Warehouse.AdminPassword, "rotated-badly", StringComparison.Ordinal);
        Assert.Null((await broker.Service<Core.Vault.SecretVault>().RotateAsync(LeaseBroker.AdminSecretName, Encoding.UTF8.GetBytes(wrong), "test", null, Ct)).Error);
        using (var failed = await broker.AdminAsync(HttpMethod.Post, $"/admin/v1/leases/{id}/revoke"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        Assert.True(await warehouse.RoleExistsAsync(role));
        Assert.Contains(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.LeaseRevokeFailed && e.Record.Lease == id);
        using (var listed = await broker.AdminAsync(HttpMethod.Get, "/admin/v1/leases"))
        {
            var item = Assert.Single(JsonDocument.Parse(await listed.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("leases").EnumerateArray());
            Assert.Equal(("ending", 1), (item.GetProperty("status").GetString(), item.GetProperty("attempts").GetInt32()));
        }

        using (var posture = await broker.AdminAsync(HttpMethod.Get, "/admin/v1/posture"))
        {
            var findings = JsonDocument.Parse(await posture.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("findings").EnumerateArray();
            Assert.Contains(findings, f => f.GetProperty("type").GetString() == "lease.revoke_failing" && f.GetProperty("severity").GetString() == "high");
        }

        // Forced: the record closes, saying the role may remain.
        using (var forced = await broker.AdminAsync(HttpMethod.Post, $"/admin/v1/leases/{id}/revoke", new { force = true }))
        {
            var view = JsonDocument.Parse(await forced.Content.ReadAsStringAsync(Ct)).RootElement;
            Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
            Assert.Equal("ended", view.GetProperty("status").GetString());
        }

        Assert.Contains(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.LeaseRevoked && e.Record.ReasonCode == RefusalCodes.LeaseForced);
        // The failures were logged, and neither the lease's password nor the admin's is in any line.
        Assert.Contains(logs.Lines, l => l.Contains(id, StringComparison.Ordinal));
        Assert.DoesNotContain(lease.GetProperty("password").GetString()!, logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(Warehouse.AdminPassword, logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain("rotated-badly", logs.All, StringComparison.Ordinal);

        // What the operator then does by hand (the force's recommendation).
        await warehouse.ScalarAsync<int>($"DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\"");
        Assert.False(await warehouse.RoleExistsAsync(role));
    }

    [Fact]
    public async Task The_proxy_refuses_a_database_tool_and_the_credentials_endpoint_refuses_an_http_tool()
    {
        var (broker, _) = await LeaseBroker.StartAsync(warehouse);
        await using var _b = broker;
        using (var proxied = await broker.SendAsync(HttpMethod.Get, "/proxy/warehouse/anything", await broker.AgentTokenAsync("warehouse:read")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, proxied.StatusCode);
        }

        using (var crm = await broker.RequestLeaseAsync(await broker.AgentTokenAsync("crm:read"), "crm"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, crm.StatusCode);
        }

        await AuditAssert.LastRefusalAsync(broker, AuditTypes.LeaseDenied, RefusalCodes.LeaseToolNotDatabase);
    }

    private static string Pad(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }
}
