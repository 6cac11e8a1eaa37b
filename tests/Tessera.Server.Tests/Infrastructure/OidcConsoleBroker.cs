using Microsoft.AspNetCore.Hosting;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A broker whose console signs people in through <see cref="TestOidcProvider"/> (identity provider
/// <c>sso</c>): carol is an admin, bob an approver of security-oncall, eve neither. The client secret
/// is in an environment variable of this test's own name.
/// </summary>
public static class OidcConsoleBroker
{
    public static async Task<(TestBroker Broker, TestOidcProvider Provider)> StartAsync()
    {
        // At the real time: a browser judges the sign-in's state cookies by its own clock.
        var time = new TestClock(TimeProvider.System.GetUtcNow());
        var provider = await TestOidcProvider.StartAsync(time);
        var secretEnv = "TESSERA_TEST_CONSOLE_SECRET_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(secretEnv, TestOidcProvider.ClientSecret);
        // The console names its redirect URI by the issuer, so the issuer is where the browser reaches the broker.
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();
        var yaml = $$"""
            server: { listen: "{{address}}", issuer: "{{address}}" }
            {{provider.Yaml(secretEnv)}}
            admins: [ { idp: sso, sub: carol } ]
            approver_groups:
              - { id: security-oncall, members: [ { idp: sso, sub: bob } ] }
            tools:
              - id: crm
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
            agents:
            {{TestBroker.SupportAgentYaml("\"crm:read\"")}}
            """;
        return (await TestBroker.StartAsync(yaml, time: time, realHttp: true, configure: b => b.WebHost.UseUrls(address)), provider);
    }
}
