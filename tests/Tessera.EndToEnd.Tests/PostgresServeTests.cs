using Npgsql;
using Tessera.Storage.Postgres.Tests;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// <c>tessera serve</c> on a real PostgreSQL database: a token is issued, revoked and no longer
/// active, every event lands in this node's audit chain, and <c>tessera audit verify</c> reads that
/// chain back from the database intact. The password variable is set and never shows.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
[Collection(PostgresCollection.Name)]
public sealed class PostgresServeTests(PostgresCluster cluster) : IDisposable
{
    private const string Secret = "foo"; // its SHA-256 is in the configuration below
    private const string Password = "not-needed-by-trust-but-never-shown";
    private readonly string _directory = Directory.CreateTempSubdirectory("tessera-e2e-pg-").FullName;

    [Fact]
    public async Task Serve_on_postgres_issues_revokes_and_audits_into_this_nodes_chain()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(ct));
        var port = TesseraProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(_directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{port}}
            storage: postgres://tessera@127.0.0.1:{{cluster.Port}}/{{database.Database}}
            cluster: { node_id: e2e-node }
            {{TesseraProcess.CrmAndSupportAgent}}
            """, ct);
        var environment = new Dictionary<string, string> { ["TESSERA_DB_PASSWORD"] = Password };

        await using var server = TesseraProcess.Start(_directory, environment, "serve");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await server.WaitUntilReadyAsync(http);
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{Secret}")));

        using var tokenResponse = await PostAsync(http, "/oauth/token", basic, ("grant_type", "client_credentials"), ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        using var tokenJson = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync(ct));
        var token = tokenJson.RootElement.GetProperty("access_token").GetString()!;
        Assert.True(await IsActiveAsync(http, basic, token));
        using var revoke = await PostAsync(http, "/oauth/revoke", basic, ("token", token));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.False(await IsActiveAsync(http, basic, token));

        // The revocation is in the database, and the events are this node's chain.
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync(ct);
            await using var revoked = new NpgsqlCommand("SELECT COUNT(*) FROM revocations", connection);
            Assert.Equal(1L, await revoked.ExecuteScalarAsync(ct));
            await using var nodes = new NpgsqlCommand("SELECT string_agg(DISTINCT node, ',') FROM audit_events", connection);
            Assert.Equal("e2e-node", await nodes.ExecuteScalarAsync(ct));
            await using var types = new NpgsqlCommand("SELECT COUNT(*) FROM audit_events WHERE type IN ('token.issued', 'token.revoked')", connection);
            Assert.Equal(2L, await types.ExecuteScalarAsync(ct));
        }

        var (verifyCode, verifyOutput) = await TesseraProcess.RunAsync(_directory, environment, "audit", "verify");
        Assert.True(verifyCode == 0, verifyOutput);
        Assert.Contains("audit chain intact", verifyOutput, StringComparison.Ordinal);

        Assert.Equal(0, await server.TerminateAsync());
        Assert.DoesNotContain(Password, server.Output + verifyOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_and_audit_verify_on_an_unreachable_database_exit_1_with_one_line_naming_no_password()
    {
        var closed = TesseraProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(_directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{TesseraProcess.FreePort()}}
            storage: postgres://tessera:{{Password}}@127.0.0.1:{{closed}}/tessera
            """, TestContext.Current.CancellationToken);

        var (serveCode, serveOutput) = await TesseraProcess.RunAsync(_directory, "serve");
        var (verifyCode, verifyOutput) = await TesseraProcess.RunAsync(_directory, "audit", "verify");

        Assert.Equal((1, 1), (serveCode, verifyCode));
        Assert.Contains("Storage unavailable", serveOutput, StringComparison.Ordinal);
        Assert.Contains("Cannot read the audit log", verifyOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, serveOutput + verifyOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", serveOutput + verifyOutput, StringComparison.Ordinal);
    }

    private static async Task<bool> IsActiveAsync(HttpClient http, AuthenticationHeaderValue auth, string token)
    {
        using var response = await PostAsync(http, "/oauth/introspect", auth, ("token", token));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, AuthenticationHeaderValue auth, params (string, string)[] form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Item1, f.Item2))),
        };
        request.Headers.Authorization = auth;
        return await http.SendAsync(request);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
