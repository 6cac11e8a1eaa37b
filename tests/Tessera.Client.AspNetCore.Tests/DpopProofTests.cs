namespace Tessera.Client.AspNetCore.Tests;

public sealed class DpopProofTests : ToolTestBase
{
    private readonly DpopKey _key = DpopKey.CreateEc();

    private string Proof(string method, string path, string token, DpopKey? key = null, Action<System.Text.Json.Nodes.JsonObject, System.Text.Json.Nodes.JsonObject>? tweak = null) =>
        (key ?? _key).Proof(method, Tool.Htu(path), Broker.Time.GetUtcNow(), token, tweak);

    [Fact]
    public async Task A_bound_token_with_a_valid_proof_passes()
    {
        var token = await Broker.TokenAsync("crm:read", _key);
        Assert.Equal(_key.Thumbprint(), Claims(token).GetProperty("cnf").GetProperty("jkt").GetString());

        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, Proof("GET", "/contacts/1", token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_proof_whose_jwk_holds_bytes_that_are_not_utf8_is_refused_not_a_server_error()
    {
        // The bug fuzzing found in the broker's DPoP validator (tools/Tessera.Fuzz, dpop-proof): JSON parsing
        // accepts such a string, reading the jwk threw.
        var token = await Broker.TokenAsync("crm:read", _key);
        var jwk = Encoding.UTF8.GetBytes(_key.PublicJwk().ToJsonString());
        byte[] header = [.. "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":"u8, .. jwk[..^1], .. ",\"z\":\""u8, 0xED, .. "&\"}}"u8];
        var payload = Proof("GET", "/contacts/1", token).Split('.')[1];
        var proof = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(header) + "." + payload + ".c2ln";

        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, proof);

        AssertUnauthorized(response, "DPoP", "invalid_dpop_proof");
    }

    [Fact]
    public async Task A_bound_token_sent_as_Bearer_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read", _key);

        using var withoutProof = await Tool.GetBearerAsync("/contacts/1", token);
        using var withProof = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "Bearer", token, Proof("GET", "/contacts/1", token));

        AssertUnauthorized(withoutProof, "DPoP", "invalid_token");
        AssertUnauthorized(withProof, "DPoP", "invalid_token");
    }

    [Fact]
    public async Task A_bound_token_without_a_proof_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read", _key);

        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token);

        AssertUnauthorized(response, "DPoP", "invalid_dpop_proof");
    }

    [Fact]
    public async Task A_proof_for_another_URL_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read", _key);

        using var otherPath = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, Proof("GET", "/contacts/2", token));
        using var otherHost = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token,
            _key.Proof("GET", "https://crm.example/contacts/1", Broker.Time.GetUtcNow(), token));

        Assert.Contains("htu", AssertUnauthorized(otherPath, "DPoP", "invalid_dpop_proof"), StringComparison.Ordinal);
        Assert.Contains("htu", AssertUnauthorized(otherHost, "DPoP", "invalid_dpop_proof"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_proof_for_another_method_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read", _key);

        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, Proof("POST", "/contacts/1", token));

        Assert.Contains("method", AssertUnauthorized(response, "DPoP", "invalid_dpop_proof"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replayed_proof_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read", _key);
        var proof = Proof("GET", "/contacts/1", token);

        using var first = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, proof);
        using var replay = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, proof);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Contains("already used", AssertUnauthorized(replay, "DPoP", "invalid_dpop_proof"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_proof_signed_by_another_key_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read", _key);
        using var thief = DpopKey.CreateEc();

        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, Proof("GET", "/contacts/1", token, thief));

        Assert.Contains("bound to", AssertUnauthorized(response, "DPoP", "invalid_dpop_proof"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_proof_made_for_another_token_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read", _key);
        var other = await Broker.TokenAsync("crm:read", _key);

        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, Proof("GET", "/contacts/1", other));

        Assert.Contains("ath", AssertUnauthorized(response, "DPoP", "invalid_dpop_proof"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stale_proof_and_one_from_the_future_are_refused()
    {
        var token = await Broker.TokenAsync("crm:read", _key);
        var now = Broker.Time.GetUtcNow();

        using var stale = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, _key.Proof("GET", Tool.Htu("/contacts/1"), now.AddSeconds(-121), token));
        using var future = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, _key.Proof("GET", Tool.Htu("/contacts/1"), now.AddSeconds(61), token));
        using var edge = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, _key.Proof("GET", Tool.Htu("/contacts/1"), now.AddSeconds(-119), token));

        Assert.Contains("iat", AssertUnauthorized(stale, "DPoP", "invalid_dpop_proof"), StringComparison.Ordinal);
        Assert.Contains("iat", AssertUnauthorized(future, "DPoP", "invalid_dpop_proof"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, edge.StatusCode);
    }

    [Fact]
    public async Task An_unbound_token_is_refused_where_DPoP_is_required_and_a_bound_one_passes()
    {
        await using var strict = await TestTool.StartAsync(Broker, o => o.RequireDPoP = true);
        var unbound = await Broker.TokenAsync("crm:read");
        var bound = await Broker.TokenAsync("crm:read", _key);

        using var refused = await strict.GetBearerAsync("/contacts/1", unbound);
        using var noToken = await strict.SendAsync(HttpMethod.Get, "/contacts/1", scheme: null, token: null);
        using var passed = await strict.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", bound, _key.Proof("GET", strict.Htu("/contacts/1"), Broker.Time.GetUtcNow(), bound));

        Assert.Contains("requires a DPoP-bound token", AssertUnauthorized(refused, "DPoP", "invalid_token"), StringComparison.Ordinal);
        Assert.StartsWith("DPoP algs=", TestTool.Challenge(noToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
    }

    [Fact]
    public async Task An_unbound_token_sent_with_the_DPoP_scheme_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read");

        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, Proof("GET", "/contacts/1", token));

        AssertUnauthorized(response, "DPoP", "invalid_token");
    }

    [Fact]
    public async Task A_proof_with_a_query_string_in_the_request_still_names_the_path()
    {
        var token = await Broker.TokenAsync("crm:read", _key);

        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1?fields=name", "DPoP", token, Proof("GET", "/contacts/1", token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public override async ValueTask DisposeAsync()
    {
        _key.Dispose();
        await base.DisposeAsync();
    }
}
