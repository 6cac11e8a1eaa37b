using System.Globalization;
using System.Security.Cryptography;

namespace Tessera.Core.Configuration;

/// <summary>
/// The commented sample <c>tessera.yaml</c> written by <c>tessera init</c> and by the first
/// <c>tessera serve</c>. Its demo agent gets a fresh random secret: no two installations share a
/// credential, and the plaintext only ever lands in a 0600 file in <c>data_dir</c>.
/// </summary>
public static class SampleConfig
{
    public const string DemoAgentId = "support-agent";
    public const string DemoSecretFileName = "support-agent.secret";

    /// <summary>Creates the sample text and the demo agent's secret.</summary>
    public static (string Yaml, string DemoSecret) Create(DateTimeOffset now)
    {
        var secret = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var hash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
        var expires = now.UtcDateTime.Date.AddDays(90).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var yaml = Template.Replace("{HASH}", hash, StringComparison.Ordinal).Replace("{EXPIRES}", expires, StringComparison.Ordinal);
        return (yaml, secret);
    }

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private const string Template = """
# tessera.yaml — the declarative part of Tessera: agents, tools, scopes and who may do what.
# Secrets, keys, missions, revocations and the audit log live in storage, not here.
# Paths below are relative to this file's directory. Durations use s, m, h, d.
# After an edit, `tessera reload` (or SIGHUP) applies it to the running server without a restart;
# server, storage, cluster, data_dir, tokens, signing_keys, vault, dpop, rate_limits, audit, telemetry and
# console take a restart.

server:
  listen: http://127.0.0.1:8080       # where the broker listens
  # issuer: http://127.0.0.1:8080     # `iss` of every token; defaults to listen
  # bootstrap_admin_token: true       # write data_dir/admin.token for the admin API (0600)

storage: sqlite:data/tessera.db       # embedded default; later: postgres://user:pass@host:5432/db
data_dir: data                        # master key (0600) and bootstrap admin token live here;
                                      # set TESSERA_MASTER_KEY (base64, 32 bytes) to keep the key elsewhere

tokens:
  default_ttl: 5m                     # lifetime when an agent sets no max_ttl
  max_ttl: 1h                         # no token ever lives longer
  max_delegation_depth: 3

# signing_keys:
#   publish_ahead: 1m                 # a rotated key is in JWKS this long before it signs

# vault:
#   retain_previous: 24h              # a rotated secret's old version is kept (encrypted) this long, then destroyed

# audit:
#   checkpoint:                       # a signed checkpoint of the audit chain; export it with
#     every_events: 1000              #   `tessera audit checkpoint export` and keep it elsewhere
#     every: 5m                       # ... and this long after the last one, when events came

# registry:
#   max_agent_lifetime: 365d          # no agent's `expires` may lie further ahead; renew registrations
# rate_limits:                        # only failures count; successful traffic is never limited
#   failed_auth_per_client: 20        # failed client authentications per client id per minute (secrets)
#   failed_auth_per_source: 60        # failed client authentications per source address per minute
#   refusals_per_second: 5            # unauthenticated or malformed requests refused, per source, sustained
#   refusal_burst: 100                # ... and at once
#   max_tracked: 10000                # sources and client ids tracked; beyond, they share one allowance

# Identity providers whose JWTs Tessera accepts (principals, admins, approvers):
# identity_providers:
#   - id: corp
#     issuer: https://idp.corp.example
#     jwks_file: idp.jwks.json        # or jwks_uri: https://idp.corp.example/jwks
#     audience: tessera               # aud of principals' tokens handed to agents for delegation
#     admin_audience: tessera-admin   # aud of admins' and approvers' tokens (the default); never equal to audience
# admins:
#   - { idp: corp, sub: carol }
# approver_groups:
#   - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
# principals:                         # optional ceiling on what a principal may delegate
#   - { idp: corp, sub: alice, scopes: [ "crm:read" ] }

tools:
  - id: crm
    # audience: urn:tessera:tool:crm  # default urn:tessera:tool:<id>
    upstream: http://127.0.0.1:9102   # agents call it through /proxy/crm/...; https beyond loopback
                                      # (plain http elsewhere needs allow_insecure: true)
    credential: { secret: crm-key, header: X-Api-Key }   # injected from the vault: tessera secret put crm-key
    # credential: { secret: gh-token, header: Authorization, format: "Bearer {secret}" }
    # rotate_every: 90d               # `tessera secret list` flags the secret when it is older
    # timeout: 30s                    # upstream answer time before the proxy gives 504
    scopes:
      read:   { rules: [ "GET /contacts/**", "GET /accounts/*" ] }
      export: { rules: [ "POST /exports" ] }
      # with an identity provider and an approver group, ask a human first:
      # export: { rules: [ "POST /exports" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }

  - id: issues                        # an MCP server: governed tool call by tool call (docs/mcp.md)
    protocol: mcp                     # agents speak MCP (Streamable HTTP) to /proxy/issues
    upstream: http://127.0.0.1:9200/mcp   # the server's own MCP endpoint
    credential: { secret: issues-key, header: Authorization, format: "Bearer {secret}" }
    scopes:
      read:  { rules: [ "MCP tools/list", "MCP tools/call search_*", "MCP tools/call get_issue",
                        "MCP resources/list", "MCP resources/read repo://acme/widgets/**" ] }
      write: { rules: [ "MCP tools/call create_issue" ] }
      admin: { rules: [ "MCP tools/call delete_*" ] }

  # A PostgreSQL database: agents get a login of their own per token, dropped when it ends (docs/leases.md).
  # - id: warehouse
  #   protocol: postgres              # POST /credentials/warehouse hands out a lease; nothing is proxied
  #   connection: { host: 127.0.0.1, port: 5432, database: warehouse }
  #   admin_secret: warehouse-admin   # vault secret: connection string of a role that may CREATE ROLE
  #   lease_ttl: 15m                  # never past the token's own expiry
  #   scopes:
  #     read: { grants: [ "GRANT USAGE ON SCHEMA reporting TO {{role}}",
  #                       "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{role}}" ] }

agents:
  - id: support-agent                 # the OAuth client_id
    owner: support-platform@corp.example
    purpose: Answer customer tickets from CRM data
    expires: {EXPIRES}
    auth:
      # SHA-256 of the secret in data/support-agent.secret (created with this file).
      # Make your own: openssl rand -base64 32 | tr -d '\n' | sha256sum
      client_secret_sha256: {HASH}
      # jwks_file: support-agent.jwks.json   # private_key_jwt (RFC 7523)
      # To rotate the secret with overlap, list the old and the new hash, the old one with an expiry:
      # client_secrets: [ { sha256: <old>, expires: 2027-01-31 }, { sha256: <new> } ]
      # No secret at all: a token from your platform's identity provider (Kubernetes, SPIFFE, CI):
      # federated: { idp: k8s, sub: "system:serviceaccount:agents:support" }
    allowed_scopes: [ "crm:read", "crm:export", "issues:read" ]
    max_ttl: 10m
    # may_delegate_to: [ summarizer-agent ]

""";
}
