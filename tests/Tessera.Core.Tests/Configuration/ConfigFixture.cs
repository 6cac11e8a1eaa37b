namespace Tessera.Core.Tests.Configuration;

/// <summary>A configuration as an operator edits it between reloads: a base file and small edits of it.</summary>
internal static class ConfigFixture
{
    public static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

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
