using System.Buffers.Text;
using Tessera.Core.Tokens;

namespace Tessera.Client.AspNetCore.Tests.Attacks;

/// <summary>Forged, altered and misused tokens sent straight to a tool that validates Tessera tokens itself.</summary>
public sealed class TesseraTokenAttackTests : ToolTestBase
{
    private SigningKey TesseraKey => Broker.Broker.Service<SigningKeyService>().Current();

    /// <summary>A genuine token's claims, re-signed by Tessera's own key under <paramref name="header"/>: everything valid but the header.</summary>
    private async Task<string> ResignedAsync(object header)
    {
        var token = await Broker.TokenAsync("crm:read");
        return HandSignedJwt.Encode(header) + "." + token.Split('.')[1] + "." + Sign(HandSignedJwt.Encode(header) + "." + token.Split('.')[1], TesseraKey.Ecdsa);
    }

    private static string Sign(string input, ECDsa key) =>
        Base64Url.EncodeToString(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

    [Fact]
    public async Task A_re_signed_genuine_token_passes_so_the_refusals_below_are_about_their_one_change()
    {
        var token = await ResignedAsync(new { alg = "ES256", typ = "at+jwt", kid = TesseraKey.Kid });

        using var response = await Tool.GetBearerAsync("/contacts/1", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_token_with_a_tampered_payload_or_signature_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read");
        var parts = token.Split('.');
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
        var widened = payload.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object)p.Value.Clone());
        widened["scope"] = "crm:read crm:export";
        var signature = Base64Url.DecodeFromChars(parts[2]);
        signature[0] ^= 1;

        using var tamperedPayload = await Tool.GetBearerAsync("/contacts/1", parts[0] + "." + HandSignedJwt.Encode(widened) + "." + parts[2]);
        using var tamperedSignature = await Tool.GetBearerAsync("/contacts/1", parts[0] + "." + parts[1] + "." + Base64Url.EncodeToString(signature));
        using var stripped = await Tool.GetBearerAsync("/contacts/1", parts[0] + "." + parts[1] + ".");

        Assert.Contains("signature", AssertUnauthorized(tamperedPayload, "Bearer", "invalid_token"), StringComparison.Ordinal);
        Assert.Contains("signature", AssertUnauthorized(tamperedSignature, "Bearer", "invalid_token"), StringComparison.Ordinal);
        AssertUnauthorized(stripped, "Bearer", "invalid_token");
    }

    [Fact]
    public async Task A_token_signed_by_another_key_under_tesseras_kid_is_refused()
    {
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = await Broker.TokenAsync("crm:read");
        var header = HandSignedJwt.Encode(new { alg = "ES256", typ = "at+jwt", kid = TesseraKey.Kid });

        using var response = await Tool.GetBearerAsync("/contacts/1", header + "." + token.Split('.')[1] + "." + Sign(header + "." + token.Split('.')[1], attacker));

        AssertUnauthorized(response, "Bearer", "invalid_token");
    }

    [Theory]
    [InlineData("a.b.c.d.!!!")]
    [InlineData("eyJhbGciOiJSU0EtT0FFUCJ9.@@@.x.y.z")]
    [InlineData("eyJ.eyJ.sig")]
    public async Task A_bearer_that_is_not_a_jwt_at_all_is_refused_as_invalid_token_never_an_error(string token)
    {
        using var response = await Tool.GetBearerAsync("/contacts/1", token);

        AssertUnauthorized(response, "Bearer", "invalid_token");
    }

    [Theory]
    [InlineData("JWT")]
    [InlineData("jwt")]
    [InlineData("dpop+jwt")]
    [InlineData("application/at+jwt+x")]
    public async Task A_jwt_signed_by_tessera_whose_typ_is_not_at_jwt_is_refused(string typ)
    {
        var token = await ResignedAsync(new { alg = "ES256", typ, kid = TesseraKey.Kid });

        using var response = await Tool.GetBearerAsync("/contacts/1", token);

        Assert.Contains("at+jwt", AssertUnauthorized(response, "Bearer", "invalid_token"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_jwt_signed_by_tessera_without_typ_like_an_id_token_is_refused()
    {
        var token = await ResignedAsync(new { alg = "ES256", kid = TesseraKey.Kid });

        using var response = await Tool.GetBearerAsync("/contacts/1", token);

        AssertUnauthorized(response, "Bearer", "invalid_token");
    }

    [Fact]
    public async Task An_unsigned_alg_none_token_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read");
        var payload = token.Split('.')[1];

        foreach (var header in new object[] { new { alg = "none", typ = "at+jwt", kid = TesseraKey.Kid }, new { alg = "none", typ = "at+jwt" }, new { alg = "None", typ = "at+jwt" } })
        {
            using var response = await Tool.GetBearerAsync("/contacts/1", HandSignedJwt.Encode(header) + "." + payload + ".");
            AssertUnauthorized(response, "Bearer", "invalid_token");
        }
    }

    [Fact]
    public async Task An_HS256_token_keyed_with_tesseras_public_key_is_refused()
    {
        // Key confusion: an HMAC "signed" with what the attacker knows of the real key (its public JWK, its x coordinate).
        var token = await Broker.TokenAsync("crm:read");
        var jwk = TesseraKey.PublicJwk;
        foreach (var secret in new[] { Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { jwk.Kty, jwk.Crv, jwk.X, jwk.Y })), Base64Url.DecodeFromChars(jwk.X) })
        {
            var input = HandSignedJwt.Encode(new { alg = "HS256", typ = "at+jwt", kid = TesseraKey.Kid }) + "." + token.Split('.')[1];
            var forged = input + "." + Base64Url.EncodeToString(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input)));

            using var response = await Tool.GetBearerAsync("/contacts/1", forged);
            AssertUnauthorized(response, "Bearer", "invalid_token");
        }
    }

    [Fact]
    public async Task A_token_of_another_issuer_signed_by_tesseras_key_is_refused()
    {
        var token = await Broker.TokenAsync("crm:read");
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]));
        var claims = payload.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object)p.Value.Clone());
        claims["iss"] = "https://evil.example";

        using var response = await Tool.GetBearerAsync("/contacts/1", HandSignedJwt.Es256(TesseraKey.Ecdsa, new { alg = "ES256", typ = "at+jwt", kid = TesseraKey.Kid }, claims));

        AssertUnauthorized(response, "Bearer", "invalid_token");
    }

    [Theory]
    [InlineData("urn:tessera:tool:crm/")]
    [InlineData("URN:TESSERA:TOOL:CRM")]
    [InlineData("urn:tessera:tool:crm2")]
    public async Task A_token_whose_audience_is_nearly_the_tools_is_refused(string audience)
    {
        var token = await Broker.TokenAsync("crm:read");
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]));
        var claims = payload.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object)p.Value.Clone());
        claims["aud"] = audience;

        using var response = await Tool.GetBearerAsync("/contacts/1", HandSignedJwt.Es256(TesseraKey.Ecdsa, new { alg = "ES256", typ = "at+jwt", kid = TesseraKey.Kid }, claims));

        Assert.Contains("not for this tool", AssertUnauthorized(response, "Bearer", "invalid_token"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mission_token_addressed_to_tessera_itself_is_refused()
    {
        var alice = Broker.Idp.Mint("alice", Broker.Time.GetUtcNow(), scope: "crm:read",
            extraClaims: new Dictionary<string, object> { ["may_act"] = new Dictionary<string, object> { ["sub"] = "support-agent" } });
        using var exchange = await Broker.Broker.PostFormAsync("/oauth/token",
        [
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", alice),
            new("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ], TestBroker.Basic("support-agent", ToolBroker.Secret));
        var mission = await OAuthAssert.TokenAsync(exchange);

        using var response = await Tool.GetBearerAsync("/contacts/1", mission);

        AssertUnauthorized(response, "Bearer", "invalid_token");
    }

    [Fact]
    public async Task Two_authorization_headers_or_a_malformed_one_are_400_invalid_request()
    {
        var token = await Broker.TokenAsync("crm:read");
        using var twice = new HttpRequestMessage(HttpMethod.Get, "/contacts/1");
        twice.Headers.TryAddWithoutValidation("Authorization", ["Bearer " + token, "Bearer " + token]);

        using var two = await Tool.Client.SendAsync(twice);
        using var empty = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "Bearer", "");
        using var spaced = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "Bearer", token + " " + token);

        foreach (var response in new[] { two, empty, spaced })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.StartsWith("Bearer error=\"invalid_request\"", TestTool.Challenge(response), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_stolen_bound_token_with_the_thiefs_own_proof_is_refused()
    {
        using var owner = DpopKey.CreateEc();
        using var thief = DpopKey.CreateEc();
        var token = await Broker.TokenAsync("crm:read", owner);

        // The thief signs a perfect proof for this request with its own key (and its jwk in the header).
        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token,
            thief.Proof("GET", Tool.Htu("/contacts/1"), Broker.Time.GetUtcNow(), token));

        AssertUnauthorized(response, "DPoP", "invalid_dpop_proof");
    }

    [Fact]
    public async Task Hostile_DPoP_proofs_are_refused()
    {
        using var key = DpopKey.CreateEc();
        var token = await Broker.TokenAsync("crm:read", key);
        var htu = Tool.Htu("/contacts/1");
        var now = Broker.Time.GetUtcNow();
        string[] proofs =
        [
            "not-a-jwt",
            key.Proof("GET", htu, now, token, (h, _) => h["typ"] = "JWT"),
            key.Proof("GET", htu, now, token, alg: "none"),
            key.Proof("GET", htu, now, token, alg: "HS256"),
            key.Proof("GET", htu, now, token, (h, _) => h["jwk"] = key.PublicJwk(includePrivate: true)),
            key.Proof("GET", htu, now, token, (h, _) => h.Remove("jwk")),
            key.Proof("GET", htu, now, token, (_, p) => p.Remove("jti")),
            key.Proof("GET", htu, now, token, (_, p) => p.Remove("ath")),
            key.Proof("GET", "http://127.0.0.1:1/contacts/1", now, token),
            key.Proof("get", htu, now, token),
        ];

        foreach (var proof in proofs)
        {
            using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", "DPoP", token, proof);
            AssertUnauthorized(response, "DPoP", "invalid_dpop_proof");
        }

        using var twoProofs = new HttpRequestMessage(HttpMethod.Get, "/contacts/1");
        twoProofs.Headers.TryAddWithoutValidation("Authorization", "DPoP " + token);
        twoProofs.Headers.TryAddWithoutValidation("DPoP", [key.Proof("GET", htu, now, token), key.Proof("GET", htu, now, token)]);
        using var two = await Tool.Client.SendAsync(twoProofs);
        AssertUnauthorized(two, "DPoP", "invalid_dpop_proof");
    }

    [Fact]
    public async Task An_approved_token_limited_to_a_number_of_uses_is_refused_as_only_the_proxy_can_count_them()
    {
        var token = await Broker.ApprovedTokenAsync(("reason", "customer asked to be forgotten"));
        Assert.Equal(1, Claims(token).GetProperty("max_uses").GetInt32());

        using var response = await Tool.SendAsync(HttpMethod.Delete, "/contacts/1", "Bearer", token);

        Assert.Contains("proxy", AssertUnauthorized(response, "Bearer", "invalid_token"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approved_token_bound_to_one_exact_request_is_refused_as_only_the_proxy_can_compare_it()
    {
        var details = JsonSerializer.Serialize(new[]
        {
            new { type = "tessera_request", tool = "crm", method = "DELETE", path = "/contacts/1", body_sha256 = Convert.ToHexStringLower(SHA256.HashData([])) },
        });
        var token = await Broker.ApprovedTokenAsync(("authorization_details", details));
        Assert.True(Claims(token).TryGetProperty("authorization_details", out _));

        using var response = await Tool.SendAsync(HttpMethod.Delete, "/contacts/1", "Bearer", token);

        Assert.Contains("proxy", AssertUnauthorized(response, "Bearer", "invalid_token"), StringComparison.Ordinal);
    }
}
