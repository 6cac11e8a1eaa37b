using System.Text;
using System.Text.Json;
using Npgsql;
using Tessera.Core.Vault;
using Tessera.Credentials.Postgres.Tests;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Leases;

/// <summary>
/// A broker with a <c>protocol: postgres</c> tool over the real throwaway <see cref="Warehouse"/>:
/// <c>warehouse:read</c> (SELECT on the reporting schema) and <c>warehouse:write</c> (INSERT on
/// orders, approved by security-oncall), an identity provider for missions, and reporting-agent.
/// Its clock starts at the real time: PostgreSQL checks a role's VALID UNTIL against its own clock.
/// </summary>
public static class LeaseBroker
{
    public const string Agent = "reporting-agent";
    public const string Secret = "reporting-secret-0123456789abcdef";
    public const string AdminSecretName = "warehouse-admin";

    /// <summary>The placeholder of a grant, written into the YAML as it is.</summary>
    private const string Role = Core.Leases.LeaseGrants.RolePlaceholder;

    public static async Task<(TestBroker Broker, TestIdp Idp)> StartAsync(Warehouse warehouse, string? adminSecret = null, string? directory = null,
        Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null, bool putSecret = true)
    {
        var idp = new TestIdp();
        directory ??= idp.NewBrokerDirectory();
        var yaml = $$"""
            server: { listen: "{{TestBroker.Issuer}}" }
            tokens: { default_ttl: 5m, max_ttl: 1h }
            {{TestIdp.Yaml}}
            admins: [ { idp: corp, sub: carol } ]
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
            principals:
              - { idp: corp, sub: alice, scopes: [ "warehouse:read", "warehouse:write" ] }
            tools:
              - id: warehouse
                protocol: postgres
                connection: { host: 127.0.0.1, port: {{warehouse.Port}}, database: {{Warehouse.Database}} }
                admin_secret: {{AdminSecretName}}
                lease_ttl: 15m
                scopes:
                  read: { grants: [ "GRANT USAGE ON SCHEMA reporting TO {{Role}}", "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{Role}}" ] }
                  write: { grants: [ "GRANT USAGE ON SCHEMA reporting TO {{Role}}", "GRANT INSERT ON reporting.orders TO {{Role}}" ], approval: { group: security-oncall, ttl: 2m } }
              - id: crm
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
            agents:
              - id: {{Agent}}
                owner: data-platform@corp.example
                purpose: Monthly revenue report
                expires: 2027-06-30
                auth: { client_secret_sha256: {{TestBroker.Sha256Hex(Secret)}} }
                allowed_scopes: [ "warehouse:read", "warehouse:write", "crm:read" ]
                max_ttl: 10m
            """;
        var broker = await TestBroker.StartAsync(yaml, directory, time: new TestClock(TimeProvider.System.GetUtcNow()), configure: configure);
        if (putSecret)
        {
            var put = await broker.Service<SecretVault>().PutAsync(AdminSecretName, Encoding.UTF8.GetBytes(adminSecret ?? warehouse.AdminSecret), "test", null, CancellationToken.None);
            Assert.Null(put.Error);
        }

        return (broker, idp);
    }

    /// <summary>reporting-agent's own token (client_credentials) for <paramref name="scope"/>.</summary>
    public static async Task<string> AgentTokenAsync(this TestBroker broker, string scope = "warehouse:read")
    {
        using var response = await broker.ClientCredentialsAsync(Agent, Secret, ("scope", scope));
        return await OAuthAssert.TokenAsync(response);
    }

    /// <summary>reporting-agent exchanges alice's token (a new mission) or a mission token for <paramref name="scope"/> on the warehouse.</summary>
    public static Task<HttpResponseMessage> ExchangeAsync(this TestBroker broker, string subjectToken, string? scope, bool missionToken = false, string? purpose = null)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", subjectToken),
            new("subject_token_type", missionToken ? "urn:ietf:params:oauth:token-type:access_token" : "urn:ietf:params:oauth:token-type:jwt"),
        };
        if (scope is not null)
        {
            form.Add(new("resource", "urn:tessera:tool:warehouse"));
            form.Add(new("scope", scope));
        }

        if (purpose is not null)
        {
            form.Add(new("purpose", purpose));
        }

        return broker.PostFormAsync("/oauth/token", form, TestBroker.Basic(Agent, Secret));
    }

    /// <summary><c>POST /credentials/warehouse</c> with <paramref name="token"/> as Bearer.</summary>
    public static Task<HttpResponseMessage> RequestLeaseAsync(this TestBroker broker, string token, string tool = "warehouse") =>
        broker.SendAsync(HttpMethod.Post, "/credentials/" + tool, token);

    /// <summary>A lease that must be granted: its JSON answer.</summary>
    public static async Task<JsonElement> LeaseAsync(this TestBroker broker, string token)
    {
        using var response = await broker.RequestLeaseAsync(token);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>A connection as the lease's role with the password it was given (not pooled: closing it ends the session).</summary>
    public static NpgsqlConnection Connect(JsonElement lease) => new(new NpgsqlConnectionStringBuilder
    {
        Host = lease.GetProperty("host").GetString(),
        Port = lease.GetProperty("port").GetInt32(),
        Database = lease.GetProperty("database").GetString(),
        Username = lease.GetProperty("username").GetString(),
        Password = lease.GetProperty("password").GetString(),
        Pooling = false,
    }.ConnectionString);

    /// <summary>Whether the database still has the role.</summary>
    public static async Task<bool> RoleExistsAsync(this Warehouse warehouse, string role) =>
        await warehouse.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role);
}
