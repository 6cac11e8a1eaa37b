using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Tessera.CrashTest;

/// <summary>
/// The server the harness kills: its directory, configuration (SQLite in the directory or the
/// PostgreSQL database given), the agent and the people it knows, and the admin token it wrote.
/// </summary>
internal sealed class TesseraSetup : IDisposable
{
    public const string SecretName = "crm-key";
    private const string AgentSecret = "crash-agent-secret-8e2d4c6a1f";

    public TesseraSetup(CrashOptions options, int upstreamPort)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("tessera-crash-").FullName;
        Port = RecordingUpstream.FreePort();
        File.WriteAllText(Path.Combine(Directory, "idp.jwks.json"), People.Jwks());
        var storage = options.PostgresUrl is { } url ? $"storage: {url}\ncluster: {{ node_id: crash-node }}" : "storage: sqlite:data/tessera.db";
        var expires = TimeProvider.System.GetUtcNow().AddMonths(6).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(Directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{Port}}
            {{storage}}
            data_dir: data
            rate_limits:
              # The checks after each restart send revoked tokens on purpose; they must not be limited.
              failed_auth_per_client: 1000000
              failed_auth_per_source: 1000000
              refusals_per_second: 1000000
              refusal_burst: 1000000
            identity_providers:
              - id: corp
                issuer: {{IdentityProvider.Issuer}}
                jwks_file: idp.jwks.json
                audience: tessera
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
            principals:
              - { idp: corp, sub: alice, scopes: [ "crm:read" ] }
            tools:
              - id: crm
                upstream: http://127.0.0.1:{{upstreamPort}}
                credential: { secret: {{SecretName}}, header: X-Api-Key }
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
                  export: { rules: [ "POST /exports" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
            agents:
              - id: support-agent
                owner: support-platform@corp.example
                purpose: Answer customer tickets
                expires: {{expires}}
                auth:
                  client_secret_sha256: {{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AgentSecret)))}}
                allowed_scopes: [ "crm:read", "crm:export" ]
            """.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    public string Directory { get; }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    public IdentityProvider People { get; } = new();

    public AuthenticationHeaderValue AgentAuthorization { get; } =
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{AgentSecret}")));

    /// <summary>The bootstrap admin token, read from <c>data_dir/admin.token</c> once the server wrote it.</summary>
    public AuthenticationHeaderValue AdminAuthorization { get; private set; } = new("Bearer", "not-yet-started");

    /// <summary>bob of the approver group, who decides approvals (the bootstrap admin is no member of a group, so may not).</summary>
    public AuthenticationHeaderValue Approver => new("Bearer", People.Token("bob", "tessera-admin"));

    public void ReadAdminToken() =>
        AdminAuthorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(Directory, "data", "admin.token")).Trim());

    public void Dispose() => People.Dispose();
}
