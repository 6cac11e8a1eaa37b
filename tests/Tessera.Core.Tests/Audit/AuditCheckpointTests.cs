using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Tests.Audit;

public sealed class AuditCheckpointTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Hash = new('a', 64);
    private readonly SigningKey _key = SigningKey.Generate(Now, Now);
    private readonly SigningKey _other = SigningKey.Generate(Now, Now);
    private readonly CoreHarness _core = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync() => await _core.DisposeAsync();

    [Fact]
    public void A_signed_checkpoint_reads_back_as_its_statement_with_the_key_that_signed_it()
    {
        var jws = new AuditCheckpoint("node-a", 41, Hash, Now).Sign(_key);

        var reading = AuditCheckpoint.Read(jws);

        Assert.Null(reading.Problem);
        Assert.Equal(new AuditCheckpoint("node-a", 41, Hash, Now), reading.Checkpoint);
        Assert.Equal(_key.Kid, reading.Kid);
        Assert.Equal(_key.PublicJwk.X, reading.Key!.X);
        Assert.Equal(_key.Kid, reading.Key.Kid);
    }

    [Fact]
    public void A_checkpoint_of_a_single_chain_names_no_node()
    {
        var reading = AuditCheckpoint.Read(new AuditCheckpoint(null, 7, Hash, Now).Sign(_key));

        Assert.Null(reading.Checkpoint!.Node);
        var payload = new JsonWebToken(new AuditCheckpoint(null, 7, Hash, Now).Sign(_key));
        Assert.False(payload.TryGetPayloadValue<string>("node", out _));
    }

    [Fact]
    public async Task IdentityModel_verifies_a_checkpoint_against_the_published_key_by_its_kid()
    {
        var jws = new AuditCheckpoint(null, 7, Hash, Now).Sign(_key);

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(jws, new TokenValidationParameters
        {
            IssuerSigningKeys = [_other.PublicJwk, _key.PublicJwk],
            ValidTypes = [AuditCheckpoint.JoseType],
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
        });

        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal(_key.Kid, ((JsonWebToken)result.SecurityToken).Kid);
    }

    [Fact]
    public async Task A_checkpoint_signed_by_the_token_key_is_never_accepted_as_an_access_token()
    {
        var config = ConfigLoader.Load("tokens: { default_ttl: 5m, max_ttl: 1h }", "tessera.yaml", Path.GetTempPath());
        await _core.StartAsync(config, initializeKeys: true, Ct);
        var jws = new AuditCheckpoint(null, 7, Hash, _core.Time.GetUtcNow()).Sign(_core.Keys.Current());
        var validator = new AccessTokenValidator(_core.Keys, new RevocationIndex(), LiveConfig.Of(config, _core.Time), _core.Time);

        var validation = await validator.ValidateAsync(jws, Ct);

        Assert.False(validation.IsActive);
    }

    [Fact]
    public void A_checkpoint_whose_statement_was_altered_does_not_verify()
    {
        var parts = new AuditCheckpoint(null, 41, Hash, Now).Sign(_key).Split('.');
        var altered = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{{\"seq\":40,\"hash\":\"{Hash}\",\"time\":\"2026-03-01T12:00:00.000Z\"}}"));

        var reading = AuditCheckpoint.Read($"{parts[0]}.{altered}.{parts[2]}");

        Assert.Null(reading.Checkpoint);
        Assert.Equal($"signature does not verify with key {_key.Kid} (forged or altered)", reading.Problem);
    }

    [Fact]
    public void A_checkpoint_re_signed_with_another_key_under_the_original_kid_is_refused()
    {
        // An attacker keeps the kid of Tessera's key but puts their own key in the header and signs with it.
        var forged = Resign(new AuditCheckpoint(null, 41, Hash, Now).Sign(_key), _other, kid: _key.Kid);

        var reading = AuditCheckpoint.Read(forged);

        Assert.Equal($"is verified with a public key that is not its key {_key.Kid} (the key's thumbprint is not the kid)", reading.Problem);
    }

    [Fact]
    public void A_checkpoint_signed_by_any_other_key_reads_under_that_keys_own_kid_for_the_caller_to_judge()
    {
        var reading = AuditCheckpoint.Read(new AuditCheckpoint(null, 41, Hash, Now).Sign(_other));

        Assert.Null(reading.Problem);
        Assert.Equal(_other.Kid, reading.Kid);
        Assert.NotEqual(_key.Kid, reading.Kid);
    }

    [Fact]
    public void A_checkpoint_read_with_a_given_key_verifies_with_that_key_only()
    {
        var jws = new AuditCheckpoint(null, 41, Hash, Now).Sign(_key);

        Assert.Null(AuditCheckpoint.Read(jws, _key.PublicJwk).Problem);
        Assert.Equal($"is verified with a public key that is not its key {_key.Kid} (the key's thumbprint is not the kid)", AuditCheckpoint.Read(jws, _other.PublicJwk).Problem);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a.b")]
    [InlineData("not a jws at all")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30.!!!")]
    public void Malformed_input_is_refused_as_not_a_compact_jws(string jws) =>
        Assert.Equal("is not a compact JWS", AuditCheckpoint.Read(jws).Problem);

    [Fact]
    public void An_access_token_is_not_a_checkpoint()
    {
        var token = JwtSigner.Sign(_key, new AccessTokenClaims
        {
            Issuer = "https://tessera.example",
            Subject = "support-agent",
            Audience = "https://crm.example",
            ClientId = "support-agent",
            Scope = ScopeSet.Of(["crm:read"]),
            Jti = "jti-1",
            IssuedAt = Now.ToUnixTimeSeconds(),
            ExpiresAt = Now.AddMinutes(5).ToUnixTimeSeconds(),
        });

        Assert.Equal($"is not an ES256 JWS of type {AuditCheckpoint.JoseType}", AuditCheckpoint.Read(token).Problem);
    }

    /// <summary>The checkpoint's payload under a header naming <paramref name="kid"/> with <paramref name="signer"/>'s public key, signed by it.</summary>
    internal static string Resign(string jws, SigningKey signer, string kid)
    {
        var header = $"{{\"alg\":\"ES256\",\"kid\":\"{kid}\",\"typ\":\"{AuditCheckpoint.JoseType}\",\"jwk\":{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"{signer.PublicJwk.X}\",\"y\":\"{signer.PublicJwk.Y}\"}}}}";
        var input = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header)) + "." + jws.Split('.')[1];
        var signature = signer.Ecdsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return input + "." + System.Buffers.Text.Base64Url.EncodeToString(signature);
    }
}
