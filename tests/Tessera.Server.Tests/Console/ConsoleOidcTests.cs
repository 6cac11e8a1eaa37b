using System.Net;
using Tessera.Core.Audit;
using Tessera.Core.Protocol;

namespace Tessera.Server.Tests.Console;

/// <summary>
/// Signing in to the console through OpenID Connect (authorization code + PKCE) against a real
/// provider on a loopback port, with the browser's part played by <see cref="ConsoleBrowser"/>.
/// </summary>
public sealed class ConsoleOidcTests
{
    // The broker listens on loopback: the cookie is not Secure and so cannot take the __Host- prefix.
    private const string SessionCookie = "tessera-console";

    [Fact]
    public async Task An_admin_signs_in_through_the_identity_provider_with_the_code_flow_and_PKCE()
    {
        var (broker, provider) = await OidcConsoleBroker.StartAsync();
        await using var _ = broker;
        await using var __ = provider;
        var browser = new ConsoleBrowser(broker);

        var (form, formBody) = await browser.GetAsync("/console/sign-in");
        Assert.Contains("href=\"/console/sign-in/oidc\">Sign in with sso</a>", formBody, StringComparison.Ordinal);

        var (start, _) = await browser.GetAsync("/console/sign-in/oidc");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var authorize = start.Headers.Location!;
        Assert.StartsWith(provider.Issuer + "/authorize?", authorize.AbsoluteUri, StringComparison.Ordinal);

        var callback = await FollowProviderAsync(authorize);
        var query = Assert.Single(provider.Authorizations);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal("query", query.GetValueOrDefault("response_mode", "query"));
        Assert.Equal("openid", query["scope"]);
        Assert.Equal(broker.Config.Server.Issuer + "/console/oidc/callback", query["redirect_uri"]);
        Assert.False(string.IsNullOrEmpty(query["state"]));
        Assert.False(string.IsNullOrEmpty(query["nonce"]));

        var (done, body) = await browser.GetAsync(callback.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Contains("<meta http-equiv=\"refresh\" content=\"0;url=/console/agents\" />", body, StringComparison.Ordinal);
        Assert.True(browser.HasCookie(SessionCookie));
        Assert.Equal(ConsoleHeadersPolicy, done.Headers.GetValues("Content-Security-Policy").Single());

        // The code was redeemed once, with the verifier of the challenge and the client's secret.
        var redeemed = Assert.Single(provider.TokenRequests);
        Assert.True(redeemed.Accepted, redeemed.Error);
        Assert.False(string.IsNullOrEmpty(redeemed.Form["code_verifier"]));

        var (agents, page) = await browser.GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.OK, agents.StatusCode);
        Assert.Contains("Signed in as <strong>sso:carol</strong> (admin)", page, StringComparison.Ordinal);

        var signedIn = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConsoleSignedIn);
        Assert.Equal("sso:carol", signedIn.Record.Principal);
        Assert.Equal("signed in as admin with OpenID Connect (sso)", signedIn.Record.Reason);
        var text = string.Join("\n", (await broker.AuditEventsAsync()).Select(e => JsonSerializer.Serialize(e.Record)));
        Assert.DoesNotContain(TestOidcProvider.ClientSecret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(redeemed.Form["code"], text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approver_who_signs_in_through_the_identity_provider_sees_approvals_only()
    {
        var (broker, provider) = await OidcConsoleBroker.StartAsync();
        await using var _ = broker;
        await using var __ = provider;
        provider.Subject = "bob";
        var browser = new ConsoleBrowser(broker);

        var (done, body) = await SignInAsync(browser);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Contains("content=\"0;url=/console/approvals\"", body, StringComparison.Ordinal);

        var (approvals, page) = await browser.GetAsync("/console/approvals");
        Assert.Equal(HttpStatusCode.OK, approvals.StatusCode);
        Assert.Contains("Signed in as <strong>sso:bob</strong> (approver)", page, StringComparison.Ordinal);
        var (agents, _) = await browser.GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Forbidden, agents.StatusCode);
    }

    [Fact]
    public async Task Someone_the_identity_provider_knows_but_Tessera_gives_no_right_gets_no_session()
    {
        var (broker, provider) = await OidcConsoleBroker.StartAsync();
        await using var _ = broker;
        await using var __ = provider;
        provider.Subject = "eve";
        var browser = new ConsoleBrowser(broker);

        var (done, body) = await SignInAsync(browser);
        Assert.Equal(HttpStatusCode.Forbidden, done.StatusCode);
        Assert.Contains("neither an admin nor a member of an approver group", body, StringComparison.Ordinal);
        Assert.False(browser.HasCookie(SessionCookie));

        var denied = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConsoleSignInDenied);
        Assert.Equal("sso:eve", denied.Record.Principal);
        Assert.Equal(RefusalCodes.AdminNotApprover, denied.Record.ReasonCode);
    }

    [Fact]
    public async Task A_person_who_declines_at_the_provider_is_shown_the_sign_in_form_and_the_refusal_is_audited()
    {
        var (broker, provider) = await OidcConsoleBroker.StartAsync();
        await using var _ = broker;
        await using var __ = provider;
        provider.Deny = true;
        var browser = new ConsoleBrowser(broker);

        var (done, body) = await SignInAsync(browser);
        Assert.Equal(HttpStatusCode.Unauthorized, done.StatusCode);
        Assert.Contains("did not complete", body, StringComparison.Ordinal);
        Assert.Contains("<label for=\"token\">Admin token</label>", body, StringComparison.Ordinal);
        Assert.False(browser.HasCookie(SessionCookie));
        var denied = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConsoleSignInDenied);
        Assert.Equal(RefusalCodes.ConsoleOidcFailed, denied.Record.ReasonCode);
    }

    [Fact]
    public async Task A_code_delivered_to_a_browser_that_did_not_start_the_sign_in_is_refused()
    {
        // Login CSRF: an attacker starts a sign-in as themselves and makes the victim's browser follow the
        // callback with the attacker's code. The victim's browser has no state cookie for it.
        var (broker, provider) = await OidcConsoleBroker.StartAsync();
        await using var _ = broker;
        await using var __ = provider;
        var attacker = new ConsoleBrowser(broker);
        var (start, _) = await attacker.GetAsync("/console/sign-in/oidc");
        var callback = await FollowProviderAsync(start.Headers.Location!);

        var victim = new ConsoleBrowser(broker);
        var (done, _) = await victim.GetAsync(callback.PathAndQuery);
        Assert.Equal(HttpStatusCode.Unauthorized, done.StatusCode);
        Assert.False(victim.HasCookie(SessionCookie));
        Assert.Empty(provider.TokenRequests);
        Assert.Contains(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConsoleSignInDenied && e.Record.ReasonCode == RefusalCodes.ConsoleOidcFailed);
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConsoleSignedIn);
    }

    [Fact]
    public async Task A_callback_without_a_code_or_with_garbage_is_a_refusal_not_an_error()
    {
        var (broker, provider) = await OidcConsoleBroker.StartAsync();
        await using var _ = broker;
        await using var __ = provider;
        var browser = new ConsoleBrowser(broker);
        foreach (var query in new[] { "", "?state=x", "?code=abc", "?code=abc&state=%00%ff", "?error=<script>&state=y", "?code=" + new string('a', 5000) + "&state=z" })
        {
            var (response, body) = await browser.GetAsync("/console/oidc/callback" + query);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.DoesNotContain("<script>", body, StringComparison.Ordinal);
        }

        Assert.False(browser.HasCookie(SessionCookie));
    }

    [Theory]
    [InlineData("audience")]
    [InlineData("issuer")]
    [InlineData("nonce")]
    [InlineData("expired")]
    public async Task An_ID_token_that_is_not_for_this_sign_in_is_refused(string wrong)
    {
        var (broker, provider) = await OidcConsoleBroker.StartAsync();
        await using var _ = broker;
        await using var __ = provider;
        switch (wrong)
        {
            case "audience": provider.IdTokenAudience = "another-client"; break;
            case "issuer": provider.IdTokenIssuer = "https://evil.example"; break;
            case "nonce": provider.IdTokenNonce = "a-nonce-of-another-sign-in"; break;
            default: provider.IdTokenLifetime = TimeSpan.FromMinutes(-10); break;
        }

        var browser = new ConsoleBrowser(broker);
        var (done, _) = await SignInAsync(browser);
        Assert.Equal(HttpStatusCode.Unauthorized, done.StatusCode);
        Assert.False(browser.HasCookie(SessionCookie));
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConsoleSignedIn);
    }

    [Fact]
    public async Task Without_oidc_configured_there_is_no_provider_link_and_no_start_path()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        var (_, body) = await browser.GetAsync("/console/sign-in");
        Assert.DoesNotContain("Sign in with", body, StringComparison.Ordinal);
        var (start, _) = await browser.GetAsync("/console/sign-in/oidc");
        Assert.Equal(HttpStatusCode.NotFound, start.StatusCode);
    }

    [Fact]
    public async Task The_server_does_not_start_when_the_client_secret_variable_is_unset()
    {
        var time = new TestClock(TestBroker.Start);
        await using var provider = await TestOidcProvider.StartAsync(time);
        var unset = "TESSERA_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        var yaml = $$"""
            server: { listen: "{{TestBroker.Issuer}}" }
            {{provider.Yaml(unset)}}
            """;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestBroker.StartAsync(yaml, time: time));
        Assert.Contains(unset, error.Message, StringComparison.Ordinal);
        Assert.Contains("not set", error.Message, StringComparison.Ordinal);
    }

    private const string ConsoleHeadersPolicy = Tessera.Server.Console.ConsoleHeaders.ContentSecurityPolicy;

    /// <summary>Starts a sign-in, lets the provider answer, and follows its answer back to the broker.</summary>
    private static async Task<(HttpResponseMessage Response, string Body)> SignInAsync(ConsoleBrowser browser)
    {
        var (start, _) = await browser.GetAsync("/console/sign-in/oidc");
        var callback = await FollowProviderAsync(start.Headers.Location!);
        return await browser.GetAsync(callback.PathAndQuery);
    }

    /// <summary>The browser at the provider: one GET, whose redirect goes back to the broker's callback.</summary>
    private static async Task<Uri> FollowProviderAsync(Uri authorize)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var answer = await client.GetAsync(authorize);
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        var callback = answer.Headers.Location!;
        Assert.Equal("/console/oidc/callback", callback.AbsolutePath);
        return callback;
    }
}
