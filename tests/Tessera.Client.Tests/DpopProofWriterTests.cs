using System.Buffers.Text;
using Microsoft.Extensions.Time.Testing;

namespace Tessera.Client.Tests;

public sealed class DpopProofWriterTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    private static (JsonElement Header, JsonElement Payload, byte[] Input, byte[] Signature) Decode(string proof)
    {
        var parts = proof.Split('.');
        Assert.Equal(3, parts.Length);
        return (JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement.Clone(),
            JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement.Clone(),
            Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]),
            Base64Url.DecodeFromChars(parts[2]));
    }

    [Fact]
    public void A_proof_carries_the_rfc_9449_header_and_claims_and_verifies_with_the_public_key()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var writer = new DpopProofWriter(key, new FakeTimeProvider(Now));

        var (header, payload, input, signature) = Decode(writer.Create("POST", "https://tessera.test/proxy/crm/exports", "the-ath", "the-nonce"));

        Assert.Equal("dpop+jwt", header.GetProperty("typ").GetString());
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        var jwk = header.GetProperty("jwk");
        var q = key.ExportParameters(false).Q;
        Assert.Equal("EC", jwk.GetProperty("kty").GetString());
        Assert.Equal("P-256", jwk.GetProperty("crv").GetString());
        Assert.Equal(Base64Url.EncodeToString(q.X), jwk.GetProperty("x").GetString());
        Assert.Equal(Base64Url.EncodeToString(q.Y), jwk.GetProperty("y").GetString());
        Assert.False(jwk.TryGetProperty("d", out _));
        Assert.Equal("POST", payload.GetProperty("htm").GetString());
        Assert.Equal("https://tessera.test/proxy/crm/exports", payload.GetProperty("htu").GetString());
        Assert.Equal(Now.ToUnixTimeSeconds(), payload.GetProperty("iat").GetInt64());
        Assert.Equal("the-ath", payload.GetProperty("ath").GetString());
        Assert.Equal("the-nonce", payload.GetProperty("nonce").GetString());
        Assert.True(payload.GetProperty("jti").GetString()!.Length >= 16);
        Assert.True(key.VerifyData(input, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void A_token_request_proof_has_no_ath_and_without_a_nonce_no_nonce()
    {
        using var writer = new DpopProofWriter(null, new FakeTimeProvider(Now));

        var (_, payload, _, _) = Decode(writer.Create("POST", "https://tessera.test/oauth/token", null, null));

        Assert.False(payload.TryGetProperty("ath", out _));
        Assert.False(payload.TryGetProperty("nonce", out _));
    }

    [Fact]
    public void Every_proof_has_its_own_jti()
    {
        using var writer = new DpopProofWriter(null, new FakeTimeProvider(Now));

        var jtis = Enumerable.Range(0, 50).Select(_ => Decode(writer.Create("GET", "https://t/x", null, null)).Payload.GetProperty("jti").GetString()).ToHashSet();

        Assert.Equal(50, jtis.Count);
    }

    [Fact]
    public void Htu_leaves_out_the_query_and_the_fragment()
    {
        Assert.Equal("https://tessera.test/proxy/crm/contacts/1", DpopProofWriter.HtuOf(new Uri("https://tessera.test/proxy/crm/contacts/1?fields=a#top")));
    }
}
