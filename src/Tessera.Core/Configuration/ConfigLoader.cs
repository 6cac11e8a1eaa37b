using System.Globalization;
using System.Text.RegularExpressions;
using Tessera.Core.Mcp;
using Tessera.Core.Posture;
using Tessera.Core.Tools;
using Microsoft.IdentityModel.Tokens;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tessera.Core.Configuration;

/// <summary>
/// Loads and validates <c>tessera.yaml</c>. Every mistake stops start-up with a
/// <see cref="ConfigException"/> naming the file, the path inside it and what is wrong; what is
/// accepted but weakens security is listed in <see cref="TesseraConfig.Warnings"/>. Agent expiries
/// are checked against <c>time</c> (the system clock when none is given).
/// </summary>
public static partial class ConfigLoader
{
    /// <summary>Upper bound on the configuration file: a config is declarative text, not a data set.</summary>
    private const long MaxConfigBytes = 4 * 1024 * 1024;

    public static TesseraConfig LoadFile(string path, TimeProvider? time = null)
    {
        var full = Path.GetFullPath(path);
        var name = Path.GetFileName(full);
        if (!File.Exists(full))
        {
            throw new ConfigException(name, "", $"file not found: {full}");
        }

        if (new FileInfo(full).Length > MaxConfigBytes)
        {
            throw new ConfigException(name, "", "file is larger than 4 MiB");
        }

        // Read once: the hash is of exactly the bytes that were parsed, so it matches `sha256sum tessera.yaml`.
        var bytes = File.ReadAllBytes(full);
        using var reader = new StreamReader(new MemoryStream(bytes), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Load(reader.ReadToEnd(), name, Path.GetDirectoryName(full)!, full, time) with { Hash = HashOf(bytes) };
    }

    /// <summary>
    /// Where a client command finds the running server when the file no longer loads, as while an
    /// operator's edit awaits <c>tessera reload</c>: <c>server.listen</c> and <c>data_dir</c> read
    /// leniently, the rest ignored, so the command still reaches the server, which judges the file
    /// (and records a refused reload). Null when even those cannot be read.
    /// </summary>
    public static (Uri Listen, string DataDir)? ReadClientSettings(string path)
    {
        try
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full) || new FileInfo(full).Length > MaxConfigBytes)
            {
                return null;
            }

            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(full)));
            if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                return null;
            }

            var server = root.Children.TryGetValue(new YamlScalarNode("server"), out var node) ? node as YamlMappingNode : null;
            var listenText = (server is null ? null : Scalar(server, "listen")) ?? "http://127.0.0.1:8080";
            return Uri.TryCreate(listenText, UriKind.Absolute, out var listen) && listen.Scheme is "http" or "https"
                ? (listen, Path.GetFullPath(Path.Combine(Path.GetDirectoryName(full)!, Scalar(root, "data_dir") ?? "data")))
                : null;
        }
        catch (Exception ex) when (ex is YamlException or IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            return null;
        }

        static string? Scalar(YamlMappingNode mapping, string key) =>
            mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode { Value: { Length: > 0 } text } ? text : null;
    }

    /// <summary>The configuration's hash as reported and audited: <c>sha256:</c> and the lowercase hex SHA-256 of the file's bytes.</summary>
    public static string HashOf(ReadOnlySpan<byte> bytes) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));

    /// <summary>Parses YAML text; relative paths resolve against <paramref name="baseDirectory"/>.</summary>
    public static TesseraConfig Load(string yaml, string fileName, string baseDirectory, string? sourcePath = null, TimeProvider? time = null)
    {
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(yaml));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException ex)
        {
            var (line, column) = ((int)ex.Start.Line, (int)ex.Start.Column);
            // YamlDotNet places a tab-indentation error at the start of the enclosing mapping; the
            // line to fix is the one indented with a tab.
            if (ex.Message.Contains("tab", StringComparison.Ordinal) && IndentingTab(yaml, line) is { } tab)
            {
                (line, column) = tab;
            }

            throw ConfigException.Syntax(fileName, $"not valid YAML: {ex.Message}", line, column);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these instead of a YamlException on some broken text (found by fuzzing: a flow
            // mapping cut by a line break, a NUL after a sequence dash): still a syntax error, placed where its
            // parser stopped.
            var at = parser.Current?.Start ?? Mark.Empty;
            var (line, column) = ((int)at.Line, (int)at.Column);
            throw ConfigException.Syntax(fileName, "not valid YAML: the YAML parser cannot read the text from here on", line, column);
        }

        if (stream.Documents.Count != 1)
        {
            throw new ConfigException(fileName, "", "must hold exactly one YAML document");
        }

        var root = new YamlCursor(fileName, "", stream.Documents[0].RootNode);
        return new Binder(baseDirectory, sourcePath, (time ?? TimeProvider.System).GetUtcNow()).Bind(root) with { Hash = HashOf(System.Text.Encoding.UTF8.GetBytes(yaml)) };
    }

    /// <summary>The first line from <paramref name="fromLine"/> (1-based) whose indentation holds a tab, and the tab's column.</summary>
    private static (int Line, int Column)? IndentingTab(string yaml, int fromLine)
    {
        var lines = yaml.Split('\n');
        for (var i = Math.Max(fromLine - 1, 0); i < lines.Length; i++)
        {
            var indentation = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            var tab = lines[i].IndexOf('\t', 0, indentation);
            if (tab >= 0)
            {
                return (i + 1, tab + 1);
            }
        }

        return null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    internal static partial Regex IdPattern();

    [GeneratedRegex("^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|\\*) (/[^\\s]*)$")]
    internal static partial Regex RulePattern();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    internal static partial Regex Sha256Hex();

    [GeneratedRegex("^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,7})?([Zz]|[+-][0-9]{2}:[0-9]{2})$")]
    internal static partial Regex Rfc3339();

    private sealed partial class Binder(string baseDirectory, string? sourcePath, DateTimeOffset now)
    {
        private readonly List<ConfigWarning> _warnings = [];

        private readonly HashSet<string> _idps = new(StringComparer.Ordinal);

        /// <summary>Identity provider id by issuer: a client assertion is routed by its <c>iss</c>.</summary>
        private readonly Dictionary<string, string> _idpIssuers = new(StringComparer.Ordinal);

        /// <summary>Agent id by federated identity: one (idp, sub) may name one agent only.</summary>
        private readonly Dictionary<PrincipalRef, string> _federated = [];
        private readonly Dictionary<string, ToolOptions> _tools = new(StringComparer.Ordinal);
        private readonly HashSet<string> _groups = new(StringComparer.Ordinal);

        /// <summary>
        /// Audiences a tool may not take, with what already holds each: the issuer (aud = issuer marks a
        /// mission token), identity providers' audiences, other tools'. Compared without a trailing '/'
        /// and ignoring case: near-equal audiences are a mistake, and a relying party may normalize.
        /// </summary>
        private readonly Dictionary<string, string> _audiences = new(StringComparer.OrdinalIgnoreCase);

        public TesseraConfig Bind(YamlCursor root)
        {
            root.OnlyKeys("server", "storage", "cluster", "data_dir", "tokens", "signing_keys", "vault", "dpop", "registry", "rate_limits", "identity_providers", "admins",
                "approver_groups", "principals", "tools", "agents", "posture", "console", "audit", "telemetry");

            var server = BindServer(root.Child("server"));
            _audiences[AudienceKey(server.Issuer)] = "the server's issuer (tokens with aud = issuer are mission tokens)";
            var dataDir = ResolvePath(root.Child("data_dir").OptionalString() ?? "data");
            var storage = BindStorage(root.Child("storage"));
            var cluster = BindCluster(root.Child("cluster"));
            var tokens = BindTokens(root.Child("tokens"));
            var signing = BindSigningKeys(root.Child("signing_keys"));
            var vault = BindVault(root.Child("vault"));
            var dpop = BindDpop(root.Child("dpop"));
            var registry = BindRegistry(root.Child("registry"));
            var rateLimits = BindRateLimits(root.Child("rate_limits"));
            var posture = BindPosture(root.Child("posture"));
            // Every key of audit: is named here and bound by its own method.
            var audit = root.Child("audit");
            if (!audit.IsMissing)
            {
                audit.OnlyKeys("checkpoint", "sinks");
            }

            var auditSinks = BindAuditSinks(audit);
            var checkpoints = BindAuditCheckpoints(audit);
            var telemetry = BindTelemetry(root.Child("telemetry"));
            var idps = root.Child("identity_providers").Items().Select(BindIdp).ToList();
            var admins = root.Child("admins").Items().Select(BindPrincipalRef).ToList();
            // Warn while a credential that never expires stays accepted beside admins who sign in with short-lived tokens.
            if (admins.Count > 0 && server.BootstrapAdminToken)
            {
                _warnings.Add(root.Child("admins").Warning(ConfigWarning.BootstrapTokenBesideAdmins,
                    "identity-provider admins are configured, yet the bootstrap admin token (data_dir/admin.token, which never expires) is still accepted: set server.bootstrap_admin_token: false once an admin has signed in"));
            }
            var groups = root.Child("approver_groups").Items().Select(BindGroup).ToList();
            var console = BindConsole(root.Child("console"), idps);
            var tools = root.Child("tools").Items().Select(BindTool).ToList();
            var principals = root.Child("principals").Items().Select(BindPrincipal).ToList();
            var agentCursors = root.Child("agents").Items().ToList();
            var agentIds = new HashSet<string>(StringComparer.Ordinal);
            var agents = new List<AgentOptions>();
            foreach (var cursor in agentCursors)
            {
                agents.Add(BindAgent(cursor, tokens, registry, agentIds));
            }

            for (var i = 0; i < agents.Count; i++)
            {
                var delegates = agentCursors[i].Child("may_delegate_to");
                var items = delegates.Items().ToList();
                for (var j = 0; j < items.Count; j++)
                {
                    if (!agentIds.Contains(agents[i].MayDelegateTo[j]))
                    {
                        throw items[j].Error($"names no configured agent: '{agents[i].MayDelegateTo[j]}'");
                    }
                }
            }

            var toolCursors = root.Child("tools").Items().ToList();
            for (var i = 0; i < tools.Count; i++)
            {
                if (tools[i].ClientId is { } clientId && !agentIds.Contains(clientId))
                {
                    throw toolCursors[i].Child("client_id").Error($"names no configured agent: '{clientId}'");
                }
            }

            return new TesseraConfig
            {
                SourcePath = sourcePath,
                Server = server,
                Storage = storage,
                Cluster = cluster,
                DataDir = dataDir,
                Tokens = tokens,
                SigningKeys = signing,
                Vault = vault,
                Dpop = dpop,
                Registry = registry,
                RateLimits = rateLimits,
                Posture = posture,
                Console = console,
                AuditSinks = auditSinks,
                AuditCheckpoints = checkpoints,
                Telemetry = telemetry,
                IdentityProviders = idps,
                Admins = admins,
                ApproverGroups = groups,
                Principals = principals,
                Tools = tools,
                Agents = agents,
                Warnings = _warnings,
            };
        }

        private string ResolvePath(string path) => Path.GetFullPath(Path.Combine(baseDirectory, path));

        private static string AudienceKey(string audience) => audience.TrimEnd('/');

        private ServerOptions BindServer(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return new ServerOptions(new Uri("http://127.0.0.1:8080"), "http://127.0.0.1:8080", true);
            }

            c.OnlyKeys("listen", "issuer", "bootstrap_admin_token");
            var listenText = c.Child("listen").OptionalString() ?? "http://127.0.0.1:8080";
            if (!Uri.TryCreate(listenText, UriKind.Absolute, out var listen) || (listen.Scheme != "http" && listen.Scheme != "https"))
            {
                throw c.Child("listen").Error($"'{listenText}' is not an http:// or https:// address");
            }

            // Warn about plain http where other machines can connect: client secrets, tokens and admin
            // requests would cross the network in clear text (a TLS-terminating proxy in front is fine).
            if (listen.Scheme == "http" && !listen.IsLoopback)
            {
                _warnings.Add(c.Child("listen").Warning(ConfigWarning.PlainHttpListen,
                    $"'{listenText}' is plain http beyond loopback: secrets and tokens cross the network in clear text unless a TLS proxy terminates in front"));
            }

            var issuer = c.Child("issuer").OptionalString() ?? listenText;
            if (!Uri.TryCreate(issuer, UriKind.Absolute, out var issuerUri) || (issuerUri.Scheme != "http" && issuerUri.Scheme != "https")
                || !string.IsNullOrEmpty(issuerUri.Query) || !string.IsNullOrEmpty(issuerUri.Fragment))
            {
                throw c.Child("issuer").Error("must be an http(s) URL without query or fragment (RFC 8414 §2)");
            }

            return new ServerOptions(listen, issuer.TrimEnd('/'), c.Child("bootstrap_admin_token").OptionalBool(true));
        }

        private string BindStorage(YamlCursor c)
        {
            var text = c.OptionalString() ?? "sqlite:data/tessera.db";
            if (text.StartsWith("sqlite:", StringComparison.Ordinal))
            {
                var path = text["sqlite:".Length..];
                if (path.Length == 0)
                {
                    throw c.Error("sqlite: needs a file path, for example sqlite:data/tessera.db");
                }

                return "sqlite:" + ResolvePath(path);
            }

            // Error messages never repeat the value: a PostgreSQL location may hold a password.
            if (text.StartsWith("postgres://", StringComparison.Ordinal) || text.StartsWith("postgresql://", StringComparison.Ordinal))
            {
                if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Host.Length == 0 || url.AbsolutePath.Trim('/').Length == 0)
                {
                    throw c.Error("a PostgreSQL URL needs a host and a database: postgres://USER@HOST:PORT/DATABASE (the password is best left to TESSERA_DB_PASSWORD)");
                }

                return text;
            }

            if (text.Contains('=', StringComparison.Ordinal))
            {
                var keywords = new System.Data.Common.DbConnectionStringBuilder();
                try
                {
                    keywords.ConnectionString = text;
                }
                catch (ArgumentException)
                {
                    throw c.Error("is not a PostgreSQL keyword string (Host=HOST;Database=DATABASE;Username=USER)");
                }

                if (!keywords.TryGetValue("host", out var host) && !keywords.TryGetValue("server", out host) || string.IsNullOrEmpty(host as string))
                {
                    throw c.Error("a PostgreSQL keyword string needs Host=...");
                }

                return text;
            }

            throw c.Error("must be sqlite:PATH, a postgres:// URL or a PostgreSQL keyword string (Host=...;Database=...)");
        }

        private static ClusterOptions BindCluster(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return ClusterOptions.Default;
            }

            c.OnlyKeys("node_id", "max_staleness");
            var nodeId = c.Child("node_id").OptionalString() ?? ClusterOptions.DefaultNodeId;
            if (nodeId.Length is 0 or > 63 || !nodeId.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.'))
            {
                throw c.Child("node_id").Error("must be 1 to 63 ASCII letters, digits, '-', '_' or '.'");
            }

            var staleness = c.Child("max_staleness").OptionalDuration(ClusterOptions.DefaultMaxStaleness);
            if (staleness <= TimeSpan.Zero || staleness > TimeSpan.FromMinutes(1))
            {
                throw c.Child("max_staleness").Error("must be between 1s and 1m");
            }

            return new ClusterOptions(nodeId, staleness);
        }

        private static PostureOptions BindPosture(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return PostureOptions.Default;
            }

            c.OnlyKeys("window", "stale_after", "max_ttl", "rotate_secrets_after");
            var defaults = PostureOptions.Default;
            TimeSpan Positive(string key, TimeSpan fallback, TimeSpan ceiling)
            {
                var value = c.Child(key).OptionalDuration(fallback);
                return value > TimeSpan.Zero && value <= ceiling ? value : throw c.Child(key).Error($"must be more than 0 and at most {ceiling.TotalDays:0}d");
            }

            // The window is bounded: usage counters answer "when last", so any window is as cheap as another, but a
            // window over a year would call scopes used that no one has needed for a year.
            return new PostureOptions(
                Positive("window", defaults.Window, TimeSpan.FromDays(366)),
                Positive("stale_after", defaults.StaleAfter, TimeSpan.FromDays(366)),
                Positive("max_ttl", defaults.MaxTtl, TokenOptions.MaxTtlCeiling),
                Positive("rotate_secrets_after", defaults.RotateSecretsAfter, TimeSpan.FromDays(3650)));
        }

        private static TokenOptions BindTokens(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return new TokenOptions(TimeSpan.FromMinutes(5), TimeSpan.FromHours(1), 3);
            }

            c.OnlyKeys("default_ttl", "max_ttl", "max_delegation_depth");
            var def = c.Child("default_ttl").OptionalDuration(TimeSpan.FromMinutes(5));
            var max = c.Child("max_ttl").OptionalDuration(TimeSpan.FromHours(1));
            if (max > TokenOptions.MaxTtlCeiling)
            {
                throw c.Child("max_ttl").Error("must be at most 1d: Tessera issues short-lived credentials");
            }

            if (def > max)
            {
                throw c.Child("default_ttl").Error($"{Durations.Format(def)} is longer than tokens.max_ttl ({Durations.Format(max)})");
            }

            return new TokenOptions(def, max, c.Child("max_delegation_depth").OptionalInt(3, 1, 16));
        }

        private static SigningKeyOptions BindSigningKeys(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return new SigningKeyOptions(TimeSpan.FromMinutes(1));
            }

            c.OnlyKeys("publish_ahead");
            return new SigningKeyOptions(c.Child("publish_ahead").OptionalDuration(TimeSpan.FromMinutes(1)));
        }

        private static AuditCheckpointOptions BindAuditCheckpoints(YamlCursor audit)
        {
            if (audit.IsMissing)
            {
                return AuditCheckpointOptions.Default;
            }

            var c = audit.Child("checkpoint");
            if (c.IsMissing)
            {
                return AuditCheckpointOptions.Default;
            }

            c.OnlyKeys("enabled", "every_events", "every");
            var everyEvents = c.Child("every_events").OptionalInt(AuditCheckpointOptions.DefaultEveryEvents, 1, 1_000_000);

            // Below a second the timer would sign more often than anyone can keep the copies; beyond a
            // day a quiet log's last events would go uncovered for too long.
            var every = c.Child("every").OptionalDuration(AuditCheckpointOptions.DefaultEvery);
            if (every < TimeSpan.FromSeconds(1) || every > TimeSpan.FromDays(1))
            {
                throw c.Child("every").Error("must be between 1s and 24h");
            }

            return new AuditCheckpointOptions(c.Child("enabled").OptionalBool(true), everyEvents, every);
        }

        private static VaultOptions BindVault(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return new VaultOptions(VaultOptions.DefaultRetainPrevious);
            }

            c.OnlyKeys("retain_previous");
            return new VaultOptions(c.Child("retain_previous").OptionalDuration(VaultOptions.DefaultRetainPrevious));
        }

        private static DpopOptions BindDpop(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return new DpopOptions(DpopOptions.DefaultProofMaxAge, false);
            }

            c.OnlyKeys("proof_max_age", "use_nonce");
            var maxAge = c.Child("proof_max_age").OptionalDuration(DpopOptions.DefaultProofMaxAge);
            if (maxAge <= TimeSpan.Zero || maxAge > TimeSpan.FromMinutes(10))
            {
                throw c.Child("proof_max_age").Error("must be between 1s and 10m: a DPoP proof is for one request, now");
            }

            return new DpopOptions(maxAge, c.Child("use_nonce").OptionalBool(false));
        }

        private static RegistryOptions BindRegistry(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return new RegistryOptions(RegistryOptions.DefaultMaxAgentLifetime);
            }

            c.OnlyKeys("max_agent_lifetime");
            var max = c.Child("max_agent_lifetime").OptionalDuration(RegistryOptions.DefaultMaxAgentLifetime);
            if (max < TimeSpan.FromDays(1) || max > RegistryOptions.Ceiling)
            {
                throw c.Child("max_agent_lifetime").Error($"must be between 1d and {Durations.Format(RegistryOptions.Ceiling)}: every registration comes up for review");
            }

            return new RegistryOptions(max);
        }

        private static RateLimitOptions BindRateLimits(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return RateLimitOptions.Default;
            }

            c.OnlyKeys("enabled", "failed_auth_per_client", "failed_auth_per_source", "refusals_per_second", "refusal_burst", "max_tracked", "refusal_delay_ms");
            var d = RateLimitOptions.Default;
            var delay = TimeSpan.FromMilliseconds(c.Child("refusal_delay_ms").OptionalInt((int)d.RefusalDelay.TotalMilliseconds, 0, (int)RateLimitOptions.MaxRefusalDelay.TotalMilliseconds));

            return new RateLimitOptions
            {
                Enabled = c.Child("enabled").OptionalBool(d.Enabled),
                FailedAuthPerClient = c.Child("failed_auth_per_client").OptionalInt(d.FailedAuthPerClient, 1, 1_000_000),
                FailedAuthPerSource = c.Child("failed_auth_per_source").OptionalInt(d.FailedAuthPerSource, 1, 1_000_000),
                RefusalsPerSecond = c.Child("refusals_per_second").OptionalInt(d.RefusalsPerSecond, 1, 1_000_000),
                RefusalBurst = c.Child("refusal_burst").OptionalInt(d.RefusalBurst, 1, 1_000_000),
                MaxTracked = c.Child("max_tracked").OptionalInt(d.MaxTracked, 100, 10_000_000),
                RefusalDelay = delay,
            };
        }

        private static TelemetryOptions? BindTelemetry(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return null;
            }

            c.OnlyKeys("otlp", "service_name", "sample_ratio");
            var otlp = c.Child("otlp");
            if (otlp.IsMissing)
            {
                throw otlp.Error("is required: the collector to export to (endpoint, protocol)");
            }

            otlp.OnlyKeys("endpoint", "protocol");
            var endpointText = otlp.Child("endpoint").RequiredString();
            // Reject anything but a plain http(s) URL: a query or user info would be sent with every
            // export, and credentials written into it would sit in the configuration in clear.
            if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != "http" && endpoint.Scheme != "https")
                || endpoint.Host.Length == 0 || !string.IsNullOrEmpty(endpoint.Query) || !string.IsNullOrEmpty(endpoint.Fragment) || !string.IsNullOrEmpty(endpoint.UserInfo))
            {
                throw otlp.Child("endpoint").Error("must be an absolute http or https URL without user info, query or fragment (http://collector:4318)");
            }

            var protocol = otlp.Child("protocol").OptionalString() switch
            {
                null or "http/protobuf" => TelemetryProtocol.HttpProtobuf,
                "grpc" => TelemetryProtocol.Grpc,
                _ => throw otlp.Child("protocol").Error("must be http/protobuf or grpc"),
            };

            var serviceName = c.Child("service_name").OptionalString() ?? TelemetryOptions.DefaultServiceName;
            if (serviceName.Length > 255 || !serviceName.All(ch => ch is > ' ' and <= '~'))
            {
                throw c.Child("service_name").Error("must be 1 to 255 printable ASCII characters without spaces");
            }

            var ratio = 1.0;
            if (c.Child("sample_ratio").OptionalString() is { } ratioText
                && (!double.TryParse(ratioText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out ratio) || ratio is < 0 or > 1))
            {
                throw c.Child("sample_ratio").Error("must be a number from 0 to 1");
            }

            return new TelemetryOptions(endpoint, protocol, serviceName, ratio);
        }

        private IdentityProviderOptions BindIdp(YamlCursor c)
        {
            c.OnlyKeys("id", "issuer", "jwks_file", "jwks_uri", "audience", "admin_audience", "allow_insecure");
            var id = Id(c.Child("id"));
            if (!_idps.Add(id))
            {
                throw c.Child("id").Error($"duplicate identity provider id '{id}'");
            }

            var issuer = c.Child("issuer").RequiredString();
            // Tokens are matched to their provider by iss: two providers with one issuer would be ambiguous.
            if (!_idpIssuers.TryAdd(issuer, id))
            {
                throw c.Child("issuer").Error($"issuer '{issuer}' is already used by identity provider '{_idpIssuers[issuer]}'");
            }

            var jwksFile = c.Child("jwks_file").OptionalString();
            var jwksUriText = c.Child("jwks_uri").OptionalString();
            if ((jwksFile is null) == (jwksUriText is null))
            {
                throw c.Error("needs exactly one of jwks_file or jwks_uri");
            }

            Uri? jwksUri = null;
            if (jwksUriText is not null && (!Uri.TryCreate(jwksUriText, UriKind.Absolute, out jwksUri) || (jwksUri.Scheme != "https" && jwksUri.Scheme != "http")))
            {
                throw c.Child("jwks_uri").Error("must be an absolute http(s) URL");
            }

            // Reject keys fetched over plain http from another host: whoever sits on the path could
            // hand Tessera their own key and sign any principal's token.
            var allowInsecure = c.Child("allow_insecure").OptionalBool(false);
            if (jwksUri is { Scheme: "http", IsLoopback: false })
            {
                if (!allowInsecure)
                {
                    throw c.Child("jwks_uri").Error(
                        "is plain http to another host: anyone on the path could substitute the keys; use https, or set allow_insecure: true on this identity provider to accept the risk");
                }

                _warnings.Add(c.Child("jwks_uri").Warning(ConfigWarning.InsecureJwksUri,
                    $"keys are fetched over plain http ({jwksUri.GetLeftPart(UriPartial.Authority)}), accepted by allow_insecure: true"));
            }

            string? jwksPath = null;
            if (jwksFile is not null)
            {
                jwksPath = ResolvePath(jwksFile);
                _ = ReadJwks(c.Child("jwks_file"), jwksPath);
            }

            var audience = c.Child("audience").RequiredString();
            var adminAudience = c.Child("admin_audience").OptionalString() ?? IdentityProviderOptions.DefaultAdminAudience;
            // Reject one audience for both uses: a principal's token handed to an agent for delegation would then be an admin or approver credential.
            if (AudienceKey(adminAudience) == AudienceKey(audience))
            {
                throw c.Child(c.Child("admin_audience").OptionalString() is null ? "audience" : "admin_audience")
                    .Error($"admin_audience and audience must differ (both '{audience}'): a token handed to an agent for delegation must never work on the admin API");
            }

            _audiences.TryAdd(AudienceKey(audience), $"the audience of identity provider '{id}'");
            _audiences.TryAdd(AudienceKey(adminAudience), $"the admin_audience of identity provider '{id}'");
            return new IdentityProviderOptions(id, issuer, jwksPath, jwksUri, audience) { AdminAudience = adminAudience, AllowInsecure = allowInsecure };
        }

        private static ConsoleOptions BindConsole(YamlCursor c, IReadOnlyList<IdentityProviderOptions> idps)
        {
            if (c.IsMissing)
            {
                return ConsoleOptions.Default;
            }

            c.OnlyKeys("oidc");
            var oidc = c.Child("oidc");
            if (oidc.IsMissing)
            {
                return ConsoleOptions.Default;
            }

            oidc.OnlyKeys("idp", "client_id", "client_secret_env");
            var idpId = oidc.Child("idp").RequiredString();
            var idp = idps.FirstOrDefault(p => p.Id == idpId) ?? throw oidc.Child("idp").Error($"names no configured identity provider: '{idpId}'");

            // The discovery document, the keys and the token endpoint all come from the issuer: over plain http
            // to another host, whoever sits on the path could sign in as any admin.
            if (!Uri.TryCreate(idp.Issuer, UriKind.Absolute, out var issuer) || issuer.Scheme is not ("https" or "http"))
            {
                throw oidc.Child("idp").Error($"identity provider '{idpId}' has issuer '{idp.Issuer}', which is not an http(s) URL to discover OpenID Connect endpoints from");
            }

            if (issuer is { Scheme: "http", IsLoopback: false } && !idp.AllowInsecure)
            {
                throw oidc.Child("idp").Error(
                    $"identity provider '{idpId}' has a plain http issuer: anyone on the path could sign in as an admin; use https, or set allow_insecure: true on that identity provider to accept the risk");
            }

            var clientId = oidc.Child("client_id").RequiredString();
            var secretEnv = oidc.Child("client_secret_env").RequiredString();
            if (!System.Text.RegularExpressions.Regex.IsMatch(secretEnv, "^[A-Za-z_][A-Za-z0-9_]{0,127}$"))
            {
                throw oidc.Child("client_secret_env").Error($"'{secretEnv}' is not an environment variable name (letters, digits and '_', not starting with a digit)");
            }

            return new ConsoleOptions(new ConsoleOidcOptions(idpId, idp.Issuer, clientId, secretEnv, idp.AllowInsecure));
        }

        private PrincipalRef BindPrincipalRef(YamlCursor c)
        {
            c.OnlyKeys("idp", "sub");
            return ReadPrincipalRef(c);
        }

        private PrincipalRef ReadPrincipalRef(YamlCursor c)
        {
            var idp = c.Child("idp").RequiredString();
            if (!_idps.Contains(idp))
            {
                throw c.Child("idp").Error($"names no configured identity provider: '{idp}'");
            }

            return new PrincipalRef(idp, c.Child("sub").RequiredString());
        }

        private ApproverGroupOptions BindGroup(YamlCursor c)
        {
            c.OnlyKeys("id", "members", "webhooks");
            var id = Id(c.Child("id"));
            if (!_groups.Add(id))
            {
                throw c.Child("id").Error($"duplicate approver group id '{id}'");
            }

            var members = c.Child("members").Items().Select(BindPrincipalRef).ToList();
            if (members.Count == 0)
            {
                throw c.Child("members").Error("needs at least one member");
            }

            var webhooks = c.Child("webhooks").Items().Select(BindWebhook).ToList();
            if (webhooks.Count > ApproverGroupOptions.MaxWebhooks)
            {
                throw c.Child("webhooks").Error($"at most {ApproverGroupOptions.MaxWebhooks} webhooks per group");
            }

            return new ApproverGroupOptions(id, members) { Webhooks = webhooks };
        }

        private static WebhookOptions BindWebhook(YamlCursor c)
        {
            c.OnlyKeys("url", "secret");
            var text = c.Child("url").RequiredString();
            // Reject URLs that would carry approval requests in clear text over a network, or that
            // smuggle credentials in userinfo: plain http only to this machine.
            if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != "https" && url.Scheme != "http")
                || !string.IsNullOrEmpty(url.UserInfo) || !string.IsNullOrEmpty(url.Fragment))
            {
                throw c.Child("url").Error("must be an absolute https URL without user information or fragment");
            }

            if (url.Scheme == "http" && !url.IsLoopback)
            {
                throw c.Child("url").Error("must use https (plain http is accepted only for a loopback address)");
            }

            var secret = c.Child("secret").RequiredString();
            if (!Vault.SecretName.IsValid(secret))
            {
                throw c.Child("secret").Error($"'{secret}' is not a secret name: use {Vault.SecretName.Rule}");
            }

            return new WebhookOptions(url, secret);
        }

        private PrincipalOptions BindPrincipal(YamlCursor c)
        {
            c.OnlyKeys("idp", "sub", "scopes");
            var who = ReadPrincipalRef(c);
            return new PrincipalOptions(who.Idp, who.Sub, Scopes(c.Child("scopes")));
        }

        private ToolOptions BindTool(YamlCursor c)
        {
            c.OnlyKeys("id", "audience", "protocol", "upstream", "allow_insecure", "credential", "require_dpop", "scopes", "client_id", "rotate_every", "timeout",
                "connection", "admin_secret", "lease_ttl");
            var id = Id(c.Child("id"));
            if (_tools.ContainsKey(id))
            {
                throw c.Child("id").Error($"duplicate tool id '{id}'");
            }

            var protocol = c.Child("protocol").OptionalString() switch
            {
                null or "http" => ToolProtocol.Http,
                "mcp" => ToolProtocol.Mcp,
                "postgres" => ToolProtocol.Postgres,
                var other => throw c.Child("protocol").Error($"'{other}' is not a protocol: use http, mcp or postgres"),
            };

            var database = BindDatabase(c, protocol);

            var audience = c.Child("audience").OptionalString() ?? $"urn:tessera:tool:{id}";
            // Reject an audience that names something else: a token for this tool would pass there
            // (aud = issuer would make it a mission token, bypassing approvals; an identity provider's
            // audience would make it look like a principal's token; another tool's would open that tool).
            if (!_audiences.TryAdd(AudienceKey(audience), $"already used by tool '{id}'"))
            {
                var holder = _audiences[AudienceKey(audience)];
                throw c.Child("audience").IsMissing
                    ? c.Child("id").Error($"its audience '{audience}' is {holder}; give the tool an audience of its own")
                    : c.Child("audience").Error($"'{audience}' is {holder}");
            }

            Uri? upstream = null;
            var upstreamText = c.Child("upstream").OptionalString();
            if (upstreamText is not null && (!Uri.TryCreate(upstreamText, UriKind.Absolute, out upstream) || (upstream.Scheme != "http" && upstream.Scheme != "https")))
            {
                throw c.Child("upstream").Error("must be an absolute http(s) URL");
            }

            // Reject plain http to another host: the proxy adds the tool's credential to every request,
            // and it would cross the network in clear text. Loopback (a sidecar, a test upstream) is fine.
            var allowInsecure = c.Child("allow_insecure").OptionalBool(false);
            if (upstream is { Scheme: "http", IsLoopback: false })
            {
                if (!allowInsecure)
                {
                    throw c.Child("upstream").Error(
                        "is plain http to another host: the credential would cross the network in clear text; use https, or set allow_insecure: true on this tool to accept the risk");
                }

                _warnings.Add(c.Child("upstream").Warning(ConfigWarning.InsecureUpstream,
                    $"the credential is sent over plain http to {upstream.GetLeftPart(UriPartial.Authority)}, accepted by allow_insecure: true"));
            }

            ToolCredentialOptions? credential = null;
            var cred = c.Child("credential");
            if (!cred.IsMissing)
            {
                cred.OnlyKeys("secret", "header", "format");
                var format = cred.Child("format").OptionalString();
                if (format is not null && !format.Contains("{secret}", StringComparison.Ordinal))
                {
                    throw cred.Child("format").Error("must contain {secret}");
                }

                var secret = cred.Child("secret").RequiredString();
                if (!Vault.SecretName.IsValid(secret))
                {
                    throw cred.Child("secret").Error($"'{secret}' is not a secret name: use {Vault.SecretName.Rule}");
                }

                var header = cred.Child("header").RequiredString();
                if (!HeaderNamePattern().IsMatch(header) || ReservedHeaders.Contains(header))
                {
                    throw cred.Child("header").Error($"'{header}' cannot carry a credential: use a request header name such as Authorization or X-Api-Key");
                }

                credential = new ToolCredentialOptions(secret, header, format);
            }

            var scopes = new Dictionary<string, ToolScopeOptions>(StringComparer.Ordinal);
            var scopesCursor = c.Child("scopes");
            if (scopesCursor.IsMissing)
            {
                throw scopesCursor.Error("is required: a tool needs at least one scope");
            }

            foreach (var (name, sc) in scopesCursor.Entries())
            {
                if (!ScopeNamePattern().IsMatch(name))
                {
                    throw sc.Error("scope names use lower-case letters, digits and . _ -");
                }

                sc.OnlyKeys("rules", "approval", "grants");
                var grants = BindGrants(sc, protocol);
                var rules = sc.Child("rules").StringList();
                var ruleItems = sc.Child("rules").Items().ToList();
                for (var i = 0; i < rules.Count; i++)
                {
                    if (protocol == ToolProtocol.Mcp)
                    {
                        // An MCP tool is reached by POSTing JSON-RPC to one URL: a path rule could not tell its tools apart.
                        if (McpRule.Parse(rules[i], out var problem) is null)
                        {
                            throw ruleItems[i].Error(McpRule.IsMcpRule(rules[i])
                                ? $"'{rules[i]}' is not an MCP rule: {problem}"
                                : $"'{rules[i]}' is not an MCP rule; a tool with protocol: mcp takes rules written MCP <method> [<pattern>]");
                        }

                        continue;
                    }

                    if (!RulePattern().IsMatch(rules[i]))
                    {
                        throw ruleItems[i].Error(McpRule.IsMcpRule(rules[i])
                            ? $"'{rules[i]}' is an MCP rule; give the tool protocol: mcp, or write METHOD /path"
                            : $"'{rules[i]}' is not a rule; write METHOD /path with * for one segment and ** for any");
                    }

                    if (rules[i] == "* /**")
                    {
                        _warnings.Add(ruleItems[i].Warning(ConfigWarning.AllowsEverything,
                            $"'* /**' allows every method on every path of tool '{id}': the scope is as wide as the credential itself"));
                    }
                }

                ApprovalPolicyOptions? approval = null;
                var ap = sc.Child("approval");
                if (!ap.IsMissing)
                {
                    ap.OnlyKeys("group", "ttl", "max_uses");
                    var group = ap.Child("group").RequiredString();
                    if (!_groups.Contains(group))
                    {
                        throw ap.Child("group").Error($"names no configured approver group: '{group}'");
                    }

                    approval = new ApprovalPolicyOptions(group, ap.Child("ttl").OptionalDuration(TimeSpan.FromMinutes(2)), ap.Child("max_uses").OptionalInt(1, 1, 1000));
                }

                scopes[name] = new ToolScopeOptions(rules, approval, grants);
            }

            if (scopes.Count == 0)
            {
                throw scopesCursor.Error("needs at least one scope");
            }

            var tool = new ToolOptions
            {
                Id = id,
                Audience = audience,
                Protocol = protocol,
                Upstream = upstream,
                AllowInsecure = allowInsecure,
                Credential = credential,
                RequireDpop = c.Child("require_dpop").OptionalBool(false),
                RotateEvery = c.Child("rotate_every").IsMissing ? null : c.Child("rotate_every").OptionalDuration(TimeSpan.Zero),
                Timeout = c.Child("timeout").OptionalDuration(ToolOptions.DefaultTimeout),
                ClientId = c.Child("client_id").OptionalString(),
                Scopes = scopes,
                Connection = database?.Connection,
                AdminSecret = database?.AdminSecret,
                LeaseTtl = database?.LeaseTtl ?? ToolOptions.DefaultLeaseTtl,
            };
            _tools[id] = tool;
            return tool;
        }

        /// <summary>
        /// The database part of a <c>protocol: postgres</c> tool (where agents connect, the admin
        /// secret, the lease lifetime), or null for any other tool, which may not carry it.
        /// </summary>
        private static (DatabaseConnectionOptions Connection, string AdminSecret, TimeSpan LeaseTtl)? BindDatabase(YamlCursor c, ToolProtocol protocol)
        {
            if (protocol != ToolProtocol.Postgres)
            {
                foreach (var key in new[] { "connection", "admin_secret", "lease_ttl" })
                {
                    if (!c.Child(key).IsMissing)
                    {
                        throw c.Child(key).Error("belongs to a database tool: give the tool protocol: postgres, or remove it");
                    }
                }

                return null;
            }

            // Reject what a database tool never uses: nothing is proxied to it, and no credential is injected.
            foreach (var key in new[] { "upstream", "credential", "allow_insecure", "timeout" })
            {
                if (!c.Child(key).IsMissing)
                {
                    throw c.Child(key).Error("does not apply to a tool with protocol: postgres: agents connect to the database themselves, with a lease");
                }
            }

            var conn = c.Child("connection");
            if (conn.IsMissing)
            {
                throw conn.Error("is required for a tool with protocol: postgres: write { host, port, database }, the address agents connect to");
            }

            conn.OnlyKeys("host", "port", "database");
            var host = conn.Child("host").RequiredString();
            if (host.Length > 255 || host.Any(ch => char.IsWhiteSpace(ch) || char.IsControl(ch)))
            {
                throw conn.Child("host").Error($"'{host}' is not a host name or address");
            }

            var port = conn.Child("port").OptionalInt(5432, 1, 65535);
            var databaseName = conn.Child("database").RequiredString();
            if (databaseName.Length > 63 || databaseName.Any(char.IsControl))
            {
                throw conn.Child("database").Error("must be a PostgreSQL database name (at most 63 bytes, no control characters)");
            }

            var adminSecret = c.Child("admin_secret").IsMissing
                ? throw c.Child("admin_secret").Error("is required for a tool with protocol: postgres: the vault secret holding the connection string of a role that may CREATE ROLE")
                : c.Child("admin_secret").RequiredString();
            if (!Vault.SecretName.IsValid(adminSecret))
            {
                throw c.Child("admin_secret").Error($"'{adminSecret}' is not a secret name: use {Vault.SecretName.Rule}");
            }

            var ttl = c.Child("lease_ttl").OptionalDuration(ToolOptions.DefaultLeaseTtl);
            if (ttl < TimeSpan.FromMinutes(1) || ttl > TimeSpan.FromDays(1))
            {
                throw c.Child("lease_ttl").Error("must be between 1m and 24h: a lease never outlives its token, and a token lives at most a day");
            }

            return (new DatabaseConnectionOptions(host, port, databaseName), adminSecret, ttl);
        }

        /// <summary>
        /// The grants of one scope of a database tool: each one SQL statement naming the lease's role
        /// as <c>{{role}}</c>, the only substitution Tessera makes (quoted as an identifier); empty for
        /// any other tool, whose scopes may not carry grants.
        /// </summary>
        private static IReadOnlyList<string> BindGrants(YamlCursor sc, ToolProtocol protocol)
        {
            var cursor = sc.Child("grants");
            if (protocol != ToolProtocol.Postgres)
            {
                return cursor.IsMissing ? [] : throw cursor.Error("belongs to a database tool (protocol: postgres); an HTTP or MCP scope takes rules");
            }

            if (!sc.Child("rules").IsMissing)
            {
                throw sc.Child("rules").Error("a database tool's scope takes grants, not rules: nothing is proxied to it");
            }

            var grants = cursor.StringList();
            if (grants.Count == 0)
            {
                throw cursor.Error("is required: a database scope holds at least one grant, e.g. GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{role}}");
            }

            var items = cursor.Items().ToList();
            for (var i = 0; i < grants.Count; i++)
            {
                if (Leases.LeaseGrants.Check(grants[i]) is { } problem)
                {
                    throw items[i].Error(problem);
                }
            }

            return grants;
        }

        private AgentOptions BindAgent(YamlCursor c, TokenOptions tokens, RegistryOptions registry, HashSet<string> agentIds)
        {
            c.OnlyKeys("id", "owner", "purpose", "expires", "auth", "allowed_scopes", "max_ttl", "may_delegate_to", "require_dpop");
            var id = Id(c.Child("id"));
            if (!agentIds.Add(id))
            {
                throw c.Child("id").Error($"duplicate agent id '{id}'");
            }

            // A client assertion whose iss is a provider's issuer is federated; one whose iss is an agent id
            // is private_key_jwt. The two must never be the same string.
            if (_idpIssuers.TryGetValue(id, out var idp))
            {
                throw c.Child("id").Error($"'{id}' is also the issuer of identity provider '{idp}'; a client assertion could not tell them apart");
            }

            var owner = c.Child("owner").RequiredString();
            var purpose = c.Child("purpose").RequiredString();
            var expires = ParseExpiry(c.Child("expires"));
            // Reject registrations for decades: an agent must come up for review, and its owner with it.
            if (expires - now > registry.MaxAgentLifetime)
            {
                throw c.Child("expires").Error(
                    $"{c.Child("expires").RequiredString()} is more than {Durations.Format(registry.MaxAgentLifetime)} from now (registry.max_agent_lifetime); register the agent for less and renew it");
            }

            if (expires - now > RegistryOptions.DefaultMaxAgentLifetime)
            {
                _warnings.Add(c.Child("expires").Warning(ConfigWarning.LongLivedAgent,
                    $"agent '{id}' is registered until {c.Child("expires").RequiredString()}, more than a year from now"));
            }

            var auth = BindAuth(c.Child("auth"));
            if (auth.Federated is { } federated && !_federated.TryAdd(federated, id))
            {
                throw c.Child("auth").Child("federated").Error(
                    $"idp '{federated.Idp}' sub '{federated.Sub}' already identifies agent '{_federated[federated]}'; a federated identity names one agent");
            }

            TimeSpan? maxTtl = c.Child("max_ttl").IsMissing ? null : c.Child("max_ttl").OptionalDuration(tokens.DefaultTtl);
            return new AgentOptions
            {
                Id = id,
                Owner = owner,
                Purpose = purpose,
                Expires = expires,
                Auth = auth,
                AllowedScopes = Scopes(c.Child("allowed_scopes")),
                MaxTtl = maxTtl,
                MayDelegateTo = c.Child("may_delegate_to").StringList(),
                RequireDpop = c.Child("require_dpop").OptionalBool(false),
            };
        }

        private AgentAuthOptions BindAuth(YamlCursor c)
        {
            if (c.IsMissing)
            {
                throw c.Error("is required: give client_secret_sha256, client_secrets, jwks_file, jwks or federated");
            }

            c.OnlyKeys("client_secret_sha256", "client_secrets", "jwks_file", "jwks", "federated");
            byte[]? hash = null;
            var hex = c.Child("client_secret_sha256").OptionalString();
            if (hex is not null)
            {
                if (!Sha256Hex().IsMatch(hex))
                {
                    throw c.Child("client_secret_sha256").Error("must be 64 hex digits (the SHA-256 of the secret)");
                }

                hash = Convert.FromHexString(hex);
            }

            var secrets = BindClientSecrets(c.Child("client_secrets"), hash);

            string? jwks = null;
            var jwksFile = c.Child("jwks_file").OptionalString();
            if (jwksFile is not null)
            {
                jwks = ReadJwks(c.Child("jwks_file"), ResolvePath(jwksFile));
            }

            var inline = c.Child("jwks");
            if (!inline.IsMissing)
            {
                if (jwks is not null)
                {
                    throw inline.Error("give jwks_file or jwks, not both");
                }

                jwks = ParseJwks(inline, YamlToJson.Convert(inline));
            }

            PrincipalRef? federated = null;
            if (!c.Child("federated").IsMissing)
            {
                federated = BindPrincipalRef(c.Child("federated"));
            }

            if (hash is null && secrets.Count == 0 && jwks is null && federated is null)
            {
                throw c.Error("needs at least one of client_secret_sha256, client_secrets, jwks_file, jwks or federated");
            }

            return new AgentAuthOptions { ClientSecretSha256 = hash, ClientSecrets = secrets, JwksJson = jwks, Federated = federated };
        }

        /// <summary><c>client_secrets: [ { sha256, expires } ]</c>: several secrets at once, to rotate with overlap.</summary>
        private static List<ClientSecretOptions> BindClientSecrets(YamlCursor c, byte[]? single)
        {
            var secrets = new List<ClientSecretOptions>();
            var items = c.Items().ToList();
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                item.OnlyKeys("sha256", "expires");
                var sha = item.Child("sha256");
                var hex = sha.RequiredString();
                if (!Sha256Hex().IsMatch(hex))
                {
                    throw sha.Error("must be 64 hex digits (the SHA-256 of the secret)");
                }

                var hash = Convert.FromHexString(hex);
                // The same secret twice is a copy-paste slip, and would hide which entry's expiry applies.
                if (single is not null && hash.AsSpan().SequenceEqual(single))
                {
                    throw sha.Error("is the same hash as client_secret_sha256");
                }

                var twin = secrets.FindIndex(s => s.Sha256.AsSpan().SequenceEqual(hash));
                if (twin >= 0)
                {
                    throw sha.Error($"is the same hash as client_secrets[{twin}]");
                }

                if (secrets.Count + (single is null ? 0 : 1) >= AgentAuthOptions.MaxClientSecrets)
                {
                    throw item.Error($"an agent has at most {AgentAuthOptions.MaxClientSecrets} client secrets (client_secret_sha256 included); remove the retired ones");
                }

                var expires = item.Child("expires");
                secrets.Add(new ClientSecretOptions(hash, expires.IsMissing ? null : ParseExpiry(expires)));
            }

            return secrets;
        }

        private static string ReadJwks(YamlCursor c, string path)
        {
            if (!File.Exists(path))
            {
                throw c.Error($"file not found: {path}");
            }

            return ParseJwks(c, File.ReadAllText(path));
        }

        private static string ParseJwks(YamlCursor c, string json)
        {
            JsonWebKeySet set;
            try
            {
                set = new JsonWebKeySet(json);
            }
            catch (Exception ex) when (ex is ArgumentException or System.Text.Json.JsonException)
            {
                throw c.Error("is not a JSON Web Key Set");
            }

            if (set.Keys.Count == 0)
            {
                throw c.Error("holds no keys");
            }

            foreach (var key in set.Keys)
            {
                if (key.HasPrivateKey)
                {
                    throw c.Error($"key '{key.Kid}' includes private key material; publish only public keys");
                }

                if (key.Kty is not ("EC" or "RSA" or "OKP"))
                {
                    throw c.Error($"key '{key.Kid}' has kty '{key.Kty}'; only asymmetric keys (EC, RSA) are accepted");
                }
            }

            return json;
        }

        private List<string> Scopes(YamlCursor c)
        {
            var items = c.Items().ToList();
            var scopes = new List<string>();
            foreach (var item in items)
            {
                var scope = item.RequiredString();
                var colon = scope.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0 || colon == scope.Length - 1)
                {
                    throw item.Error($"'{scope}' is not a scope; write <tool>:<scope>");
                }

                var tool = scope[..colon];
                if (!_tools.TryGetValue(tool, out var t))
                {
                    throw item.Error($"'{scope}' names no configured tool '{tool}'");
                }

                if (!t.Scopes.ContainsKey(scope[(colon + 1)..]))
                {
                    throw item.Error($"'{scope}': tool '{tool}' has no scope '{scope[(colon + 1)..]}'");
                }

                scopes.Add(scope);
            }

            return scopes;
        }

        private static string Id(YamlCursor c)
        {
            var id = c.RequiredString();
            return IdPattern().IsMatch(id) ? id : throw c.Error($"'{id}' is not a valid id; use lower-case letters, digits and . _ - (at most 64)");
        }

        private static DateTimeOffset ParseExpiry(YamlCursor c)
        {
            var text = c.RequiredString();
            // A bare date means the start of that day in UTC: an agent is never valid longer than written.
            if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                return new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            }

            // Only a full RFC 3339 time with its offset: a lenient parse would take "12:00" or "June 30"
            // as today or this year by the system clock, an expiry that moves with every restart.
            return Rfc3339().IsMatch(text)
                && DateTimeOffset.TryParse(text.ToUpperInvariant(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var value)
                ? value.ToUniversalTime()
                : throw c.Error($"'{text}' is not a date; write YYYY-MM-DD or an RFC 3339 time");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex ScopeNamePattern();

    /// <summary>An RFC 9110 field name (token characters).</summary>
    [GeneratedRegex("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")]
    private static partial Regex HeaderNamePattern();

    /// <summary>Headers that frame or route the request; injecting a credential into one would break or redirect it.</summary>
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection", "Keep-Alive", "TE", "Trailer", "Upgrade",
        "Proxy-Connection", "Expect", "DPoP", "Cookie", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
    };
}
