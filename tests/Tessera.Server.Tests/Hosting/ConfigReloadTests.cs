using Tessera.Core.Configuration;

namespace Tessera.Server.Tests.Hosting;

/// <summary>
/// What a reload means for credentials (docs/operations.md, "Reloading the configuration"), through
/// the real HTTP endpoints: the file is rewritten and <c>POST /admin/v1/config/reload</c> called, as
/// an operator does.
/// </summary>
public sealed class ConfigReloadTests : IAsyncLifetime
{
    private const string BillingSecret = "billing-secret-0123456789abcdef";

    private static readonly string Billing = $$"""
          - id: billing-bot
            owner: finance@corp.example
            purpose: Reconcile invoices
            expires: 2027-03-31
            auth:
              client_secret_sha256: {{TestBroker.Sha256Hex(BillingSecret)}}
            allowed_scopes: [ "crm:read" ]
        """;

    private ProxyBroker _proxy = null!;

    private string FilePath => Path.Combine(_proxy.Broker.Directory, "tessera.yaml");

    public async ValueTask InitializeAsync() => _proxy = await ProxyBroker.StartAsync(extraAgents: Billing);

    public async ValueTask DisposeAsync() => await _proxy.DisposeAsync();

    /// <summary>The broker's file with <paramref name="edit"/> applied (and billing-bot unless <paramref name="withBilling"/> is false).</summary>
    private async Task WriteAsync(Func<string, string>? edit = null, bool withBilling = true, Uri? upstream = null)
    {
        var yaml = ProxyBroker.Yaml(upstream ?? _proxy.Upstream.Address, extraAgents: withBilling ? Billing : "");
        await File.WriteAllTextAsync(FilePath, edit?.Invoke(yaml) ?? yaml);
    }

    private async Task<(HttpStatusCode Status, JsonDocument Body)> ReloadAsync(string? bearer = null)
    {
        using var response = await _proxy.Broker.SendAsync(HttpMethod.Post, "/admin/v1/config/reload", bearer ?? _proxy.Broker.AdminToken);
        return (response.StatusCode, await TestBroker.ReadJsonAsync(response));
    }

    private string FileHash() => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(FilePath)));

    private async Task<HttpStatusCode> GetAsync(string path, string token)
    {
        using var response = await _proxy.SendAsync(HttpMethod.Get, path, token);
        return response.StatusCode;
    }

    [Fact]
    public async Task Removing_an_agent_kills_its_tokens_at_once_and_it_gets_no_new_one()
    {
        var token = await _proxy.Broker.IssueAsync("crm:read");
        using (var billing = await _proxy.Broker.ClientCredentialsAsync("billing-bot", BillingSecret, ("scope", "crm:read")))
        {
            Assert.Equal(HttpStatusCode.OK, billing.StatusCode);
            var billingToken = (await TestBroker.ReadJsonAsync(billing)).RootElement.GetProperty("access_token").GetString()!;
            Assert.Equal(HttpStatusCode.OK, await GetAsync("/proxy/crm/contacts/1", billingToken));
            await WriteAsync(withBilling: false);

            var (status, body) = await ReloadAsync();

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(["agent removed: billing-bot"], body.RootElement.GetProperty("changes").EnumerateArray().Select(c => c.GetString()));
            Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("/proxy/crm/contacts/1", billingToken));
            Assert.False(await _proxy.Broker.IsActiveAsync(billingToken));
        }

        using var again = await _proxy.Broker.ClientCredentialsAsync("billing-bot", BillingSecret, ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
        // Everyone else is untouched.
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/proxy/crm/contacts/1", token));
    }

    [Fact]
    public async Task An_agent_added_to_the_file_gets_tokens_after_the_reload_without_a_restart()
    {
        await WriteAsync(withBilling: false);
        Assert.Equal(HttpStatusCode.OK, (await ReloadAsync()).Status);
        using (var before = await _proxy.Broker.ClientCredentialsAsync("billing-bot", BillingSecret, ("scope", "crm:read")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, before.StatusCode);
        }

        await WriteAsync();
        var (status, body) = await ReloadAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["agent added: billing-bot"], body.RootElement.GetProperty("changes").EnumerateArray().Select(c => c.GetString()));
        using var after = await _proxy.Broker.ClientCredentialsAsync("billing-bot", BillingSecret, ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Narrowing_a_scopes_rules_refuses_with_the_same_token_a_call_the_old_rules_allowed()
    {
        var token = await _proxy.TokenAsync("crm:read");
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/proxy/crm/accounts/7", token));
        await WriteAsync(yaml => yaml.Replace("""read: { rules: [ "GET /contacts/**", "GET /accounts/*" ] }""", """read: { rules: [ "GET /contacts/**" ] }""", StringComparison.Ordinal));

        var (status, body) = await ReloadAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["scope changed: crm:read (rules)"], body.RootElement.GetProperty("changes").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync("/proxy/crm/accounts/7", token));
        await AuditAssert.LastRefusalAsync(_proxy.Broker, AuditTypes.ProxyDenied, RefusalCodes.ProxyRuleNotMatched);
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/proxy/crm/contacts/1", token));
    }

    [Fact]
    public async Task A_scope_taken_from_the_agent_is_refused_and_introspection_answers_what_is_left()
    {
        var token = await _proxy.TokenAsync("crm:read crm:export");
        await WriteAsync(yaml => yaml.Replace("allowed_scopes: [ \"crm:read\", \"crm:export\",", "allowed_scopes: [ \"crm:read\",", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.OK, (await ReloadAsync()).Status);

        using (var export = await _proxy.SendAsync(HttpMethod.Post, "/proxy/crm/exports", token))
        {
            Assert.Equal(HttpStatusCode.Forbidden, export.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await GetAsync("/proxy/crm/contacts/1", token));
        using var introspection = await _proxy.Broker.PostFormAsync("/oauth/introspect", [new("token", token)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        using var json = await TestBroker.ReadJsonAsync(introspection);
        Assert.True(json.RootElement.GetProperty("active").GetBoolean());
        Assert.Equal("crm:read", json.RootElement.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task A_changed_upstream_and_credential_are_used_by_the_next_request()
    {
        await using var moved = await TestUpstream.StartAsync();
        await _proxy.PutSecretAsync("crm-key-2", "crm-upstream-key-second-7c1d");
        var token = await _proxy.TokenAsync("crm:read");
        await WriteAsync(yaml => yaml
            .Replace("credential: { secret: crm-key, header: X-Api-Key }", "credential: { secret: crm-key-2, header: X-Api-Key }", StringComparison.Ordinal)
            .Replace($"upstream: {_proxy.Upstream.Address}\n    credential: {{ secret: crm-key-2", $"upstream: {moved.Address}\n    credential: {{ secret: crm-key-2", StringComparison.Ordinal));
        Assert.Contains($"upstream: {moved.Address}", await File.ReadAllTextAsync(FilePath), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await ReloadAsync()).Status);
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/proxy/crm/contacts/1", token));

        var received = Assert.Single(moved.Received);
        Assert.Equal("crm-upstream-key-second-7c1d", received.Headers["X-Api-Key"]);
        Assert.Empty(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task An_invalid_file_is_refused_with_its_line_and_the_old_configuration_keeps_serving()
    {
        var hash = FileHash();
        var token = await _proxy.TokenAsync("crm:read");
        await WriteAsync(yaml => yaml.Replace("owner: finance@corp.example", "owner: \"\"", StringComparison.Ordinal));

        var (status, body) = await ReloadAsync();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Matches(@"^tessera\.yaml:\d+: agents\[1\]\.owner: ", body.RootElement.GetProperty("detail").GetString());
        await AuditAssert.LastRefusalAsync(_proxy.Broker, AuditTypes.ConfigRefused, RefusalCodes.ConfigInvalid);
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/proxy/crm/contacts/1", token));
        using var billing = await _proxy.Broker.ClientCredentialsAsync("billing-bot", BillingSecret, ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.OK, billing.StatusCode);
        using var ready = await _proxy.Broker.Client.GetAsync("/readyz");
        Assert.Equal(hash, ready.Headers.GetValues("Tessera-Config-Hash").Single());
    }

    [Fact]
    public async Task A_file_changing_a_restart_only_setting_is_refused_with_409_and_nothing_of_it_applies()
    {
        await WriteAsync(yaml => yaml.Replace("max_ttl: 1h", "max_ttl: 2h", StringComparison.Ordinal), withBilling: false);

        var (status, body) = await ReloadAsync();

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.StartsWith("tokens changed: ", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AuditAssert.LastRefusalAsync(_proxy.Broker, AuditTypes.ConfigRefused, RefusalCodes.ConfigRestartRequired);
        using var billing = await _proxy.Broker.ClientCredentialsAsync("billing-bot", BillingSecret, ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.OK, billing.StatusCode);
    }

    [Fact]
    public async Task Each_reload_is_on_record_with_its_hash_and_summary_and_readyz_and_status_name_the_running_hash()
    {
        await WriteAsync(withBilling: false);
        var first = FileHash();
        Assert.Equal(HttpStatusCode.OK, (await ReloadAsync()).Status);
        await WriteAsync();
        var second = FileHash();
        var (_, body) = await ReloadAsync();

        Assert.Equal((second, first), (body.RootElement.GetProperty("config_hash").GetString(), body.RootElement.GetProperty("previous_hash").GetString()));
        var reloads = (await _proxy.Broker.AuditEventsAsync()).Where(e => e.Record.Type == AuditTypes.ConfigReloaded).Select(e => e.Record).ToList();
        Assert.Equal([first, second], reloads.Select(r => r.ConfigHash));
        Assert.Equal([["agent removed: billing-bot"], ["agent added: billing-bot"]], reloads.Select(r => r.Changes));
        Assert.All(reloads, r => Assert.Equal("bootstrap-admin", r.Principal));

        using var ready = await _proxy.Broker.Client.GetAsync("/readyz");
        Assert.Equal(second, ready.Headers.GetValues("Tessera-Config-Hash").Single());
        Assert.Equal($"ready\nconfig {second}\n", await ready.Content.ReadAsStringAsync());
        using var statusResponse = await _proxy.AdminAsync(HttpMethod.Get, "/admin/v1/status");
        using var status = await TestBroker.ReadJsonAsync(statusResponse);
        Assert.Equal(second, status.RootElement.GetProperty("config").GetProperty("hash").GetString());
        Assert.Equal(FilePath, status.RootElement.GetProperty("config").GetProperty("file").GetString());
    }

    [Fact]
    public async Task Only_an_admin_may_reload_and_a_refused_caller_changes_nothing()
    {
        await WriteAsync(withBilling: false);

        var (anonymous, _) = await ReloadAsync(bearer: "");
        var (forged, _) = await ReloadAsync(bearer: "tsa_not-the-admin-token");
        var agentToken = await _proxy.TokenAsync("crm:read");
        var (agent, _) = await ReloadAsync(bearer: agentToken);

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (anonymous, forged, agent));
        using var billing = await _proxy.Broker.ClientCredentialsAsync("billing-bot", BillingSecret, ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.OK, billing.StatusCode);
        Assert.DoesNotContain(await _proxy.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConfigReloaded);
    }

    [Fact]
    public async Task A_proxied_call_in_flight_during_a_reload_completes_and_the_next_one_meets_the_new_rules()
    {
        var token = await _proxy.TokenAsync("crm:read");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _proxy.Upstream.Handler = async context =>
        {
            await release.Task;
            context.Response.StatusCode = 200;
        };
        var inFlight = GetAsync("/proxy/crm/accounts/7", token);
        await _proxy.Upstream.ArrivalAsync(1);
        await WriteAsync(yaml => yaml.Replace("""read: { rules: [ "GET /contacts/**", "GET /accounts/*" ] }""", """read: { rules: [ "GET /contacts/**" ] }""", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.OK, (await ReloadAsync()).Status);
        release.SetResult();

        Assert.Equal(HttpStatusCode.OK, await inFlight);
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync("/proxy/crm/accounts/7", token));
        var events = await _proxy.Broker.AuditEventsAsync();
        Assert.Contains(events, e => e.Record.Type == AuditTypes.ProxyCompleted && e.Record.Status == 200);
    }

    [Fact]
    public async Task Metrics_count_reloads_by_outcome_and_name_the_running_hash()
    {
        var (reloadedBefore, refusedBefore) = (Counter("reloaded"), Counter("refused"));
        await WriteAsync(withBilling: false);
        Assert.Equal(HttpStatusCode.OK, (await ReloadAsync()).Status);
        var hash = FileHash();
        await WriteAsync(yaml => yaml.Replace("max_ttl: 1h", "max_ttl: 2h", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Conflict, (await ReloadAsync()).Status);

        Assert.True(Counter("reloaded") >= reloadedBefore + 1);
        Assert.True(Counter("refused") >= refusedBefore + 1);
        var metrics = await _proxy.Broker.Client.GetStringAsync("/metrics");
        Assert.Contains($"tessera_config_info{{hash=\"{hash}\"}} 1", metrics, StringComparison.Ordinal);

        static double Counter(string outcome) => Tessera.Server.Hosting.TesseraMetrics.ConfigReloads.WithLabels(outcome).Value;
    }
}
