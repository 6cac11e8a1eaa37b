namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// A principal's token handed to an agent for delegation is never an admin or approver credential,
/// and an agent never decides its own approval: the review's reproduction (bob's delegation token
/// approving the agent's export; carol's listing agents, planting a secret, suspending agents) and
/// its variants.
/// </summary>
public sealed class AdminSeparationAttackTests : IAsyncLifetime
{
    private TestBroker _broker = null!;
    private TestIdp _idp = null!;

    public async ValueTask InitializeAsync() => (_broker, _idp) = await ApprovalBroker.StartAsync();

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();

    private static Dictionary<string, object> MayAct(string sub) => new() { ["may_act"] = new Dictionary<string, object> { ["sub"] = sub } };

    [Fact]
    public async Task An_approvers_delegation_token_handed_to_the_agent_cannot_approve_its_request()
    {
        var id = await _broker.RequestApprovalAsync(_idp);
        var now = _broker.Time.GetUtcNow();

        // bob mints a token for the agent to act with (aud = the delegation audience, may_act = the agent).
        var handedToAgent = _idp.Mint("bob", now, extraClaims: MayAct(ApprovalBroker.Agent));
        using (var approve = await _broker.DecideAsync(id, "approve", handedToAgent))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, approve.StatusCode);
        }

        // Even addressed to the admin audience, a token naming an actor was made to be handed to an agent.
        var withMayAct = _idp.Mint("bob", now, audience: TestIdp.AdminAudience, extraClaims: MayAct(ApprovalBroker.Agent));
        using (var approve = await _broker.DecideAsync(id, "approve", withMayAct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, approve.StatusCode);
        }

        var withAct = _idp.Mint("bob", now, audience: TestIdp.AdminAudience, extraClaims: new Dictionary<string, object> { ["act"] = new Dictionary<string, object> { ["sub"] = "someone" } });
        using (var approve = await _broker.DecideAsync(id, "approve", withAct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, approve.StatusCode);
        }

        var pending = await _broker.ListApprovalsAsync(_idp.As(_broker, "bob"), "?status=pending");
        Assert.Equal(id, Assert.Single(pending.EnumerateArray()).GetProperty("id").GetString());
        var denials = (await _broker.AuditEventsAsync()).Where(e => e.Record.Type == "admin.denied").ToList();
        Assert.Equal(3, denials.Count);
        Assert.All(denials, e => Assert.Equal(RefusalCodes.AdminTokenInvalid, e.Record.ReasonCode));
        Assert.Contains(denials, e => e.Record.Reason!.Contains("wrong audience", StringComparison.Ordinal));
        Assert.Contains(denials, e => e.Record.Reason!.Contains("may_act", StringComparison.Ordinal));
        Assert.Contains(denials, e => e.Record.Reason!.Contains("act", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_token_for_both_audiences_works_neither_as_admin_credential_nor_as_subject_token()
    {
        var id = await _broker.RequestApprovalAsync(_idp);
        var now = _broker.Time.GetUtcNow();

        var both = MintForAudiences(_idp, "bob", now, TestIdp.Audience, TestIdp.AdminAudience);
        using (var approve = await _broker.DecideAsync(id, "approve", both))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, approve.StatusCode);
        }

        using var exchange = await ExchangeAsync(_broker, MintForAudiences(_idp, "alice", now, TestIdp.Audience, TestIdp.AdminAudience));
        await OAuthAssert.ErrorAsync(exchange, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task An_admins_token_is_not_a_subject_token_and_an_admins_delegation_token_is_not_an_admin_credential()
    {
        var now = _broker.Time.GetUtcNow();

        // carol's token handed to the agent (the review: list agents, plant a secret, suspend and resume agents).
        var handedToAgent = _idp.Mint("carol", now, extraClaims: MayAct(ApprovalBroker.Agent));
        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Get, "/admin/v1/agents", null),
            (HttpMethod.Put, "/admin/v1/secrets/planted", """{"value":"attacker-chosen"}"""),
            (HttpMethod.Post, $"/admin/v1/agents/{ApprovalBroker.OtherAgent}/suspend", null),
            (HttpMethod.Post, $"/admin/v1/agents/{ApprovalBroker.OtherAgent}/resume", null),
            (HttpMethod.Get, "/admin/v1/audit", null),
        })
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", handedToAgent);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            using var response = await _broker.Client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {response.StatusCode}");
        }

        Assert.Empty(await _broker.Store.Secrets.LoadVersionsAsync(CancellationToken.None));
        Assert.Empty(await _broker.Store.AgentStates.LoadSuspendedAsync(CancellationToken.None));

        // Introspection with an admin bearer takes only admin credentials too.
        using var issued = await _broker.AskAsync(_idp, "crm:read");
        var token = (await TestBroker.ReadJsonAsync(issued)).RootElement.GetProperty("access_token").GetString()!;
        using (var introspect = await IntrospectAsBearerAsync(_broker, token, handedToAgent))
        {
            await OAuthAssert.ErrorAsync(introspect, HttpStatusCode.Unauthorized, "invalid_client");
        }

        using (var introspect = await IntrospectAsBearerAsync(_broker, token, _idp.MintAdmin("carol", now)))
        {
            Assert.Equal(HttpStatusCode.OK, introspect.StatusCode);
        }

        // And the other way round: carol's admin token is no subject token.
        using var exchange = await ExchangeAsync(_broker, _idp.MintAdmin("alice", now));
        await OAuthAssert.ErrorAsync(exchange, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task An_approver_who_is_an_agent_in_the_requests_chain_cannot_decide_it()
    {
        var id = await _broker.RequestApprovalAsync(_idp);

        // corp:support-agent is a member of security-oncall, and its name is the asking agent's.
        using (var approve = await _broker.DecideAsync(id, "approve", _idp.As(_broker, ApprovalBroker.Agent)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, approve.StatusCode);
            Assert.Contains("actor chain", await approve.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            await AuditAssert.LastRefusalAsync(_broker, "admin.denied", RefusalCodes.ApprovalApproverInChain);
        }

        using (var deny = await _broker.DecideAsync(id, "deny", _idp.As(_broker, ApprovalBroker.Agent)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, deny.StatusCode);
        }

        Assert.Single((await _broker.ListApprovalsAsync(_idp.As(_broker, "bob"), "?status=pending")).EnumerateArray());
        Assert.Contains(await _broker.AuditEventsAsync(), e => e.Record.Type == "admin.denied" && e.Record.Reason!.Contains("ApproverInChain", StringComparison.Ordinal));

        // Another member still decides it.
        using var bob = await _broker.DecideAsync(id, "approve", _idp.As(_broker, "bob"));
        Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
    }

    [Fact]
    public async Task An_approver_whose_identity_is_the_federated_identity_of_the_asking_agent_cannot_decide()
    {
        // One provider both signs the agent's workload identity and is where approvers sign in: ci:deployer is an
        // approver, and also the identity the deploy agent authenticates with.
        var idp = new TestIdp();
        var directory = Path.Combine(Path.GetTempPath(), "tessera-test-" + Guid.NewGuid().ToString("N"));
        idp.WriteJwks(directory);
        var yaml = $$"""
            server: { listen: "{{TestBroker.Issuer}}" }
            tokens: { default_ttl: 5m, max_ttl: 1h }
            identity_providers:
              - { id: ci, issuer: "{{TestIdp.Issuer}}", jwks_file: idp.jwks.json, audience: tessera }
            approver_groups:
              - { id: release, members: [ { idp: ci, sub: deployer }, { idp: ci, sub: bob } ] }
            tools:
              - id: deploy
                scopes:
                  prod: { rules: [ "POST /deploy" ], approval: { group: release } }
            agents:
              - id: deploy-agent
                owner: platform@corp.example
                purpose: Deploy releases
                expires: 2027-06-30
                auth: { federated: { idp: ci, sub: deployer } }
                allowed_scopes: [ "deploy:prod" ]
            """;
        await using var broker = await TestBroker.StartAsync(yaml, directory);
        var now = broker.Time.GetUtcNow();
        using var asked = await broker.PostFormAsync("/oauth/token",
        [
            new("grant_type", "client_credentials"),
            new("scope", "deploy:prod"),
            new("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            new("client_assertion", idp.Mint("deployer", now, lifetime: TimeSpan.FromMinutes(5), audience: TestBroker.Issuer + "/oauth/token",
                extraClaims: new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString("N") })),
        ]);
        using var answer = System.Text.Json.JsonDocument.Parse(await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "approval_required"));
        var id = answer.RootElement.GetProperty("auth_req_id").GetString()!;

        using (var self = await broker.DecideAsync(id, "approve", idp.MintAdmin("deployer", now)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, self.StatusCode);
            await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.ApprovalApproverInChain);
        }

        using var bob = await broker.DecideAsync(id, "approve", idp.MintAdmin("bob", now));
        Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
    }

    /// <summary>support-agent exchanges <paramref name="subjectToken"/> for CRM read access.</summary>
    private static Task<HttpResponseMessage> ExchangeAsync(TestBroker broker, string subjectToken) =>
        broker.PostFormAsync("/oauth/token",
        [
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", subjectToken),
            new("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            new("resource", "urn:tessera:tool:crm"),
            new("scope", "crm:read"),
        ], TestBroker.Basic(ApprovalBroker.Agent, ApprovalBroker.Secret));

    private static string MintForAudiences(TestIdp idp, string sub, DateTimeOffset now, params string[] audiences) =>
        idp.Mint(sub, now, audience: null, extraClaims: new Dictionary<string, object> { ["aud"] = audiences });

    private static async Task<HttpResponseMessage> IntrospectAsBearerAsync(TestBroker broker, string token, string bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Content = new FormUrlEncodedContent([new KeyValuePair<string, string>("token", token)]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await broker.Client.SendAsync(request);
    }
}
