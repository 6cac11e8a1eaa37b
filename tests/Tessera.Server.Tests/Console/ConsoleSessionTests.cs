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
}
