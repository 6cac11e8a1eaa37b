namespace Tessera.Server.Tests.Admin;

public sealed class AdminEndpointsTests
{
    [Fact]
    public async Task Agents_list_shows_owner_purpose_expiry_status_and_methods_but_never_secrets()
    {
        await using var broker = await TestBroker.StartAsync();
        using var response = await broker.SendAsync(HttpMethod.Get, "/admin/v1/agents", broker.AdminToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(TestBroker.Sha256Hex(TestBroker.SupportSecret), body, StringComparison.Ordinal);
        Assert.DoesNotContain(TestBroker.SupportSecret, body, StringComparison.Ordinal);

        using var json = System.Text.Json.JsonDocument.Parse(body);
        var agents = json.RootElement.GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("id").GetString()!);
        var support = agents["support-agent"];
        Assert.Equal("support-platform@corp.example", support.GetProperty("owner").GetString());
        Assert.Equal("Answer customer tickets", support.GetProperty("purpose").GetString());
        Assert.Equal("2027-06-30T00:00:00.000Z", support.GetProperty("expires").GetString());
        Assert.Equal("active", support.GetProperty("status").GetString());
        Assert.Equal(212, support.GetProperty("days_left").GetInt32()); // 2026-11-29T12:00Z to 2027-06-30T00:00Z: 212.5 days
        Assert.Equal(0, agents["expired-agent"].GetProperty("days_left").GetInt32());
        Assert.Equal(["client_secret_basic", "client_secret_post"], support.GetProperty("auth_methods").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("expired", agents["expired-agent"].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Agents_list_shows_which_agents_still_rely_on_static_secrets_and_each_secrets_expiry_never_its_hash()
    {
        var idp = new TestIdp();
        var directory = idp.NewBrokerDirectory();
        const string rotating = "rotating-secret-0123456789abcdef0123";
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml($$"""
              - id: pod-agent
                owner: platform@corp.example
                purpose: No secret at all
                expires: 2027-06-30
                auth: { federated: { idp: corp, sub: "system:serviceaccount:agents:pod" } }
                allowed_scopes: [ "crm:read" ]
              - id: rotating-agent
                owner: platform@corp.example
                purpose: Mid-rotation
                expires: 2027-06-30
                auth:
                  client_secrets:
                    - { sha256: {{TestBroker.Sha256Hex(rotating)}}, expires: 2026-11-01 }
                    - { sha256: {{TestBroker.Sha256Hex(TestBroker.SupportSecret + "-next")}}, expires: "2027-01-31T12:00:00Z" }
                    - { sha256: {{TestBroker.Sha256Hex(TestBroker.SupportSecret + "-spare")}} }
                allowed_scopes: [ "crm:read" ]
            {{TestIdp.Yaml}}
            """), directory);

        using var response = await broker.SendAsync(HttpMethod.Get, "/admin/v1/agents", broker.AdminToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(TestBroker.Sha256Hex(rotating), body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(TestBroker.Sha256Hex(TestBroker.SupportSecret), body, StringComparison.OrdinalIgnoreCase);

        using var json = System.Text.Json.JsonDocument.Parse(body);
        var agents = json.RootElement.GetProperty("agents").EnumerateArray().ToDictionary(a => a.GetProperty("id").GetString()!);
        var pod = agents["pod-agent"];
        Assert.False(pod.GetProperty("static_secret").GetBoolean());
        Assert.False(pod.TryGetProperty("client_secrets", out _));
        Assert.Equal(["federated"], pod.GetProperty("auth_methods").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("corp", pod.GetProperty("federated").GetProperty("idp").GetString());
        Assert.Equal("system:serviceaccount:agents:pod", pod.GetProperty("federated").GetProperty("sub").GetString());

        Assert.True(agents["support-agent"].GetProperty("static_secret").GetBoolean());
        var rotatingAgent = agents["rotating-agent"];
        Assert.True(rotatingAgent.GetProperty("static_secret").GetBoolean());
        Assert.Equal(
            """[{"expires":"2026-11-01T00:00:00.000Z","status":"expired"},{"expires":"2027-01-31T12:00:00.000Z","status":"active"},{"status":"active"}]""",
            rotatingAgent.GetProperty("client_secrets").GetRawText());
    }

    [Fact]
    public async Task Admin_api_without_a_valid_admin_token_is_401_problem_details_and_audited()
    {
        await using var broker = await TestBroker.StartAsync();
        foreach (var token in new string?[] { null, "tsa_wrong", TestBroker.SupportSecret })
        {
            using var response = await broker.SendAsync(HttpMethod.Get, "/admin/v1/agents", token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            await AuditAssert.LastRefusalAsync(broker, "admin.denied", token is null ? RefusalCodes.AdminTokenMissing : RefusalCodes.AdminTokenInvalid);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        var denied = await broker.Store.Audit.QueryAsync(new Core.Audit.AuditQuery { Type = "admin.denied" }, CancellationToken.None);
        Assert.Equal(3, denied.Count);
    }

    [Fact]
    public async Task Audit_endpoint_filters_like_the_cli()
    {
        await using var broker = await TestBroker.StartAsync();
        await broker.IssueAsync();
        using var denied = await broker.ClientCredentialsAsync("support-agent", "nope");

        using var response = await broker.SendAsync(HttpMethod.Get, "/admin/v1/audit?agent=support-agent&type=token.issued", broker.AdminToken);
        using var json = await TestBroker.ReadJsonAsync(response);
        var events = json.RootElement.GetProperty("events").EnumerateArray().ToList();
        var issued = Assert.Single(events);
        Assert.Equal("token.issued", issued.GetProperty("type").GetString());
        Assert.Equal("allowed", issued.GetProperty("outcome").GetString());
        Assert.Equal(64, issued.GetProperty("hash").GetString()!.Length);

        using var bad = await broker.SendAsync(HttpMethod.Get, "/admin/v1/audit?since=yesterday", broker.AdminToken);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.AdminQueryInvalid);
        using var dup = await broker.SendAsync(HttpMethod.Get, "/admin/v1/audit?agent=a&agent=b", broker.AdminToken);
        Assert.Equal(HttpStatusCode.BadRequest, dup.StatusCode);
        Assert.Equal(2, (await broker.AuditEventsAsync()).Count(e => e.Record.ReasonCode == RefusalCodes.AdminQueryInvalid));
    }

    [Fact]
    public async Task Audit_pages_of_one_chain_keep_a_sequence_number_cursor_and_events_name_no_node()
    {
        await using var broker = await TestBroker.StartAsync();
        await broker.IssueAsync();
        await broker.IssueAsync();

        using var first = await broker.SendAsync(HttpMethod.Get, "/admin/v1/audit?type=token.issued&limit=1", broker.AdminToken);
        using var firstJson = await TestBroker.ReadJsonAsync(first);
        var e1 = Assert.Single(firstJson.RootElement.GetProperty("events").EnumerateArray());
        var next = firstJson.RootElement.GetProperty("next_after");
        Assert.Equal(JsonValueKind.Number, next.ValueKind);
        Assert.Equal(e1.GetProperty("seq").GetInt64(), next.GetInt64());
        Assert.False(e1.TryGetProperty("node", out _));
        using var second = await broker.SendAsync(HttpMethod.Get, $"/admin/v1/audit?type=token.issued&limit=1&after={next.GetInt64()}", broker.AdminToken);
        using var secondJson = await TestBroker.ReadJsonAsync(second);
        Assert.True(Assert.Single(secondJson.RootElement.GetProperty("events").EnumerateArray()).GetProperty("seq").GetInt64() > next.GetInt64());

        // A cursor of several nodes' chains means nothing on one chain; nor does text that is no cursor.
        foreach (var after in new[] { "e30", "eyJhIjoxfQ", "-1", "not%20a%20cursor" })
        {
            using var refused = await broker.SendAsync(HttpMethod.Get, $"/admin/v1/audit?after={after}", broker.AdminToken);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("'after' must be a sequence number.", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Malformed_revocation_requests_get_400_problem_details()
    {
        await using var broker = await TestBroker.StartAsync();
        foreach (var (body, code) in new[]
        {
            ("not json", RefusalCodes.AdminBodyInvalid),
            ("{}", RefusalCodes.AdminRevocationInvalid),
            ("{\"kind\":\"galaxy\",\"id\":\"x\"}", RefusalCodes.AdminRevocationInvalid),
            ("{\"kind\":\"token\",\"token\":\"garbage\"}", RefusalCodes.AdminRevocationTokenInvalid),
            ("[1,2,3]", RefusalCodes.AdminBodyInvalid),
        })
        {
            using var response = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var denied = await AuditAssert.LastRefusalAsync(broker, "admin.denied", code);
            Assert.Equal("bootstrap-admin", denied.Record.Principal);
        }
    }

    [Fact]
    public async Task Revoking_an_unknown_agent_or_mission_is_404_and_changes_nothing()
    {
        await using var broker = await TestBroker.StartAsync();
        foreach (var (kind, id, code) in new[] { ("agent", "suport-agent", RefusalCodes.AdminAgentUnknown), ("mission", "m_typo", RefusalCodes.AdminMissionUnknown) })
        {
            using var response = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind, id });
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            await AuditAssert.LastRefusalAsync(broker, "admin.denied", code);
        }

        Assert.Empty(await broker.Store.Revocations.LoadActiveAsync(broker.Time.GetUtcNow(), CancellationToken.None));
    }

    [Fact]
    public async Task An_identity_provider_jwt_of_a_configured_admin_is_admitted_and_anyone_elses_is_403()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var now = broker.Time.GetUtcNow();

        using var carol = await broker.SendAsync(HttpMethod.Get, "/admin/v1/agents", idp.MintAdmin("carol", now));
        Assert.Equal(HttpStatusCode.OK, carol.StatusCode);
        using var alice = await broker.SendAsync(HttpMethod.Get, "/admin/v1/agents", idp.MintAdmin("alice", now));
        Assert.Equal(HttpStatusCode.Forbidden, alice.StatusCode);
        await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.AdminNotAdmin);
        using var expired = await broker.SendAsync(HttpMethod.Get, "/admin/v1/agents", idp.MintAdmin("carol", now - TimeSpan.FromHours(2), lifetime: TimeSpan.FromMinutes(5)));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.AdminTokenInvalid);
        using var foreignAudience = await broker.SendAsync(HttpMethod.Get, "/admin/v1/agents", idp.Mint("carol", now, audience: "payroll"));
        Assert.Equal(HttpStatusCode.Unauthorized, foreignAudience.StatusCode);

        // carol's token for delegation (the audience principals hand to agents) is no admin credential.
        using var delegation = await broker.SendAsync(HttpMethod.Get, "/admin/v1/agents", idp.Mint("carol", now, audience: TestIdp.Audience));
        Assert.Equal(HttpStatusCode.Unauthorized, delegation.StatusCode);

        var events = await broker.Store.Audit.QueryAsync(new Core.Audit.AuditQuery { Type = "admin.read" }, CancellationToken.None);
        Assert.Equal("corp:carol", Assert.Single(events).Record.Principal);
    }
}
