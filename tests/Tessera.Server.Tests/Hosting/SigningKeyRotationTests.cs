using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Server.Tests.Hosting;

public sealed class SigningKeyRotationTests
{
    [Fact]
    public async Task Rotated_key_is_published_before_it_signs_and_the_old_key_stays_until_its_tokens_expire()
    {
        await using var broker = await TestBroker.StartAsync();
        var oldToken = await broker.IssueAsync();
        var oldKid = Kid(oldToken);
        Assert.Equal([oldKid], await PublishedKidsAsync(broker));

        var newKid = await RotateAsync(broker);
        Assert.NotEqual(oldKid, newKid);

        // Published at once, but the old key still signs during publish_ahead (2m).
        Assert.Equal(new[] { oldKid, newKid }.Order(), (await PublishedKidsAsync(broker)).Order());
        Assert.Equal(oldKid, Kid(await broker.IssueAsync()));
        broker.Time.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal(oldKid, Kid(await broker.IssueAsync()));

        // From activation on, the new key signs; the old key's tokens still validate against JWKS.
        broker.Time.Advance(TimeSpan.FromSeconds(1));
        var newToken = await broker.IssueAsync();
        Assert.Equal(newKid, Kid(newToken));
        Assert.True(await ValidatesAgainstJwksAsync(broker, oldToken));
        Assert.True(await ValidatesAgainstJwksAsync(broker, newToken));
        Assert.True(await broker.IsActiveAsync(oldToken));

        // The old key stays for max_ttl (1h) + 60s skew after it stopped signing, then leaves JWKS.
        broker.Time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(59));
        Assert.Contains(oldKid, await PublishedKidsAsync(broker));
        broker.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([newKid], await PublishedKidsAsync(broker));
    }

    [Fact]
    public async Task A_retired_key_is_deleted_by_the_background_timer_without_a_rotation_or_restart()
    {
        FlakyStore? observed = null;
        await using var broker = await TestBroker.StartAsync(wrapStore: s => observed = new FlakyStore(s));
        var oldKid = Kid(await broker.IssueAsync());
        var newKid = await RotateAsync(broker);

        // publish_ahead (2m) + max_ttl (1h) + 60 s skew: the old key leaves JWKS, and the next timer pass deletes it.
        var retired = observed!.WaitForAsync("key.retired");
        broker.Time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromHours(1) + TimeSpan.FromMinutes(2));
        var retirement = await retired.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Contains(oldKid, retirement.Record.Reason, StringComparison.Ordinal);
        // The event commits before that pass drops the key from memory; passes run one at a time, so
        // another pass waits for it to finish, and finds nothing left to retire.
        var keys = broker.Service<Core.Tokens.SigningKeyService>();
        Assert.Empty(await keys.RetireAsync(TestContext.Current.CancellationToken));
        Assert.Equal([newKid], keys.Ring.Keys.Select(k => k.Kid));
        Assert.Equal([newKid], (await broker.Store.SigningKeys.LoadAsync(CancellationToken.None)).Select(k => k.Kid));
    }

    [Fact]
    public async Task Signing_keys_survive_a_restart_encrypted_under_the_master_key()
    {
        var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        broker = await broker.RestartAsync();
        await using (broker)
        {
            Assert.True(await broker.IsActiveAsync(token));
            Assert.Equal(Kid(token), Kid(await broker.IssueAsync()));
        }
    }

    [Fact]
    public async Task Key_rotation_is_audited()
    {
        await using var broker = await TestBroker.StartAsync();
        var kid = await RotateAsync(broker);
        var events = await broker.Store.Audit.QueryAsync(new Core.Audit.AuditQuery { Type = "key.rotated" }, CancellationToken.None);
        var rotated = Assert.Single(events);
        Assert.Contains(kid, rotated.Record.Reason, StringComparison.Ordinal);
        Assert.Equal("bootstrap-admin", rotated.Record.Principal);
    }

    internal static string Kid(string token) => new JsonWebToken(token).Kid;

    private static async Task<string> RotateAsync(TestBroker broker)
    {
        using var response = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/keys/rotate");
        response.EnsureSuccessStatusCode();
        using var json = await TestBroker.ReadJsonAsync(response);
        return json.RootElement.GetProperty("kid").GetString()!;
    }

    private static async Task<List<string>> PublishedKidsAsync(TestBroker broker) =>
        new JsonWebKeySet(await broker.Client.GetStringAsync("/.well-known/jwks.json")).Keys.Select(k => k.Kid).ToList();

    private static async Task<bool> ValidatesAgainstJwksAsync(TestBroker broker, string token)
    {
        var jwks = new JsonWebKeySet(await broker.Client.GetStringAsync("/.well-known/jwks.json"));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = TestBroker.Issuer,
            ValidateAudience = false,
            ValidateLifetime = false,
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidTypes = ["at+jwt"],
        });
        return result.IsValid;
    }

    internal static Task<bool> IsActiveAsync(TestBroker broker, string token) => broker.IsActiveAsync(token);
}
