namespace Tessera.Core.Tests.Configuration;

/// <summary>A configuration as an operator edits it between reloads: a base file and small edits of it.</summary>
internal static class ConfigFixture
{
    public static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    /// <summary>An agent entry an operator adds or removes between reloads.</summary>
    public const string Billing = """
          - id: billing-bot
            owner: finance@corp.example
            purpose: Reconcile invoices
            expires: 2027-03-31
            auth:
              client_secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
            allowed_scopes: [ "crm:read" ]
        """;

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string Yaml(string agents = "", string crmScopes = """
              read:   { rules: [ "GET /contacts/**" ] }
              export: { rules: [ "POST /exports" ] }
              notes:  { rules: [ "GET /notes/*" ] }
        """, string server = "listen: http://127.0.0.1:8080", string principals = "", string supportScopes = "\"crm:read\", \"crm:export\"") => $$"""
        server:
          {{server}}
        storage: sqlite:db/tessera.db
        data_dir: state
        tokens:
          default_ttl: 5m
          max_ttl: 1h
        identity_providers:
          - id: corp
            issuer: https://idp.corp.example
            jwks_uri: https://idp.corp.example/jwks
            audience: tessera
        principals:
          - { idp: corp, sub: alice, scopes: [ {{(principals.Length == 0 ? "\"crm:read\", \"crm:export\"" : principals)}} ] }
        tools:
          - id: crm
            scopes:
        {{crmScopes}}
        agents:
          - id: support-agent
            owner: support-platform@corp.example
            purpose: Answer customer tickets
            expires: 2027-06-30
            auth:
              client_secret_sha256: {{Hash("support-secret")}}
            allowed_scopes: [ {{supportScopes}} ]
            may_delegate_to: [ "ticket-bot" ]
          - id: ticket-bot
            owner: support-platform@corp.example
            purpose: File tickets
            expires: 2027-06-30
            auth:
              client_secret_sha256: {{Hash("ticket-secret")}}
            allowed_scopes: [ "crm:read", "crm:export" ]
        {{agents}}
        """;

    public static TesseraConfig Load(string yaml) => ConfigLoader.Load(yaml, "tessera.yaml", Path.GetTempPath(), time: new FakeTimeProvider(Now));
}
