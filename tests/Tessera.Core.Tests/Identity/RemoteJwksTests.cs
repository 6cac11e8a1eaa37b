using System.Net;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Tests.Identity;

/// <summary>Each test starts with an endpoint serving <c>k1</c>, a fake clock, and a cache that has fetched nothing yet.</summary>
public sealed class RemoteJwksTests : IDisposable
{
    private readonly FakeJwksEndpoint _idp = new("k1");
    private readonly FakeTimeProvider _time = new();
    private readonly RemoteJwks _jwks;

    public RemoteJwksTests() => _jwks = new RemoteJwks(new Uri("https://idp.test/jwks"), new HttpClient(_idp), _time);

    public void Dispose() => _jwks.Dispose();

    [Fact]
    public async Task Keys_are_fetched_once_and_served_from_cache_for_known_kids()
    {
        Assert.Equal(["k1"], (await _jwks.GetKeysAsync("k1", CancellationToken.None)).Select(k => k.KeyId));
        Assert.Equal(["k1"], (await _jwks.GetKeysAsync("k1", CancellationToken.None)).Select(k => k.KeyId));
        Assert.Equal(1, _idp.Requests);
    }

    [Fact]
    public async Task An_unknown_kid_refreshes_at_most_once_a_minute()
    {
        await _jwks.GetKeysAsync("k1", CancellationToken.None);

        // The provider rotated; a token with the new kid arrives just after the first fetch.
        _idp.Kids = ["k1", "k2"];
        for (var i = 0; i < 50; i++)
        {
            Assert.DoesNotContain("k2", (await _jwks.GetKeysAsync("bogus-" + i, CancellationToken.None)).Select(k => k.KeyId));
        }

        Assert.Equal(1, _idp.Requests);
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.DoesNotContain("k2", (await _jwks.GetKeysAsync("k2", CancellationToken.None)).Select(k => k.KeyId));
        Assert.Equal(1, _idp.Requests);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains("k2", (await _jwks.GetKeysAsync("k2", CancellationToken.None)).Select(k => k.KeyId));
        Assert.Equal(2, _idp.Requests);
    }

    [Fact]
    public async Task A_failed_refresh_keeps_the_keys_already_known()
    {
        await _jwks.GetKeysAsync("k1", CancellationToken.None);

        _idp.Fail = true;
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(["k1"], (await _jwks.GetKeysAsync("k9", CancellationToken.None)).Select(k => k.KeyId));
        Assert.Equal(2, _idp.Requests);
    }

    private sealed class FakeJwksEndpoint(params string[] kids) : HttpMessageHandler
    {
        private readonly Dictionary<string, JsonWebKey> _keys = new();

        public string[] Kids { get; set; } = kids;
        public bool Fail { get; set; }
        public int Requests { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            if (Fail)
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));
            }

            var keys = Kids.Select(kid => _keys.TryGetValue(kid, out var k) ? k : _keys[kid] = NewKey(kid));
            var body = "{\"keys\":[" + string.Join(",", keys.Select(k => $$"""{"kty":"EC","crv":"P-256","x":"{{k.X}}","y":"{{k.Y}}","kid":"{{k.Kid}}"}""")) + "]}";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body) });
        }

        private static JsonWebKey NewKey(string kid)
        {
            var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)));
            jwk.Kid = kid;
            return jwk;
        }
    }
}
