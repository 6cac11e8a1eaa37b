using Tessera.Core.Tools;

namespace Tessera.Core.Configuration;

/// <summary>The validated contents of <c>tessera.yaml</c>. Paths are already absolute.</summary>
public sealed record TesseraConfig
{
    /// <summary>The file this configuration was loaded from (absolute), or null when built in code.</summary>
    public string? SourcePath { get; init; }

    /// <summary>
    /// <c>sha256:</c> and the hex SHA-256 of the text it was loaded from (of the file's bytes when read
    /// from a file): what <c>/readyz</c>, <c>/admin/v1/status</c> and the <c>config.reloaded</c> events
    /// report, so an operator can see that every node runs the same file. Empty when built in code.
    /// </summary>
    public string Hash { get; init; } = "";

    public required ServerOptions Server { get; init; }

    /// <summary>
    /// Storage location: <c>sqlite:/abs/path/tessera.db</c>, a <c>postgres://</c> URL or an Npgsql
    /// keyword string (as written; it may hold a password, so it is never logged).
    /// </summary>
    public required string Storage { get; init; }

    /// <summary>This process as a node of an installation (several nodes share one PostgreSQL database).</summary>
    public ClusterOptions Cluster { get; init; } = ClusterOptions.Default;

    /// <summary>Absolute directory for the master key file and the bootstrap admin token.</summary>
    public required string DataDir { get; init; }

    public required TokenOptions Tokens { get; init; }

    public required SigningKeyOptions SigningKeys { get; init; }

    public VaultOptions Vault { get; init; } = new(VaultOptions.DefaultRetainPrevious);

    public DpopOptions Dpop { get; init; } = new(DpopOptions.DefaultProofMaxAge, false);

    public RateLimitOptions RateLimits { get; init; } = RateLimitOptions.Default;

    /// <summary>When the audit log cuts signed checkpoints (<c>audit.checkpoint:</c>).</summary>
    public AuditCheckpointOptions AuditCheckpoints { get; init; } = AuditCheckpointOptions.Default;
    /// <summary>OpenTelemetry export (<c>telemetry:</c>); null when it is not configured, and then nothing is traced.</summary>
    public TelemetryOptions? Telemetry { get; init; }

    /// <summary>The thresholds of the posture report (<c>posture:</c>).</summary>
    public Posture.PostureOptions Posture { get; init; } = Core.Posture.PostureOptions.Default;

    /// <summary>The web console's sign-in (<c>console:</c>).</summary>
    public ConsoleOptions Console { get; init; } = ConsoleOptions.Default;
    /// <summary>Where committed audit events are streamed as JSON Lines (<c>audit.sinks</c>); none by default.</summary>
    public IReadOnlyList<AuditSinkOptions> AuditSinks { get; init; } = [];

    public IReadOnlyList<IdentityProviderOptions> IdentityProviders { get; init; } = [];

    public IReadOnlyList<PrincipalRef> Admins { get; init; } = [];

    public IReadOnlyList<ApproverGroupOptions> ApproverGroups { get; init; } = [];

    public IReadOnlyList<PrincipalOptions> Principals { get; init; } = [];

    public IReadOnlyList<ToolOptions> Tools { get; init; } = [];

    public IReadOnlyList<AgentOptions> Agents { get; init; } = [];

    public RegistryOptions Registry { get; init; } = new(RegistryOptions.DefaultMaxAgentLifetime);

    /// <summary>What was accepted but weakens security (plain http beyond loopback, a rule allowing everything, ...); logged at start.</summary>
    public IReadOnlyList<ConfigWarning> Warnings { get; init; } = [];
}

/// <summary>
/// Rules for the agent registry: no agent may be registered for longer than
/// <see cref="MaxAgentLifetime"/> from the moment the configuration is loaded, so every registration
/// comes up for review.
/// </summary>
public sealed record RegistryOptions(TimeSpan MaxAgentLifetime)
{
    public static readonly TimeSpan DefaultMaxAgentLifetime = TimeSpan.FromDays(365);

    /// <summary>Beyond a year a registration draws a warning at start; beyond ten years it is refused outright.</summary>
    public static readonly TimeSpan Ceiling = TimeSpan.FromDays(3650);
}

public sealed record ServerOptions(Uri Listen, string Issuer, bool BootstrapAdminToken);

public sealed record TokenOptions(TimeSpan DefaultTtl, TimeSpan MaxTtl, int MaxDelegationDepth)
{
    /// <summary>
    /// The largest <see cref="MaxTtl"/> the configuration accepts. No token Tessera ever issued, under
    /// any configuration, lives longer (plus clock skew); a revocation of tokens whose expiry is
    /// unknown is kept that long, so raising <c>max_ttl</c> later cannot bring a revoked token back.
    /// </summary>
    public static readonly TimeSpan MaxTtlCeiling = TimeSpan.FromDays(1);
}

/// <summary>How long a new signing key is published in JWKS before it signs anything.</summary>
public sealed record SigningKeyOptions(TimeSpan PublishAhead);

/// <summary>A trusted issuer of principals' JWTs. <c>Audience</c> is the <c>aud</c> of tokens presented for delegation (subject tokens).</summary>
public sealed record IdentityProviderOptions(string Id, string Issuer, string? JwksFile, Uri? JwksUri, string Audience)
{
    public const string DefaultAdminAudience = "tessera-admin";

    /// <summary>
    /// The <c>aud</c> of tokens used on the admin API and to decide approvals. Never equal to
    /// <see cref="Audience"/>: a token a principal hands an agent for delegation must never work there.
    /// </summary>
    public string AdminAudience { get; init; } = DefaultAdminAudience;

    /// <summary><c>allow_insecure: true</c>: the operator accepted fetching <see cref="JwksUri"/> over plain http.</summary>
    public bool AllowInsecure { get; init; }
}

/// <summary>A principal as named by an identity provider: the provider id and the token's <c>sub</c>.</summary>
public sealed record PrincipalRef(string Idp, string Sub);

public sealed record ApproverGroupOptions(string Id, IReadOnlyList<PrincipalRef> Members)
{
    public const int MaxWebhooks = 8;

    /// <summary>Where each new request for this group is announced (signed POST); empty when nobody is notified.</summary>
    public IReadOnlyList<WebhookOptions> Webhooks { get; init; } = [];
}

/// <summary>
/// A receiver of approval notifications: its URL (which may itself be a credential, as chat
/// webhooks are, so it is never logged whole) and the vault secret that keys its HMAC signature.
/// </summary>
public sealed record WebhookOptions(Uri Url, string Secret)
{
    /// <summary>What logs and the audit log name it by: scheme, host and port, never path or query.</summary>
    public string Display => Url.GetLeftPart(UriPartial.Authority);
}

public sealed record PrincipalOptions(string Idp, string Sub, IReadOnlyList<string> Scopes);

public sealed record ToolOptions
{
    public required string Id { get; init; }
    public required string Audience { get; init; }
    public Uri? Upstream { get; init; }

    /// <summary><c>protocol</c>: <c>http</c> (the default) or <c>mcp</c>, an MCP server's Streamable HTTP endpoint governed message by message.</summary>
    public ToolProtocol Protocol { get; init; } = ToolProtocol.Http;

    /// <summary><c>allow_insecure: true</c>: the operator accepted sending the credential to <see cref="Upstream"/> over plain http.</summary>
    public bool AllowInsecure { get; init; }

    public ToolCredentialOptions? Credential { get; init; }
    public bool RequireDpop { get; init; }

    /// <summary>How often the tool's credential should be rotated; <c>tessera secret list</c> flags it when overdue.</summary>
    public TimeSpan? RotateEvery { get; init; }

    /// <summary>How long the proxy waits for the upstream (connect, headers, each body read) before answering 504.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The agent id the tool itself authenticates as, to introspect tokens addressed to it.</summary>
    public string? ClientId { get; init; }
    public required IReadOnlyDictionary<string, ToolScopeOptions> Scopes { get; init; }

    /// <summary><c>connection</c> of a <c>protocol: postgres</c> tool: where the agent connects with its lease; null for any other tool.</summary>
    public DatabaseConnectionOptions? Connection { get; init; }

    /// <summary><c>admin_secret</c> of a <c>protocol: postgres</c> tool: the vault secret holding the connection string of a role that may create roles.</summary>
    public string? AdminSecret { get; init; }

    /// <summary><c>lease_ttl</c>: how long a lease lives at most (never past the token it was issued for).</summary>
    public TimeSpan LeaseTtl { get; init; } = DefaultLeaseTtl;

    public static readonly TimeSpan DefaultLeaseTtl = TimeSpan.FromMinutes(15);
}

/// <summary>The address an agent is given with its database lease (<c>connection: { host, port, database }</c>).</summary>
public sealed record DatabaseConnectionOptions(string Host, int Port, string Database);

public sealed record ToolCredentialOptions(string Secret, string Header, string? Format);

/// <param name="Rules">The proxy rules of an HTTP or MCP tool's scope; empty for a database tool.</param>
/// <param name="Approval">Who must approve a token carrying this scope, or null.</param>
/// <param name="Grants">The statements a database tool's lease runs for this scope, with <c>{{role}}</c> for the lease's role; empty for other tools.</param>
public sealed record ToolScopeOptions(IReadOnlyList<string> Rules, ApprovalPolicyOptions? Approval, IReadOnlyList<string>? Grants = null)
{
    public IReadOnlyList<string> Grants { get; init; } = Grants ?? [];
}

public sealed record ApprovalPolicyOptions(string Group, TimeSpan Ttl, int MaxUses);

public sealed record AgentOptions
{
    public required string Id { get; init; }
    public required string Owner { get; init; }
    public required string Purpose { get; init; }
    public required DateTimeOffset Expires { get; init; }
    public required AgentAuthOptions Auth { get; init; }
    public IReadOnlyList<string> AllowedScopes { get; init; } = [];
    public TimeSpan? MaxTtl { get; init; }
    public IReadOnlyList<string> MayDelegateTo { get; init; } = [];

    /// <summary>Every token this agent gets is DPoP-bound: requests without a proof are refused.</summary>
    public bool RequireDpop { get; init; }
}

/// <summary>How an agent authenticates. At least one method is configured.</summary>
public sealed record AgentAuthOptions
{
    /// <summary>SHA-256 of the client secret (32 bytes), or null.</summary>
    public byte[]? ClientSecretSha256 { get; init; }

    /// <summary>The agent's public keys as a JWKS JSON document, for <c>private_key_jwt</c>.</summary>
    public string? JwksJson { get; init; }

    /// <summary>
    /// Further client secret hashes (<c>client_secrets</c>), each with an optional expiry, so a secret
    /// can be rotated with overlap. Together with <see cref="ClientSecretSha256"/> at most
    /// <see cref="MaxClientSecrets"/>.
    /// </summary>
    public IReadOnlyList<ClientSecretOptions> ClientSecrets { get; init; } = [];

    /// <summary>
    /// A client identified by a trusted identity provider's token (<c>federated: { idp, sub }</c>):
    /// it authenticates with an assertion that provider issued, and no secret is stored for it.
    /// </summary>
    public PrincipalRef? Federated { get; init; }

    /// <summary>Every secret is compared on every attempt; the bound keeps that cost fixed and small.</summary>
    public const int MaxClientSecrets = 4;
}

/// <summary>One entry of <c>auth.client_secrets</c>: a SHA-256 (32 bytes) and when it stops working, if ever.</summary>
public sealed record ClientSecretOptions(byte[] Sha256, DateTimeOffset? Expires);

/// <summary>How long a secret's previous version is kept (encrypted) after a rotation before it is destroyed.</summary>
public sealed record VaultOptions(TimeSpan RetainPrevious)
{
    public static readonly TimeSpan DefaultRetainPrevious = TimeSpan.FromHours(24);
}

/// <summary>
/// DPoP (RFC 9449): how old a proof's <c>iat</c> may be (plus 60 s of clock skew),
/// and whether the server demands nonces (off by default).
/// </summary>
public sealed record DpopOptions(TimeSpan ProofMaxAge, bool UseNonce)
{
    public static readonly TimeSpan DefaultProofMaxAge = TimeSpan.FromSeconds(60);
}
