using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Tessera.Client.AspNetCore.Tests;

public sealed class TesseraAuthenticationBuilderExtensionsTests : ToolTestBase
{
    [Fact]
    public async Task A_valid_token_passes_and_its_claims_are_on_the_user()
    {
        var token = await Broker.TokenAsync("crm:read");

        using var response = await Tool.GetBearerAsync("/contacts/1", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var seen = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var user = seen.RootElement;
        Assert.Equal("support-agent", user.GetProperty("sub").GetString());
        Assert.Equal("support-agent", user.GetProperty("name").GetString());
        Assert.Equal("support-agent", user.GetProperty("client_id").GetString());
        Assert.Equal("crm:read", user.GetProperty("scope").GetString());
        Assert.Equal(TesseraTokenDefaults.AuthenticationScheme, user.GetProperty("scheme").GetString());
        Assert.Empty(user.GetProperty("actors").EnumerateArray());
    }

    [Fact]
    public async Task A_delegated_token_shows_its_principal_actor_chain_mission_and_purpose()
    {
        var token = await Broker.DelegatedTokenAsync("Answer ticket 4711");
        var issued = Claims(token);

        using var response = await Tool.GetBearerAsync("/contacts/1", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var seen = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var user = seen.RootElement;
        Assert.Equal("alice", user.GetProperty("sub").GetString());
        Assert.Equal("helper-agent", user.GetProperty("client_id").GetString());
        Assert.Equal(issued.GetProperty("mission").GetString(), user.GetProperty("mission").GetString());
        Assert.StartsWith("m_", user.GetProperty("mission").GetString(), StringComparison.Ordinal);
        Assert.Equal("Answer ticket 4711", user.GetProperty("purpose").GetString());
        // Outermost actor first: helper-agent acts now, for support-agent, for alice.
        Assert.Equal(["helper-agent", "support-agent"], user.GetProperty("actors").EnumerateArray().Select(a => a.GetString()));
        Assert.Contains("helper-agent", user.GetProperty("act").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_token_is_401_naming_both_schemes()
    {
        using var response = await Tool.SendAsync(HttpMethod.Get, "/contacts/1", scheme: null, token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = TestTool.Challenge(response);
        Assert.StartsWith("Bearer", challenge, StringComparison.Ordinal);
        Assert.Contains("DPoP algs=\"ES256", challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_for_another_tool_is_401()
    {
        var token = await Broker.TokenAsync("billing:read");

        using var response = await Tool.GetBearerAsync("/contacts/1", token);

        var challenge = AssertUnauthorized(response, "Bearer", "invalid_token");
        Assert.Contains("not for this tool", challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_token_is_401_once_the_skew_has_passed_by_the_hosts_clock()
    {
        var token = await Broker.TokenAsync("crm:read");
        var expires = DateTimeOffset.FromUnixTimeSeconds(Claims(token).GetProperty("exp").GetInt64());

        // Within the 60 s of skew it still passes...
        Broker.Time.Advance(expires - Broker.Time.GetUtcNow() + TimeSpan.FromSeconds(59));
        using (var ok = await Tool.GetBearerAsync("/contacts/1", token))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // ...and two seconds later it does not: the tool reads the host's TimeProvider, not the system clock.
        Broker.Time.Advance(TimeSpan.FromSeconds(2));
        using var response = await Tool.GetBearerAsync("/contacts/1", token);

        var challenge = AssertUnauthorized(response, "Bearer", "invalid_token");
        Assert.Contains("expired", challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_tool_never_logs_a_whole_token()
    {
        var token = await Broker.TokenAsync("crm:read");
        var billing = await Broker.TokenAsync("billing:read");
        using (await Tool.GetBearerAsync("/contacts/1", token))
        using (await Tool.GetBearerAsync("/contacts/1", billing))
        using (await Tool.GetBearerAsync("/contacts/1", token[..^4] + "AAAA"))
        {
        }

        Assert.NotEmpty(Tool.Logs.Lines);
        foreach (var t in new[] { token, billing })
        {
            Assert.DoesNotContain(t.Split('.')[2], Tool.Logs.All, StringComparison.Ordinal);
            Assert.DoesNotContain(t.Split('.')[1], Tool.Logs.All, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_scheme_without_an_audience_fails_at_its_first_use_with_a_clear_message()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddAuthentication().AddTesseraToken(o => o.Authority = new Uri("https://tessera.internal"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() =>
            provider.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(TesseraTokenDefaults.AuthenticationScheme));

        Assert.Contains("Audience", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_http_authority_is_refused_unless_https_is_explicitly_not_required()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddAuthentication().AddTesseraToken(o =>
        {
            o.Authority = new Uri("http://tessera.internal");
            o.Audience = "urn:tessera:tool:crm";
        });
        using var provider = services.BuildServiceProvider();

        Assert.Throws<InvalidOperationException>(() =>
            provider.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(TesseraTokenDefaults.AuthenticationScheme));
    }

    [Fact]
    public async Task The_scheme_is_named_Tessera_and_reads_metadata_from_the_issuers_well_known_address()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddAuthentication().AddTesseraToken(o =>
        {
            o.Authority = new Uri("https://tessera.internal");
            o.Audience = "urn:tessera:tool:crm";
        });
        await using var provider = services.BuildServiceProvider();

        var scheme = await provider.GetRequiredService<IAuthenticationSchemeProvider>().GetSchemeAsync("Tessera");
        var bearer = provider.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get("Tessera");

        Assert.NotNull(scheme);
        Assert.Equal("https://tessera.internal/.well-known/oauth-authorization-server", bearer.MetadataAddress);
        Assert.Equal("https://tessera.internal", bearer.TokenValidationParameters.ValidIssuer);
        Assert.Equal(["at+jwt"], bearer.TokenValidationParameters.ValidTypes);
        Assert.Equal(["ES256"], bearer.TokenValidationParameters.ValidAlgorithms);
    }

    [Fact]
    public async Task A_token_signed_by_a_rotated_in_key_passes()
    {
        var before = await Broker.TokenAsync("crm:read");
        using (var first = await Tool.GetBearerAsync("/contacts/1", before))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using (var rotate = await Broker.Broker.AdminAsync(HttpMethod.Post, "/admin/v1/keys/rotate"))
        {
            Assert.True(rotate.IsSuccessStatusCode, await rotate.Content.ReadAsStringAsync());
        }

        Broker.Time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        var after = await Broker.TokenAsync("crm:read");
        Assert.NotEqual(Header(before), Header(after));

        using var response = await Tool.GetBearerAsync("/contacts/1", after);

        Assert.True(response.StatusCode == HttpStatusCode.OK, TestTool.Challenge(response));
    }

    private static string Header(string token) => token.Split('.')[0];

    [Fact]
    public async Task An_unreachable_issuer_is_503_not_a_verdict_on_the_token()
    {
        var token = await Broker.TokenAsync("crm:read");
        await using var orphan = await TestTool.StartAsync(Broker, o => o.Authority = new Uri("http://127.0.0.1:1"));

        using var response = await orphan.GetBearerAsync("/contacts/1", token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Empty(TestTool.Challenge(response));
        Assert.Contains(orphan.Logs.Lines, l => l.Contains("metadata could not be fetched", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metadata_that_names_another_issuer_is_not_used()
    {
        // The same broker reached by another name: its metadata says 127.0.0.1, not localhost (RFC 8414 §3.3).
        var token = await Broker.TokenAsync("crm:read");
        await using var misled = await TestTool.StartAsync(Broker, o => o.Authority = new Uri($"http://localhost:{Broker.Issuer.Port}"));

        using var response = await misled.GetBearerAsync("/contacts/1", token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains(misled.Logs.Lines, l => l.Contains("names another issuer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tokens_of_made_up_key_ids_fetch_the_keys_again_at_most_once_per_30_seconds()
    {
        var token = await Broker.TokenAsync("crm:read");
        using (var first = await Tool.GetBearerAsync("/contacts/1", token))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var fetches = Broker.JwksFetches;
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        // Within 30 s of the last fetch: none.
        await SendForgedAsync(attacker, token, "early", 5);
        Assert.Equal(fetches, Broker.JwksFetches);

        // Later: one, however many arrive.
        Broker.Time.Advance(TimeSpan.FromSeconds(31));
        await SendForgedAsync(attacker, token, "later", 5);
        Assert.Equal(fetches + 1, Broker.JwksFetches);
    }

    private async Task SendForgedAsync(ECDsa attacker, string token, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var forged = HandSignedJwt.Es256(attacker, new { alg = "ES256", typ = "at+jwt", kid = $"{prefix}-{i}" }, Claims(token));
            using var refused = await Tool.GetBearerAsync("/contacts/1", forged);
            AssertUnauthorized(refused, "Bearer", "invalid_token");
        }
    }
}
