using System.Net;

namespace Tessera.Server.Tests.Console;

/// <summary>
/// The console's session across nodes and restarts: its cookie is encrypted with a key derived from
/// the master key, and who it names is checked against the configuration on every request.
/// </summary>
public sealed class ConsoleSessionTests
{
    private static readonly byte[] SharedKey = SHA256.HashData("console-session-tests"u8.ToArray());

    [Fact]
    public async Task A_session_signed_in_on_one_node_is_valid_on_another_with_the_same_master_key_and_nowhere_else()
    {
        await using var first = await TestBroker.StartAsync(masterKey: SharedKey);
        await using var second = await TestBroker.StartAsync(masterKey: SharedKey);
        await using var stranger = await TestBroker.StartAsync(masterKey: SHA256.HashData("another installation"u8.ToArray()));
        var browser = new ConsoleBrowser(first);
        await browser.SignInAsync(first.AdminToken);

        var (onSecond, body) = await browser.On(second).GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.OK, onSecond.StatusCode);
        Assert.Contains("Signed in as <strong>bootstrap-admin</strong>", body, StringComparison.Ordinal);

        var (onStranger, _) = await browser.On(stranger).GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Redirect, onStranger.StatusCode);
        Assert.Equal("/console/sign-in", onStranger.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_form_rendered_on_one_node_can_be_posted_to_another()
    {
        await using var first = await TestBroker.StartAsync(masterKey: SharedKey);
        await using var second = await TestBroker.StartAsync(masterKey: SharedKey);
        var browser = new ConsoleBrowser(first);
        await browser.SignInAsync(first.AdminToken);
        await browser.GetAsync("/console/agents");

        var (signOut, _) = await browser.On(second).PostAsync("/console/sign-out", []);
        Assert.Equal(HttpStatusCode.SeeOther, signOut.StatusCode);
        Assert.Equal("/console/sign-in", signOut.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_session_survives_a_restart()
    {
        var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        await using var restarted = await broker.RestartAsync();

        var (agents, _) = await browser.On(restarted).GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.OK, agents.StatusCode);
    }

    [Fact]
    public async Task Turning_the_bootstrap_token_off_ends_the_bootstrap_admins_sessions()
    {
        await using var before = await TestBroker.StartAsync(masterKey: SharedKey);
        var browser = new ConsoleBrowser(before);
        await browser.SignInAsync(before.AdminToken);
        await using var after = await TestBroker.StartAsync(
            TestBroker.DefaultYaml().Replace("server:\n", "server:\n  bootstrap_admin_token: false\n", StringComparison.Ordinal), masterKey: SharedKey);

        var (agents, _) = await browser.On(after).GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Redirect, agents.StatusCode);
    }

    [Fact]
    public async Task An_approver_removed_from_their_group_is_signed_out_and_an_admin_demoted_loses_the_admin_pages()
    {
        var idp = new TestIdp();
        string Yaml(string admins, string members) => $$"""
            server: { listen: "{{TestBroker.Issuer}}" }
            {{TestIdp.Yaml}}
            admins: [ {{admins}} ]
            approver_groups:
              - { id: security-oncall, members: [ {{members}} ] }
            """;
        await using var before = await TestBroker.StartAsync(Yaml("{ idp: corp, sub: carol }", "{ idp: corp, sub: bob }, { idp: corp, sub: carol }"), idp.NewBrokerDirectory(), masterKey: SharedKey);
        var bob = new ConsoleBrowser(before);
        await bob.SignInAsync(idp.MintAdmin("bob", before.Time.GetUtcNow()));
        var carol = new ConsoleBrowser(before);
        await carol.SignInAsync(idp.MintAdmin("carol", before.Time.GetUtcNow()));
        Assert.Equal(HttpStatusCode.OK, (await carol.GetAsync("/console/agents")).Response.StatusCode);

        await using var after = await TestBroker.StartAsync(Yaml("", "{ idp: corp, sub: carol }"), idp.NewBrokerDirectory(), masterKey: SharedKey);
        var (bobsApprovals, _) = await bob.On(after).GetAsync("/console/approvals");
        Assert.Equal(HttpStatusCode.Redirect, bobsApprovals.StatusCode);
        var (carolsAgents, _) = await carol.On(after).GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Forbidden, carolsAgents.StatusCode);
        var (carolsApprovals, page) = await carol.On(after).GetAsync("/console/approvals");
        Assert.Equal(HttpStatusCode.OK, carolsApprovals.StatusCode);
        Assert.Contains("Signed in as <strong>corp:carol</strong> (approver)", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signing_out_ends_the_session_for_every_copy_of_its_cookie_including_after_a_restart()
    {
        var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        await browser.GetAsync("/console/agents");
        var stolen = browser.On(broker);

        var (signOut, _) = await browser.PostAsync("/console/sign-out", []);
        Assert.Equal(HttpStatusCode.SeeOther, signOut.StatusCode);

        // The cookie is valid cryptographically for another 15 minutes: only the server's record ends it.
        var (replayed, _) = await stolen.GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Redirect, replayed.StatusCode);
        Assert.Equal("/console/sign-in", replayed.Headers.Location!.OriginalString);
        var signedOut = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConsoleSignedOut);
        Assert.Equal("bootstrap-admin", signedOut.Record.Principal);

        await using var restarted = await broker.RestartAsync();
        var (afterRestart, _) = await stolen.On(restarted).GetAsync("/console/agents");
        Assert.Equal(HttpStatusCode.Redirect, afterRestart.StatusCode);

        // A new sign-in is a new session.
        var again = new ConsoleBrowser(restarted);
        await again.SignInAsync(restarted.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/console/agents")).Response.StatusCode);
    }

    [Fact]
    public async Task A_session_kept_busy_ends_twelve_hours_after_its_sign_in()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        var signedInAt = broker.Time.GetUtcNow();

        while (broker.Time.GetUtcNow() + TimeSpan.FromMinutes(14) < signedInAt + Tessera.Core.Sessions.ConsoleSessions.MaxLifetime)
        {
            broker.Time.Advance(TimeSpan.FromMinutes(14));
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/console/approvals")).Response.StatusCode);
        }

        broker.Time.Advance(TimeSpan.FromMinutes(14));
        var (ended, _) = await browser.GetAsync("/console/approvals");
        Assert.Equal(HttpStatusCode.Redirect, ended.StatusCode);
    }

    [Fact]
    public async Task Revoking_a_person_ends_their_console_sessions_and_not_other_peoples()
    {
        var idp = new TestIdp();
        var yaml = $$"""
            server: { listen: "{{TestBroker.Issuer}}" }
            {{TestIdp.Yaml}}
            admins: [ { idp: corp, sub: carol }, { idp: corp, sub: dave } ]
            """;
        await using var broker = await TestBroker.StartAsync(yaml, idp.NewBrokerDirectory());
        var carol = new ConsoleBrowser(broker);
        await carol.SignInAsync(idp.MintAdmin("carol", broker.Time.GetUtcNow()));
        var dave = new ConsoleBrowser(broker);
        await dave.SignInAsync(idp.MintAdmin("dave", broker.Time.GetUtcNow()));
        broker.Time.Advance(TimeSpan.FromSeconds(5));

        using (var revoked = await broker.SendAsync(HttpMethod.Post, "/admin/v1/revocations", idp.MintAdmin("dave", broker.Time.GetUtcNow()), new { kind = "principal", id = "carol" }))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Redirect, (await carol.GetAsync("/console/agents")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await dave.GetAsync("/console/agents")).Response.StatusCode);

        broker.Time.Advance(TimeSpan.FromSeconds(1));
        var carolAgain = new ConsoleBrowser(broker);
        await carolAgain.SignInAsync(idp.MintAdmin("carol", broker.Time.GetUtcNow()));
        Assert.Equal(HttpStatusCode.OK, (await carolAgain.GetAsync("/console/agents")).Response.StatusCode);
    }
}
