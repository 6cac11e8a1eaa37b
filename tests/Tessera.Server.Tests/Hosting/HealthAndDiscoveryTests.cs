namespace Tessera.Server.Tests.Hosting;

public sealed class HealthAndDiscoveryTests
{
    [Fact]
    public async Task Metadata_describes_the_endpoints_and_methods_per_rfc_8414()
    {
        await using var broker = await TestBroker.StartAsync();
        using var json = JsonDocument.Parse(await broker.Client.GetStringAsync("/.well-known/oauth-authorization-server"));
        var m = json.RootElement;
        Assert.Equal(TestBroker.Issuer, m.GetProperty("issuer").GetString());
        Assert.Equal(TestBroker.Issuer + "/oauth/token", m.GetProperty("token_endpoint").GetString());
        Assert.Equal(TestBroker.Issuer + "/.well-known/jwks.json", m.GetProperty("jwks_uri").GetString());
        Assert.Equal(TestBroker.Issuer + "/oauth/introspect", m.GetProperty("introspection_endpoint").GetString());
        Assert.Equal(TestBroker.Issuer + "/oauth/revoke", m.GetProperty("revocation_endpoint").GetString());
        Assert.Equal(["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange", "urn:openid:params:grant-type:ciba"],
            m.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["tessera_request", "tessera_mcp_call"], m.GetProperty("authorization_details_types_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["client_secret_basic", "client_secret_post", "private_key_jwt"], m.GetProperty("token_endpoint_auth_methods_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, m.GetProperty("response_types_supported").GetArrayLength());
        Assert.Contains("ES256", m.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Health_readiness_and_metrics_answer_and_metrics_count_decisions()
    {
        await using var broker = await TestBroker.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await broker.Client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await broker.Client.GetAsync("/readyz")).StatusCode);

        await broker.IssueAsync();
        using var refused = await broker.ClientCredentialsAsync("support-agent", "wrong");
        var metrics = await broker.Client.GetStringAsync("/metrics");
        Assert.Contains("tessera_tokens_issued_total{grant_type=\"client_credentials\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("tessera_token_requests_denied_total{error=\"invalid_client\"}", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(TestBroker.SupportSecret, metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_paths_and_wrong_methods_still_get_problem_details_while_oauth_errors_keep_their_json()
    {
        await using var broker = await TestBroker.StartAsync();

        using var unknown = await broker.Client.GetAsync("/oauth/nothing-here", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        using var wrongMethod = await broker.Client.GetAsync("/oauth/token", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Equal("application/problem+json", wrongMethod.Content.Headers.ContentType?.MediaType);

        using var refused = await broker.ClientCredentialsAsync("support-agent", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/json", refused.Content.Headers.ContentType?.MediaType);
        using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("invalid_client", error.RootElement.GetProperty("error").GetString());
    }
}
