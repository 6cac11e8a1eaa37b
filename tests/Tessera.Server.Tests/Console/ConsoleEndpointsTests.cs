using System.Net;
using Tessera.Core.Audit;
using Tessera.Core.Protocol;
using Tessera.Server.Console;

namespace Tessera.Server.Tests.Console;

public sealed class ConsoleEndpointsTests
{
    private const string SessionCookie = "__Host-tessera-console";

    [Fact]
    public async Task The_agents_page_sends_a_visitor_without_a_session_to_sign_in()
    {
        await using var broker = await TestBroker.StartAsync();
        var (response, _) = await new ConsoleBrowser(broker).GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/console/sign-in", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task The_agents_page_lists_each_agents_posture_findings_in_its_row()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        var (_, body) = await browser.GetAsync("/console/agents");

        var row = body[body.IndexOf("<code>support-agent</code>", StringComparison.Ordinal)..];
        row = row[..row.IndexOf("</tr>", StringComparison.Ordinal)];
        var expected = (await broker.Service<Tessera.Core.Posture.PostureService>().ReportAsync(CancellationToken.None)).Findings.Where(f => f.Agent == "support-agent").ToList();
        Assert.NotEmpty(expected);
        foreach (var finding in expected)
        {
            Assert.Contains($"<code>{finding.Type}</code>", row, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_sign_in_page_asks_for_an_admin_token_in_a_labelled_field()
    {
        await using var broker = await TestBroker.StartAsync();
        var (response, body) = await new ConsoleBrowser(broker).GetAsync("/console/sign-in");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<label for=\"token\">Admin token</label>", body, StringComparison.Ordinal);
        Assert.Contains("id=\"token\" name=\"token\" type=\"password\"", body, StringComparison.Ordinal);
        Assert.Contains("name=\"__form\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signing_in_with_the_bootstrap_token_opens_the_agents_page_and_is_audited()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        var (signIn, _) = await browser.SignInAsync(broker.AdminToken);
        Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
        Assert.Equal("/console/agents", signIn.Headers.Location!.OriginalString);

        var (agents, body) = await browser.GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.OK, agents.StatusCode);
        Assert.Contains("support-agent", body, StringComparison.Ordinal);
        Assert.Contains("support-platform@corp.example", body, StringComparison.Ordinal);
        Assert.Contains("Answer customer tickets", body, StringComparison.Ordinal);
        Assert.Contains("expired", body, StringComparison.Ordinal);
        Assert.Contains("Signed in as <strong>bootstrap-admin</strong>", body, StringComparison.Ordinal);

        var signedIn = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConsoleSignedIn);
        Assert.Equal("bootstrap-admin", signedIn.Record.Principal);
    }

    [Fact]
    public async Task A_wrong_token_is_refused_audited_and_opens_no_session()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        var (response, body) = await browser.SignInAsync("tsa_not-the-token");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("This token was not accepted.", body, StringComparison.Ordinal);
        Assert.False(browser.HasCookie(SessionCookie));

        var denied = await AuditAssert.RefusedOnceAsync(broker, AuditTypes.ConsoleSignInDenied, RefusalCodes.AdminTokenInvalid);
        Assert.DoesNotContain("tsa_not-the-token", System.Text.Encoding.UTF8.GetString(denied.Json), StringComparison.Ordinal);
        var (agents, _) = await browser.GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Redirect, agents.StatusCode);
    }

    [Fact]
    public async Task The_session_cookie_is_host_only_secure_httponly_strict_and_never_holds_the_token()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        var session = Assert.Single(browser.SetCookies, c => c.StartsWith(SessionCookie + "=", StringComparison.Ordinal));
        Assert.Contains("; httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; samesite=strict", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; secure", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; path=/", session, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("domain=", session, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(broker.AdminToken, string.Join("\n", browser.SetCookies), StringComparison.Ordinal);
        Assert.DoesNotContain(broker.AdminToken[4..20], string.Join("\n", browser.SetCookies), StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_a_loopback_address_the_cookie_is_not_secure_since_the_browser_uses_plain_http()
    {
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml().Replace($"listen: {TestBroker.Issuer}", "listen: http://127.0.0.1:8080", StringComparison.Ordinal));
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        var session = Assert.Single(browser.SetCookies, c => c.StartsWith("tessera-console=", StringComparison.Ordinal));
        Assert.DoesNotContain("; secure", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; samesite=strict", session, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        await browser.GetAsync("/console/agents");
        var (signOut, _) = await browser.PostAsync("/console/sign-out", []);
        Assert.Equal(HttpStatusCode.SeeOther, signOut.StatusCode);

        var (agents, _) = await browser.GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Redirect, agents.StatusCode);
    }

    [Fact]
    public async Task A_session_left_idle_past_fifteen_minutes_has_ended_and_one_in_use_has_not()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        broker.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/console/agents")).Response.StatusCode);
        broker.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/console/agents")).Response.StatusCode);

        broker.Time.Advance(Tessera.Core.Sessions.ConsoleSessions.IdleTimeout + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/console/agents")).Response.StatusCode);
    }

    [Theory]
    [InlineData("/console/sign-in")]
    [InlineData("/console/agents")]
    [InlineData("/console/approvals")]
    [InlineData("/console/console.css")]
    public async Task Every_console_response_forbids_inline_script_framing_sniffing_and_caching(string path)
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        var (response, _) = await browser.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Contains("no-store", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_stylesheet_comes_from_the_broker_itself()
    {
        await using var broker = await TestBroker.StartAsync();
        var (page, body) = await new ConsoleBrowser(broker).GetAsync("/console/sign-in");
        Assert.Contains("<link rel=\"stylesheet\" href=\"/console/console.css\">", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("style=", body, StringComparison.OrdinalIgnoreCase);
        var (css, text) = await new ConsoleBrowser(broker).GetAsync("/console/console.css");
        Assert.Equal("text/css", css.Content.Headers.ContentType!.MediaType);
        Assert.Contains("body", text, StringComparison.Ordinal);
        _ = page;
    }

    [Fact]
    public async Task A_sign_in_without_the_antiforgery_token_is_refused_and_audited()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        await browser.GetAsync("/console/sign-in");
        var (response, _) = await browser.PostAsync("/console/sign-in", [new("token", broker.AdminToken)], withFormToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(browser.HasCookie(SessionCookie));
        await AuditAssert.RefusedOnceAsync(broker, AuditTypes.AdminDenied, RefusalCodes.ConsoleFormInvalid);
    }

    [Fact]
    public async Task An_approver_approves_with_a_comment_from_the_form_and_the_agent_gets_its_token()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        var browser = new ConsoleBrowser(broker);
        var (signIn, _) = await browser.SignInAsync(idp.As(broker, "bob"));
        Assert.Equal("/console/approvals", signIn.Headers.Location!.OriginalString);

        var (page, body) = await browser.GetAsync("/console/approvals");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains($"action=\"/console/approvals/{id}\"", body, StringComparison.Ordinal);
        Assert.Contains(">Comment</label>", body, StringComparison.Ordinal);
        Assert.Contains("value=\"approve\">Approve</button>", body, StringComparison.Ordinal);
        Assert.Contains("value=\"deny\" class=\"deny\">Deny</button>", body, StringComparison.Ordinal);
        Assert.Contains("corp:alice", body, StringComparison.Ordinal);

        var (decided, _) = await browser.PostAsync($"/console/approvals/{id}", [new("decision", "approve"), new("comment", "checked with alice")]);
        Assert.Equal(HttpStatusCode.SeeOther, decided.StatusCode);
        await broker.RedeemAfterIntervalAsync(id);
        var approval = Assert.Single((await broker.ListApprovalsAsync(broker.AdminToken)).EnumerateArray(), a => a.GetProperty("id").GetString() == id);
        Assert.Equal("corp:bob", approval.GetProperty("decided_by").GetString());
        Assert.Equal("checked with alice", approval.GetProperty("comment").GetString());
    }

    [Fact]
    public async Task An_approver_denies_from_the_form_and_the_agents_poll_sees_the_denial()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(idp.As(broker, "bob"));
        await browser.GetAsync("/console/approvals");
        var (decided, _) = await browser.PostAsync($"/console/approvals/{id}", [new("decision", "deny"), new("comment", "not today")]);
        Assert.Equal(HttpStatusCode.SeeOther, decided.StatusCode);
        await broker.PollAfterIntervalRefusedAsync(id, "access_denied");
    }

    [Fact]
    public async Task A_decision_posted_without_the_antiforgery_token_is_refused_and_changes_nothing()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(idp.As(broker, "bob"));
        await browser.GetAsync("/console/approvals");
        var (response, _) = await browser.PostAsync($"/console/approvals/{id}", [new("decision", "approve")], withFormToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var approval = Assert.Single((await broker.ListApprovalsAsync(broker.AdminToken)).EnumerateArray(), a => a.GetProperty("id").GetString() == id);
        Assert.Equal("pending", approval.GetProperty("status").GetString());
        await AuditAssert.RefusedOnceAsync(broker, AuditTypes.AdminDenied, RefusalCodes.ConsoleFormInvalid);
    }

    [Fact]
    public async Task A_form_rendered_for_one_session_is_refused_in_another()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        var bob = new ConsoleBrowser(broker);
        await bob.SignInAsync(idp.As(broker, "bob"));
        await bob.GetAsync("/console/approvals");
        var dave = new ConsoleBrowser(broker);
        await dave.SignInAsync(idp.As(broker, "dave"));
        await dave.GetAsync("/console/approvals");
        var (response, _) = await dave.PostAsync($"/console/approvals/{id}", [new("decision", "approve"), new("__form", bob.FormToken!)], withFormToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task An_approval_reason_carrying_markup_is_shown_as_text()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        await broker.RequestApprovalAsync(idp, "crm:export", ("reason", "<script>alert(1)</script> & <b>bold</b>"));
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        var (_, body) = await browser.GetAsync("/console/approvals");
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approver_sees_approvals_but_not_the_agents()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(idp.As(broker, "bob"));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/console/approvals")).Response.StatusCode);
        var (agents, body) = await browser.GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Forbidden, agents.StatusCode);
        Assert.Contains("admins only", body, StringComparison.Ordinal);
        Assert.DoesNotContain("support-platform@corp.example", body, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"/console/agents\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approver_sees_only_the_approvals_of_their_groups()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var export = await broker.RequestApprovalAsync(idp, "crm:export");
        var refund = await broker.RequestApprovalAsync(idp, "crm:refund");
        var frank = new ConsoleBrowser(broker);
        await frank.SignInAsync(idp.As(broker, "frank"));
        var (_, body) = await frank.GetAsync("/console/approvals");
        Assert.Contains(refund, body, StringComparison.Ordinal);
        Assert.DoesNotContain(export, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_identity_that_is_neither_admin_nor_approver_cannot_sign_in()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var browser = new ConsoleBrowser(broker);
        var (response, body) = await browser.SignInAsync(idp.As(broker, "eve"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("neither an admin nor a member of an approver group", body, StringComparison.Ordinal);
        var denied = await AuditAssert.RefusedOnceAsync(broker, AuditTypes.ConsoleSignInDenied, RefusalCodes.AdminNotApprover);
        Assert.Equal("corp:eve", denied.Record.Principal);
    }

    [Fact]
    public async Task Self_approval_is_refused_with_cores_explanation_on_the_page()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        var alice = new ConsoleBrowser(broker);
        await alice.SignInAsync(idp.As(broker, "alice"));
        await alice.GetAsync("/console/approvals");
        var (response, body) = await alice.PostAsync($"/console/approvals/{id}", [new("decision", "approve")]);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("<p class=\"error\" role=\"alert\">The principal an agent acts for cannot approve its own request.</p>", body, StringComparison.Ordinal);
        var refusal = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.ReasonCode == RefusalCodes.ApprovalSelfApproval);
        Assert.Equal(AuditOutcomes.Denied, refusal.Record.Outcome);
        var approval = Assert.Single((await broker.ListApprovalsAsync(broker.AdminToken)).EnumerateArray(), a => a.GetProperty("id").GetString() == id);
        Assert.Equal("pending", approval.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_second_decision_is_refused_and_the_first_stands()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        var bob = new ConsoleBrowser(broker);
        await bob.SignInAsync(idp.As(broker, "bob"));
        await bob.GetAsync("/console/approvals");
        await bob.PostAsync($"/console/approvals/{id}", [new("decision", "approve")]);
        var (response, body) = await bob.PostAsync($"/console/approvals/{id}", [new("decision", "deny")]);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("role=\"alert\"", body, StringComparison.Ordinal);
        await broker.RedeemAfterIntervalAsync(id);
    }

    [Fact]
    public async Task An_exact_request_binding_is_shown_field_by_field()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("""{"contact":"4711"}"""u8));
        var details = $$"""[{"type":"tessera_request","tool":"crm","method":"POST","path":"/exports","body_sha256":"{{hash}}"}]""";
        await broker.RequestApprovalAsync(idp, "crm:export", ("authorization_details", details));
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(idp.As(broker, "bob"));
        var (_, body) = await browser.GetAsync("/console/approvals");
        Assert.Contains("<dt>Exact request</dt>", body, StringComparison.Ordinal);
        Assert.Contains("<dt>method</dt><dd><code>POST</code></dd>", body, StringComparison.Ordinal);
        Assert.Contains("<dt>path</dt><dd><code>/exports</code></dd>", body, StringComparison.Ordinal);
        Assert.Contains($"<dt>body_sha256</dt><dd><code>{hash}</code></dd>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_console_brings_no_authentication_or_authorization_middleware_to_the_other_routes()
    {
        // Registered, either would be added to every request (the token endpoint and the proxy included).
        await using var broker = await TestBroker.StartAsync();
        Assert.Null(broker.App.Services.GetService(typeof(Microsoft.AspNetCore.Authentication.IAuthenticationSchemeProvider)));
        Assert.Null(broker.App.Services.GetService(typeof(Microsoft.AspNetCore.Authorization.IAuthorizationHandlerProvider)));
    }
}
