using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Dpop;

namespace Tessera.Core.Tests.Dpop;

public sealed class DpopProofValidatorTests : IDisposable
{
    private const string Htu = "https://tessera.example/oauth/token";

    // RFC 9449 §4.1 (the example token request's DPoP header) and §6.1 / §7.1 values.
    private const string RfcProof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
    private const string RfcJkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly DpopKey _key = DpopKey.CreateEc();
    private readonly MasterKey _master = new(RandomNumberGenerator.GetBytes(32));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private DpopProofValidator Validator(bool useNonce = false) =>
        new(new MemoryReplayCache(_time), new DpopNonces(_master, _time), ConfigWith(useNonce), _time);

    private ValueTask<DpopValidation> ValidateAsync(string proof, string method = "POST", string path = "/oauth/token", string? accessToken = null, DpopProofValidator? validator = null) =>
        (validator ?? Validator()).ValidateAsync(proof, method, path, accessToken, Ct);

    [Fact]
    public void The_rfc_thumbprint_and_ath_examples_compute_exactly()
    {
        var jwk = new JsonWebKey("""{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}""");

        Assert.Equal(RfcJkt, DpopProofValidator.Thumbprint(jwk));
        Assert.Equal("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo", DpopProofValidator.AccessTokenHash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"));
    }

    [Fact]
    public async Task The_rfc_example_proof_verifies_at_its_own_time_and_is_refused_as_stale_today()
    {
        var then = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1562262616));
        var atItsTime = new DpopProofValidator(new MemoryReplayCache(then), new DpopNonces(_master, then), ConfigWith(false, "https://server.example.com"), then);
        var today = new DpopProofValidator(new MemoryReplayCache(_time), new DpopNonces(_master, _time), ConfigWith(false, "https://server.example.com"), _time);

        var fresh = await atItsTime.ValidateAsync(RfcProof, "POST", "/token", null, Ct);
        var stale = await today.ValidateAsync(RfcProof, "POST", "/token", null, Ct);

        Assert.Equal(RfcJkt, fresh.Jkt);
        Assert.False(stale.IsValid);
        Assert.Equal("the DPoP proof's iat is outside the accepted window", stale.Error);
    }

    private static TesseraConfig ConfigWith(bool useNonce, string issuer = "https://tessera.example") => new()
    {
        Server = new ServerOptions(new Uri(issuer), issuer, false),
        Storage = "sqlite:x.db",
        DataDir = "/tmp",
        Tokens = new TokenOptions(TimeSpan.FromMinutes(5), TimeSpan.FromHours(1), 3),
        SigningKeys = new SigningKeyOptions(TimeSpan.FromMinutes(1)),
        Dpop = new DpopOptions(TimeSpan.FromSeconds(60), useNonce),
    };

    [Fact]
    public async Task A_valid_proof_yields_the_keys_rfc_7638_thumbprint()
    {
        var result = await ValidateAsync(_key.Proof("POST", Htu, _time.GetUtcNow()));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(_key.Thumbprint(), result.Jkt);
    }

    [Theory]
    [InlineData("PS256")]
    [InlineData("RS256")]
    public async Task Rsa_proofs_are_accepted(string alg)
    {
        using var rsa = DpopKey.CreateRsa();

        var result = await ValidateAsync(rsa.Proof("POST", Htu, _time.GetUtcNow(), alg: alg));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(rsa.Thumbprint(), result.Jkt);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "typ", "the DPoP proof must have typ dpop+jwt" },
        { "jti", "the DPoP proof must carry jti, htm, htu and iat" },
        { "htm", "the DPoP proof must carry jti, htm, htu and iat" },
        { "htu", "the DPoP proof must carry jti, htm, htu and iat" },
        { "iat", "the DPoP proof must carry jti, htm, htu and iat" },
        { "jwk", "the DPoP proof must carry its public key in jwk" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task A_proof_missing_a_required_member_is_refused(string member, string error)
    {
        var proof = _key.Proof("POST", Htu, _time.GetUtcNow(), tweak: (h, p) =>
        {
            h.Remove(member);
            p.Remove(member);
        });

        var result = await ValidateAsync(proof);

        Assert.Equal(error, result.Error);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("HS256")]
    public async Task Unsigned_and_symmetric_proofs_are_refused(string alg)
    {
        var result = await ValidateAsync(_key.Proof("POST", Htu, _time.GetUtcNow(), alg: alg));

        Assert.StartsWith("the DPoP proof must be signed with an asymmetric algorithm", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_jwk_holding_the_private_key_is_refused()
    {
        var proof = _key.Proof("POST", Htu, _time.GetUtcNow(), tweak: (h, _) => h["jwk"] = _key.PublicJwk(includePrivate: true));

        var result = await ValidateAsync(proof);

        Assert.Equal("the DPoP proof's jwk must be a public key (it holds private key material)", result.Error);
    }

    [Theory]
    [InlineData("""{"kty":"EC","crv":"P-256"}""")]
    [InlineData("""{"kty":"EC","crv":"P-999","x":"AA","y":"AA"}""")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"not base64!","y":"AA"}""")]
    [InlineData("""{"kty":"RSA","e":"AQAB"}""")]
    [InlineData("""{"kty":"RSA","n":42,"e":"AQAB"}""")]
    public async Task A_malformed_jwk_is_refused_without_an_exception(string jwk)
    {
        var proof = _key.Proof("POST", Htu, _time.GetUtcNow(), tweak: (h, _) => h["jwk"] = JsonNode.Parse(jwk));

        var result = await ValidateAsync(proof);

        Assert.False(result.IsValid);
        Assert.NotNull(result.Error);
    }

    [Fact]
    public async Task A_proof_signed_by_another_key_than_its_jwk_is_refused()
    {
        using var other = DpopKey.CreateEc();
        var proof = _key.Proof("POST", Htu, _time.GetUtcNow(), tweak: (h, _) => h["jwk"] = other.PublicJwk());

        var result = await ValidateAsync(proof);

        Assert.Equal("the DPoP proof's signature does not verify with its jwk", result.Error);
    }

    [Fact]
    public async Task A_proof_for_another_method_is_refused()
    {
        var result = await ValidateAsync(_key.Proof("GET", Htu, _time.GetUtcNow()));

        Assert.Equal("the DPoP proof is for GET, not POST", result.Error);
    }

    [Theory]
    [InlineData("https://tessera.example/oauth/introspect")]
    [InlineData("https://other.example/oauth/token")]
    [InlineData("http://tessera.example/oauth/token")]
    [InlineData("https://tessera.example:8443/oauth/token")]
    [InlineData("not a uri")]
    public async Task A_proof_for_another_uri_is_refused(string htu)
    {
        var result = await ValidateAsync(_key.Proof("POST", htu, _time.GetUtcNow()));

        Assert.Equal("the DPoP proof's htu does not name this request's URI", result.Error);
    }

    [Theory]
    [InlineData("http://evil.example/oauth/token")]
    [InlineData("http://127.0.0.1:8080/oauth/token")]
    public async Task A_proof_naming_any_origin_but_the_issuers_is_refused_whatever_host_the_request_came_in_on(string htu)
    {
        // The validator is told the path only: the Host header and the address the request reached
        // are the client's to choose, so they never name this server.
        var result = await ValidateAsync(_key.Proof("POST", htu, _time.GetUtcNow()));

        Assert.Equal("the DPoP proof's htu does not name this request's URI", result.Error);
    }

    [Fact]
    public async Task Htu_names_the_path_under_an_issuer_with_a_base_path()
    {
        var validator = new DpopProofValidator(new MemoryReplayCache(_time), new DpopNonces(_master, _time), ConfigWith(false, "https://corp.example/tessera/"), _time);

        var under = await ValidateAsync(_key.Proof("POST", "https://corp.example/tessera/oauth/token", _time.GetUtcNow()), validator: validator);
        var beside = await ValidateAsync(_key.Proof("POST", "https://corp.example/oauth/token", _time.GetUtcNow()), validator: validator);

        Assert.True(under.IsValid, under.Error);
        Assert.False(beside.IsValid);
    }

    [Theory]
    [InlineData("HTTPS://TESSERA.EXAMPLE/oauth/token")]
    [InlineData("https://tessera.example:443/oauth/token")]
    [InlineData("https://tessera.example/oauth/token?x=1")]
    [InlineData("https://tessera.example/oauth/token#frag")]
    public async Task Htu_is_compared_after_rfc_9449_normalization(string htu)
    {
        var result = await ValidateAsync(_key.Proof("POST", htu, _time.GetUtcNow()));

        Assert.True(result.IsValid, result.Error);
    }

    [Theory]
    [InlineData(-3600, false)]
    [InlineData(3600, false)]
    [InlineData(-10, true)]
    [InlineData(10, true)]
    [InlineData(-115, true)]
    [InlineData(-125, false)]
    [InlineData(65, false)]
    public async Task Iat_must_be_within_the_window(int offsetSeconds, bool accepted)
    {
        var result = await ValidateAsync(_key.Proof("POST", Htu, _time.GetUtcNow().AddSeconds(offsetSeconds)));

        Assert.Equal(accepted, result.IsValid);
    }

    [Fact]
    public async Task A_reused_jti_is_refused_while_it_could_be_accepted()
    {
        var validator = Validator();
        var proof = _key.Proof("POST", Htu, _time.GetUtcNow());

        var first = await ValidateAsync(proof, validator: validator);
        var second = await ValidateAsync(proof, validator: validator);

        Assert.True(first.IsValid);
        Assert.Equal("the DPoP proof's jti was already used", second.Error);
    }

    [Fact]
    public async Task With_an_access_token_the_proof_must_carry_its_hash()
    {
        const string token = "eyJ.access.token";

        var missing = await ValidateAsync(_key.Proof("GET", Htu, _time.GetUtcNow()), "GET", accessToken: token);
        var wrong = await ValidateAsync(_key.Proof("GET", Htu, _time.GetUtcNow(), accessToken: "another.token"), "GET", accessToken: token);
        var right = await ValidateAsync(_key.Proof("GET", Htu, _time.GetUtcNow(), accessToken: token), "GET", accessToken: token);

        Assert.Equal("the DPoP proof must carry ath, the hash of the access token", missing.Error);
        Assert.Equal("the DPoP proof's ath does not match the access token", wrong.Error);
        Assert.True(right.IsValid, right.Error);
    }

    [Fact]
    public async Task With_nonces_on_a_proof_needs_the_current_nonce()
    {
        var validator = Validator(useNonce: true);
        var nonces = new DpopNonces(_master, _time);

        var without = await ValidateAsync(_key.Proof("POST", Htu, _time.GetUtcNow()), validator: validator);
        var with = await ValidateAsync(_key.Proof("POST", Htu, _time.GetUtcNow(), tweak: (_, p) => p["nonce"] = nonces.Current()), validator: validator);
        _time.Advance(TimeSpan.FromMinutes(3));
        var stale = await ValidateAsync(_key.Proof("POST", Htu, _time.GetUtcNow(), tweak: (_, p) => p["nonce"] = "old"), validator: validator);

        Assert.True(without.UseNonce);
        Assert.True(with.IsValid, with.Error);
        Assert.True(stale.UseNonce);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("e30.e30.")]
    public async Task Garbage_is_refused_as_not_a_jwt(string proof)
    {
        var result = await ValidateAsync(proof);

        Assert.False(result.IsValid);
        Assert.NotNull(result.Error);
    }

    [Fact]
    public async Task A_proof_whose_header_is_not_an_object_is_refused()
    {
        var proof = Base64UrlEncoder.Encode("[1]") + "." + Base64UrlEncoder.Encode(new JsonObject { ["jti"] = "x" }.ToJsonString()) + ".sig";

        var result = await ValidateAsync(proof);

        Assert.False(result.IsValid);
    }

    [Fact]
    public async Task A_proof_whose_jwk_holds_bytes_that_are_not_utf8_is_refused_as_not_a_jwt()
    {
        // Found by fuzzing (tools/Tessera.Fuzz, dpop-proof): JSON parsing accepts such a string, reading it threw.
        var jwk = Encoding.UTF8.GetBytes(_key.PublicJwk().ToJsonString());
        var header = Encoding.UTF8.GetBytes("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":");
        var comma = Array.IndexOf(jwk, (byte)',');
        byte[] hostile = [.. header, .. jwk[..comma], (byte)',', (byte)'"', (byte)'z', (byte)'"', (byte)':', (byte)'"', 0xED, (byte)'&', (byte)'"', .. jwk[comma..], (byte)'}'];
        var proof = Base64UrlEncoder.Encode(hostile) + "." + Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(Payload())) + ".c2ln";

        var result = await ValidateAsync(proof);

        Assert.Equal("the DPoP proof is not a JWT", result.Error);
    }

    private string Payload() => new JsonObject { ["jti"] = "x", ["htm"] = "POST", ["htu"] = Htu, ["iat"] = _time.GetUtcNow().ToUnixTimeSeconds() }.ToJsonString();

    public void Dispose()
    {
        _key.Dispose();
        _master.Dispose();
    }
}
