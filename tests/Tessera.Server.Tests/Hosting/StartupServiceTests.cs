using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Server.Tests.Hosting;

public sealed class StartupServiceTests
{
    [Fact]
    public async Task Configuration_warnings_are_logged_at_start_with_file_line_and_path()
    {
        var logs = new CapturingLoggerProvider();
        var yaml = TestBroker.DefaultYaml().Replace("read: { rules: [ \"GET /**\" ] }", "read: { rules: [ \"* /**\" ] }", StringComparison.Ordinal);
        Assert.NotEqual(TestBroker.DefaultYaml(), yaml);

        await using var broker = await TestBroker.StartAsync(yaml, configure: logs.AddTo);

        var warning = Assert.Single(logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("tools[2].scopes.read.rules[0]", StringComparison.Ordinal));
        Assert.Contains("tessera.yaml:", warning, StringComparison.Ordinal);
        Assert.Contains("'* /**' allows every method on every path of tool 'vault'", warning, StringComparison.Ordinal);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("server.listen", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_server_cuts_audit_checkpoints_that_verify_against_the_jwks_it_publishes()
    {
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml() + "\naudit:\n  checkpoint: { every_events: 3 }\n");
        for (var i = 0; i < 3; i++)
        {
            await broker.IssueAsync();
        }

        var events = await broker.AuditEventsAsync();
        var checkpoint = events.First(e => e.Record.Type == AuditTypes.AuditCheckpoint);
        var covered = Assert.Single(events, e => e.Seq == checkpoint.Seq - 1);
        using var jwks = await broker.Client.GetAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), TestContext.Current.CancellationToken);
        var keys = new JsonWebKeySet(await jwks.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Keys;

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(checkpoint.Record.Checkpoint, new TokenValidationParameters
        {
            IssuerSigningKeys = keys,
            ValidTypes = [AuditCheckpoint.JoseType],
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
        });

        Assert.True(result.IsValid, result.Exception?.Message);
        var token = (JsonWebToken)result.SecurityToken;
        Assert.Equal(covered.Seq, token.GetPayloadValue<long>("seq"));
        Assert.Equal(covered.Hash, token.GetPayloadValue<string>("hash"));
        Assert.Equal(broker.Service<Core.Tokens.SigningKeyService>().Current().Kid, token.Kid);
        Assert.True((await AuditVerifier.VerifyAsync(broker.Store.Audit, TestContext.Current.CancellationToken)).Checkpoints >= 1);
    }
}
