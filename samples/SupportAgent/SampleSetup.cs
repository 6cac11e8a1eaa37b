using System.Security.Cryptography;
using System.Text;

namespace SupportAgent;

/// <summary>Writes what a local broker for the sample needs into a directory: tessera.yaml, the identity provider's keys, and the agent's secret.</summary>
internal static class SampleSetup
{
    public const string AgentId = "support-agent";
    public const string SecretFile = "agent.secret";

    public static void Write(string directory, int tesseraPort, int crmPort)
    {
        Directory.CreateDirectory(directory);
        SampleIdentityProvider.Create(directory);
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        File.WriteAllText(Path.Combine(directory, SecretFile), secret);
        var expires = TimeProvider.System.GetUtcNow().AddMonths(6).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(directory, "tessera.yaml"), $$"""
            # The support-agent sample's broker: alice's support agent reads the CRM freely; exporting
            # needs a member of security-oncall (bob) to approve, and then works once.
            server:
              listen: http://127.0.0.1:{{tesseraPort}}
            storage: sqlite:data/tessera.db
            data_dir: data
            identity_providers:
              - id: corp
                issuer: {{SampleIdentityProvider.Issuer}}
                jwks_file: idp.jwks.json
                audience: tessera
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
            principals:
              - { idp: corp, sub: alice, scopes: [ "crm:read", "crm:export" ] }
            tools:
              - id: crm
                upstream: http://127.0.0.1:{{crmPort}}
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
                  export: { rules: [ "POST /exports" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
            agents:
              - id: {{AgentId}}
                owner: support-platform@corp.example
                purpose: Answer customer tickets
                expires: {{expires}}
                auth:
                  client_secret_sha256: {{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)))}}
                allowed_scopes: [ "crm:read", "crm:export" ]
                max_ttl: 10m
            """);
    }
}
