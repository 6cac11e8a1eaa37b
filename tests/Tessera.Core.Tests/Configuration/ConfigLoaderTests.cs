using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Tests.Configuration;

public sealed class ConfigLoaderTests : IDisposable
{
    private const string FileName = "tessera.yaml";
    /// <summary>The loader's "now": agent expiries are checked against it.</summary>
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private const string SecretHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    private static readonly string ValidYaml = $$"""
        server:
          listen: http://127.0.0.1:8080
          bootstrap_admin_token: false
        storage: sqlite:db/tessera.db
        data_dir: state
        tokens:
          default_ttl: 5m
          max_ttl: 1h
          max_delegation_depth: 3
        identity_providers:
          - id: corp
            issuer: https://idp.corp.example
            jwks_file: keys/idp.jwks.json
            audience: tessera
        admins:
          - { idp: corp, sub: carol }
        approver_groups:
          - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
        principals:
          - { idp: corp, sub: alice, scopes: [ "crm:read", "crm:export" ] }
        tools:
          - id: crm
            upstream: http://127.0.0.1:9102
            credential: { secret: crm-key, header: X-Api-Key }
            scopes:
              read:   { rules: [ "GET /contacts/**", "GET /accounts/*" ] }
              export: { rules: [ "POST /exports" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
          - id: github
            audience: https://api.github.com
            credential: { secret: gh-token, header: Authorization, format: "Bearer {secret}" }
            scopes:
              repo.read: { rules: [ "GET /repos/**" ] }
        agents:
          - id: support-agent
            owner: support-platform@corp.example
            purpose: Answer customer tickets from CRM data
            expires: 2027-06-30
            auth:
              client_secret_sha256: {{SecretHash}}
            allowed_scopes: [ "crm:read", "crm:export" ]
            max_ttl: 10m
            may_delegate_to: [ summarizer-agent ]
          - id: summarizer-agent
            owner: ml-platform@corp.example
            purpose: Summarize ticket threads
            expires: 2027-01-01T12:00:00Z
            auth:
              jwks_file: keys/summarizer.jwks.json
            allowed_scopes: [ "crm:read", "github:repo.read" ]
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-config-").FullName;
    private readonly string _idpJwks;
    private readonly string _agentJwks;

    public ConfigLoaderTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        _idpJwks = PublicJwks("idp-1");
        _agentJwks = PublicJwks("agent-1");
        File.WriteAllText(Path.Combine(_dir, "keys", "idp.jwks.json"), _idpJwks);
        File.WriteAllText(Path.Combine(_dir, "keys", "summarizer.jwks.json"), _agentJwks);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_full_valid_configuration_loads()
    {
        var config = Load(ValidYaml);

        Assert.Equal(new Uri("http://127.0.0.1:8080"), config.Server.Listen);
        Assert.Equal("http://127.0.0.1:8080", config.Server.Issuer);
        Assert.Equal(new TokenOptions(TimeSpan.FromMinutes(5), TimeSpan.FromHours(1), 3), config.Tokens);
        Assert.Equal([new PrincipalRef("corp", "carol")], config.Admins);
        Assert.Equal("security-oncall", Assert.Single(config.ApproverGroups).Id);
        Assert.Equal(["crm:read", "crm:export"], Assert.Single(config.Principals).Scopes);

        Assert.Equal(["crm", "github"], config.Tools.Select(t => t.Id));
        var crm = config.Tools[0];
        Assert.Equal("urn:tessera:tool:crm", crm.Audience);
        Assert.Equal(new ApprovalPolicyOptions("security-oncall", TimeSpan.FromMinutes(2), 1), crm.Scopes["export"].Approval);
        Assert.Null(crm.Scopes["read"].Approval);
        Assert.Equal(["GET /contacts/**", "GET /accounts/*"], crm.Scopes["read"].Rules);
        Assert.Equal("https://api.github.com", config.Tools[1].Audience);
        Assert.Equal("Bearer {secret}", config.Tools[1].Credential!.Format);

        var support = config.Agents[0];
        Assert.Equal("support-platform@corp.example", support.Owner);
        Assert.Equal(new DateTimeOffset(2027, 6, 30, 0, 0, 0, TimeSpan.Zero), support.Expires);
        Assert.Equal(Convert.FromHexString(SecretHash), support.Auth.ClientSecretSha256);
        Assert.Equal(TimeSpan.FromMinutes(10), support.MaxTtl);
        Assert.Equal(["summarizer-agent"], support.MayDelegateTo);

        var summarizer = config.Agents[1];
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 12, 0, 0, TimeSpan.Zero), summarizer.Expires);
        Assert.Null(summarizer.MaxTtl);
        Assert.Equal(["crm:read", "github:repo.read"], summarizer.AllowedScopes);
    }

    [Fact]
    public void Relative_paths_resolve_against_the_configuration_directory()
    {
        var config = Load(ValidYaml);

        Assert.Equal(Path.Combine(_dir, "state"), config.DataDir);
        Assert.Equal("sqlite:" + Path.Combine(_dir, "db", "tessera.db"), config.Storage);
        Assert.Equal(Path.Combine(_dir, "keys", "idp.jwks.json"), config.IdentityProviders[0].JwksFile);
        Assert.Equal(_agentJwks, config.Agents[1].Auth.JwksJson);
    }

    [Fact]
    public void LoadFile_resolves_paths_against_the_file_not_the_working_directory()
    {
        var path = Path.Combine(_dir, FileName);
        File.WriteAllText(path, ValidYaml);

        var config = ConfigLoader.LoadFile(path);

        Assert.Equal(path, config.SourcePath);
        Assert.Equal(Path.Combine(_dir, "state"), config.DataDir);
    }

    [Fact]
    public void An_agent_without_an_owner_is_refused_naming_its_index()
    {
        var ex = Refused(Without("    owner: ml-platform@corp.example\n"));

        Assert.Equal("tessera.yaml: agents[1].owner: is required", ex.Message);
    }

    [Fact]
    public void An_agent_without_a_purpose_is_refused() =>
        AssertNames(Refused(Without("    purpose: Answer customer tickets from CRM data\n")), "agents[0].purpose", "is required");

    [Fact]
    public void An_agent_without_an_expiry_is_refused() =>
        AssertNames(Refused(Without("    expires: 2027-06-30\n")), "agents[0].expires", "is required");

    [Theory]
    [InlineData("2027-13-01")]
    [InlineData("2027-02-30")]
    [InlineData("next year")]
    public void An_expiry_that_is_not_a_date_is_refused_with_its_line(string value)
    {
        var ex = Refused(Replace("expires: 2027-06-30", $"expires: {value}"));

        AssertNames(ex, "agents[0].expires", "is not a date");
        Assert.Equal(LineOf(ValidYaml, "expires: 2027-06-30"), ex.Line);
        Assert.StartsWith($"tessera.yaml:{ex.Line}: ", ex.Message, StringComparison.Ordinal);
    }

    // Regression: a lenient parse took these as today or this year by the system clock.
    [Theory]
    [InlineData("12:00")]
    [InlineData("June 30")]
    [InlineData("6/30")]
    [InlineData("06/30/2027")]
    [InlineData("2027-06")]
    [InlineData("2027-06-30 12:00")]
    [InlineData("2027-06-30T12:00:00")]
    public void An_expiry_that_is_neither_a_date_nor_an_RFC_3339_time_is_refused(string value) =>
        AssertNames(Refused(Replace("expires: 2027-06-30", $"expires: \"{value}\"")), "agents[0].expires", "is not a date");

    [Theory]
    [InlineData("2027-06-30T12:00:00Z", "2027-06-30T12:00:00+00:00")]
    [InlineData("2027-06-30t12:00:00z", "2027-06-30T12:00:00+00:00")]
    [InlineData("2027-06-30T14:00:00.250+02:00", "2027-06-30T12:00:00.25+00:00")]
    public void An_expiry_may_be_an_RFC_3339_time(string value, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Load(Replace("expires: 2027-06-30", $"expires: {value}")).Agents[0].Expires);

    [Fact]
    public void An_approver_group_names_its_webhooks_by_url_and_vault_secret()
    {
        var config = Load(Replace("  - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }",
            "  - { id: security-oncall, members: [ { idp: corp, sub: bob } ], webhooks: [ { url: \"https://hooks.corp.example/T0/B1/xyz?x=1\", secret: oncall-hook } ] }"));

        var webhook = Assert.Single(config.ApproverGroups[0].Webhooks);
        Assert.Equal("oncall-hook", webhook.Secret);
        // Chat webhook URLs carry a credential in their path: logs name only the origin.
        Assert.Equal("https://hooks.corp.example", webhook.Display);
    }

    [Theory]
    [InlineData("http://hooks.corp.example/approvals", "must use https")]
    [InlineData("https://user:pw@hooks.corp.example/approvals", "without user information")]
    [InlineData("ftp://hooks.corp.example/approvals", "absolute https URL")]
    [InlineData("/approvals", "absolute https URL")]
    public void A_webhook_that_would_leak_requests_is_refused(string url, string problem) =>
        AssertNames(Refused(Replace("  - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }",
            $"  - {{ id: security-oncall, members: [ {{ idp: corp, sub: bob }} ], webhooks: [ {{ url: \"{url}\", secret: oncall-hook }} ] }}")),
            "approver_groups[0].webhooks[0].url", problem);

    [Fact]
    public void A_loopback_webhook_may_use_plain_http() =>
        Assert.Equal("http://127.0.0.1:9200", Load(Replace("  - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }",
            "  - { id: security-oncall, members: [ { idp: corp, sub: bob } ], webhooks: [ { url: \"http://127.0.0.1:9200/hook\", secret: oncall-hook } ] }"))
            .ApproverGroups[0].Webhooks[0].Display);

    [Fact]
    public void A_webhook_without_a_valid_secret_name_is_refused() =>
        AssertNames(Refused(Replace("  - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }",
            "  - { id: security-oncall, members: [ { idp: corp, sub: bob } ], webhooks: [ { url: \"https://hooks.corp.example/a\", secret: \"../key\" } ] }")),
            "approver_groups[0].webhooks[0].secret", "is not a secret name");

    [Fact]
    public void A_misspelt_key_is_refused_rather_than_ignored()
    {
        var ex = Refused(Replace("    allowed_scopes: [ \"crm:read\", \"crm:export\" ]", "    allowed_scope: [ \"crm:read\" ]"));

        AssertNames(ex, "agents[0].allowed_scope", "unknown key");
        Assert.Contains("allowed_scopes", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jira:read", "names no configured tool 'jira'")]
    [InlineData("crm:delete", "tool 'crm' has no scope 'delete'")]
    public void An_allowed_scope_of_an_unknown_tool_or_an_unknown_scope_of_a_known_tool_is_refused(string scope, string problem) =>
        AssertNames(Refused(Replace("[ \"crm:read\", \"crm:export\" ]\n    max_ttl", $"[ \"crm:read\", \"{scope}\" ]\n    max_ttl")),
            "agents[0].allowed_scopes[1]", problem);

    [Fact]
    public void A_principal_ceiling_naming_an_unknown_scope_is_refused() =>
        AssertNames(Refused(Replace("sub: alice, scopes: [ \"crm:read\", \"crm:export\" ]", "sub: alice, scopes: [ \"crm:write\" ]")),
            "principals[0].scopes[0]", "has no scope 'write'");

    [Fact]
    public void A_duplicate_agent_id_is_refused() =>
        AssertNames(Refused(Replace("  - id: summarizer-agent", "  - id: support-agent").Replace("may_delegate_to: [ summarizer-agent ]", "may_delegate_to: []", StringComparison.Ordinal)),
            "agents[1].id", "duplicate agent id 'support-agent'");

    [Theory]
    [InlineData("9f86d081")]
    [InlineData("zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0800")]
    public void A_client_secret_hash_that_is_not_64_hex_digits_is_refused(string value) =>
        AssertNames(Refused(Replace(SecretHash, value)), "agents[0].auth.client_secret_sha256", "64 hex digits");

    [Fact]
    public void An_auth_section_without_any_method_is_refused() =>
        AssertNames(Refused(Replace($"    auth:\n      client_secret_sha256: {SecretHash}\n", "    auth: {}\n")),
            "agents[0].auth", "needs at least one of");

    [Fact]
    public void An_agent_without_an_auth_section_is_refused() =>
        AssertNames(Refused(Without($"    auth:\n      client_secret_sha256: {SecretHash}\n")), "agents[0].auth", "is required");

    [Fact]
    public void Delegating_to_an_unknown_agent_is_refused() =>
        AssertNames(Refused(Replace("may_delegate_to: [ summarizer-agent ]", "may_delegate_to: [ summariser-agent ]")),
            "agents[0].may_delegate_to[0]", "names no configured agent: 'summariser-agent'");

    [Fact]
    public void Rate_limits_default_to_allowances_no_working_agent_reaches()
    {
        var limits = Load(ValidYaml).RateLimits;

        Assert.True(limits.Enabled);
        Assert.Equal(20, limits.FailedAuthPerClient);
        Assert.Equal(60, limits.FailedAuthPerSource);
        Assert.Equal(5, limits.RefusalsPerSecond);
        Assert.Equal(100, limits.RefusalBurst);
        Assert.Equal(10_000, limits.MaxTracked);
    }

    [Fact]
    public void Rate_limits_are_read_from_their_section()
    {
        var limits = Load(ValidYaml + """

            rate_limits:
              enabled: false
              failed_auth_per_client: 3
              failed_auth_per_source: 30
              refusals_per_second: 50
              refusal_burst: 500
              max_tracked: 1000
              refusal_delay_ms: 250
            """).RateLimits;

        Assert.Equal(new RateLimitOptions { Enabled = false, FailedAuthPerClient = 3, FailedAuthPerSource = 30, RefusalsPerSecond = 50, RefusalBurst = 500, MaxTracked = 1000, RefusalDelay = TimeSpan.FromMilliseconds(250) }, limits);
    }

    [Fact]
    public void A_refused_request_is_held_half_a_second_by_default_and_zero_answers_at_once()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(500), Load(ValidYaml).RateLimits.RefusalDelay);
        Assert.Equal(TimeSpan.Zero, Load(ValidYaml + "\nrate_limits:\n  refusal_delay_ms: 0\n").RateLimits.RefusalDelay);
    }

    [Fact]
    public void Telemetry_is_off_unless_configured() => Assert.Null(Load(ValidYaml).Telemetry);

    [Fact]
    public void Telemetry_is_read_from_its_section()
    {
        var telemetry = Load(ValidYaml + """

            telemetry:
              otlp: { endpoint: "http://collector:4317", protocol: grpc }
              service_name: tessera-eu
              sample_ratio: 0.25
            """).Telemetry;

        Assert.Equal(new TelemetryOptions(new Uri("http://collector:4317"), TelemetryProtocol.Grpc, "tessera-eu", 0.25), telemetry);
    }

    [Fact]
    public void Telemetry_defaults_to_http_protobuf_every_trace_and_the_service_name_tessera()
    {
        var telemetry = Load(ValidYaml + "\ntelemetry:\n  otlp: { endpoint: \"http://collector:4318\" }\n").Telemetry;

        Assert.Equal(new TelemetryOptions(new Uri("http://collector:4318"), TelemetryProtocol.HttpProtobuf, "tessera", 1.0), telemetry);
    }

    [Theory]
    [InlineData("service_name: tessera", "telemetry.otlp", "is required")]
    [InlineData("otlp: { protocol: grpc }", "telemetry.otlp.endpoint", "is required")]
    [InlineData("otlp: { endpoint: \"collector:4318\" }", "telemetry.otlp.endpoint", "must be an absolute http or https URL")]
    [InlineData("otlp: { endpoint: \"ftp://collector\" }", "telemetry.otlp.endpoint", "must be an absolute http or https URL")]
    [InlineData("otlp: { endpoint: \"http://user:pw@collector:4318\" }", "telemetry.otlp.endpoint", "without user info")]
    [InlineData("otlp: { endpoint: \"http://collector:4318/?key=1\" }", "telemetry.otlp.endpoint", "without user info, query")]
    [InlineData("otlp: { endpoint: \"http://collector:4318\", protocol: http/json }", "telemetry.otlp.protocol", "must be http/protobuf or grpc")]
    [InlineData("otlp: { endpoint: \"http://collector:4318\", headers: x }", "telemetry.otlp.headers", "unknown key")]
    [InlineData("otlp: { endpoint: \"http://c:4318\" }\n  sample_ratio: 1.5", "telemetry.sample_ratio", "must be a number from 0 to 1")]
    [InlineData("otlp: { endpoint: \"http://c:4318\" }\n  sample_ratio: half", "telemetry.sample_ratio", "must be a number from 0 to 1")]
    [InlineData("otlp: { endpoint: \"http://c:4318\" }\n  service_name: \"tes sera\"", "telemetry.service_name", "printable ASCII")]
    [InlineData("otlp: { endpoint: \"http://c:4318\" }\n  exporter: zipkin", "telemetry.exporter", "unknown key")]
    public void A_telemetry_section_that_cannot_be_read_is_refused(string lines, string path, string problem) =>
        AssertNames(Refused(ValidYaml + "\ntelemetry:\n  " + lines + "\n"), path, problem);

    [Theory]
    [InlineData("refusal_burst: 0", "rate_limits.refusal_burst", "must be a whole number from 1")]
    [InlineData("failed_auth_per_client: many", "rate_limits.failed_auth_per_client", "must be a whole number")]
    [InlineData("max_tracked: 10", "rate_limits.max_tracked", "must be a whole number from 100")]
    [InlineData("refusals_per_minute: 5", "rate_limits.refusals_per_minute", "unknown key")]
    [InlineData("refusal_delay_ms: 10001", "rate_limits.refusal_delay_ms", "must be a whole number from 0 to 10000")]
    [InlineData("refusal_delay_ms: -1", "rate_limits.refusal_delay_ms", "must be a whole number from 0")]
    public void A_rate_limit_that_cannot_be_read_is_refused(string line, string path, string problem) =>
        AssertNames(Refused(ValidYaml + "\nrate_limits:\n  " + line + "\n"), path, problem);

    [Fact]
    public void A_default_ttl_longer_than_max_ttl_is_refused() =>
        AssertNames(Refused(Replace("  default_ttl: 5m", "  default_ttl: 2h")), "tokens.default_ttl", "longer than tokens.max_ttl");

    [Theory]
    [InlineData("5x")]
    [InlineData("m5")]
    [InlineData("5")]
    [InlineData("0s")]
    [InlineData("-5m")]
    public void A_duration_that_cannot_be_read_is_refused(string value) =>
        AssertNames(Refused(Replace("  default_ttl: 5m", $"  default_ttl: {value}")), "tokens.default_ttl", "is not a duration");

    [Fact]
    public void An_agent_max_ttl_that_cannot_be_read_is_refused() =>
        AssertNames(Refused(Replace("max_ttl: 10m", "max_ttl: 5x")), "agents[0].max_ttl", "'5x' is not a duration");

    [Fact]
    public void Invalid_yaml_is_refused_with_the_line_of_the_mistake()
    {
        var lines = ValidYaml.Split('\n').ToList();
        var broken = LineOf(ValidYaml, "  default_ttl: 5m");
        lines[broken - 1] = "  default_ttl: \"5m";
        var ex = Refused(string.Join('\n', lines));

        Assert.Contains("not valid YAML", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.Line);
        Assert.Equal(broken, ex.Line);
        Assert.StartsWith($"tessera.yaml:{ex.Line}:{ex.Column}: ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("server:\n\tlisten: http://127.0.0.1:8080\n", 2, 1)]
    [InlineData("server:\n  listen: a: b\n", 2, 12)]
    [InlineData("tools: [ { id: crm }\n", 2, 1)]
    public void A_yaml_syntax_error_names_the_file_line_and_column(string yaml, int line, int column)
    {
        var ex = Refused(yaml);

        Assert.True(ex.IsSyntaxError);
        Assert.Equal((line, column), (ex.Line, ex.Column));
        Assert.StartsWith($"tessera.yaml:{line}:{column}: not valid YAML: ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    // Found by fuzzing (tools/Tessera.Fuzz, config): on these YamlDotNet throws InvalidOperationException
    // (a flow mapping cut by a line break) or ArgumentException (a NUL after a sequence dash), not
    // YamlException; they escaped the loader unexplained. The position is the parser's last event: the '{'
    // left open, and the ':' after the NUL (which YamlDotNet counts as a line break).
    [InlineData(": {\nc", 1, 3)]
    [InlineData("-\0:", 2, 1)]
    public void Yaml_the_parser_throws_on_without_a_yaml_error_is_still_a_syntax_error_with_a_position(string yaml, int line, int column)
    {
        var ex = Refused(yaml);

        Assert.True(ex.IsSyntaxError);
        Assert.Equal((line, column), (ex.Line, ex.Column));
        Assert.StartsWith($"tessera.yaml:{line}:{column}: not valid YAML: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mistake_in_valid_yaml_is_not_a_syntax_error() =>
        Assert.False(Refused(Without("    owner: ml-platform@corp.example\n")).IsSyntaxError);

    [Fact]
    public void An_inline_jwks_with_a_list_as_a_key_is_refused_naming_its_path() =>
        AssertNames(Refused(WithSupportAuth("      jwks: { ? [ k ] : v }\n")), "agents[0].auth.jwks", "keys must be plain text");

    [Fact]
    public void An_inline_jwks_that_contains_itself_is_refused_naming_its_path() =>
        AssertNames(Refused(WithSupportAuth("      jwks: &x [ *x ]\n")), "agents[0].auth.jwks", "nested too deeply");

    [Fact]
    public void An_inline_jwks_that_expands_to_millions_of_values_through_aliases_is_refused()
    {
        var laughs = "      jwks:\n        a: &a [ x, x, x, x, x, x, x, x, x, x ]\n";
        var previous = "a";
        foreach (var name in new[] { "b", "c", "d", "e", "f" })
        {
            laughs += $"        {name}: &{name} [ {string.Join(", ", Enumerable.Repeat("*" + previous, 10))} ]\n";
            previous = name;
        }

        AssertNames(Refused(WithSupportAuth(laughs)), "agents[0].auth.jwks", "too large");
    }

    [Fact]
    public void An_approval_naming_an_unconfigured_group_is_refused() =>
        AssertNames(Refused(Replace("approval: { group: security-oncall,", "approval: { group: security-on-call,")),
            "tools[0].scopes.export.approval.group", "names no configured approver group: 'security-on-call'");

    [Fact]
    public void An_identity_provider_whose_jwks_file_is_missing_is_refused()
    {
        File.Delete(Path.Combine(_dir, "keys", "idp.jwks.json"));

        var ex = Refused(ValidYaml);

        AssertNames(ex, "identity_providers[0].jwks_file", "file not found");
        Assert.Contains(Path.Combine(_dir, "keys", "idp.jwks.json"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_jwks_file_holding_a_private_key_is_refused()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ecdsa));
        jwk.Kid = "leaked";
        File.WriteAllText(Path.Combine(_dir, "keys", "summarizer.jwks.json"), $$"""{"keys":[{{System.Text.Json.JsonSerializer.Serialize(new { kty = jwk.Kty, crv = jwk.Crv, x = jwk.X, y = jwk.Y, d = jwk.D, kid = jwk.Kid })}}]}""");

        AssertNames(Refused(ValidYaml), "agents[1].auth.jwks_file", "private key material");
    }

    private const string OtherHash = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

    /// <summary>The valid config with support-agent's single secret replaced by <paramref name="auth"/> (lines under <c>auth:</c>).</summary>
    private static string WithSupportAuth(string auth) => Replace($"    auth:\n      client_secret_sha256: {SecretHash}\n", "    auth:\n" + auth.TrimEnd('\n') + "\n");

    [Fact]
    public void Several_client_secrets_load_in_order_with_their_expiries()
    {
        var config = Load(WithSupportAuth($$"""
                  client_secrets:
                    - { sha256: {{SecretHash}}, expires: 2027-01-31 }
                    - { sha256: {{OtherHash}} }
            """));

        var secrets = config.Agents[0].Auth.ClientSecrets;
        Assert.Null(config.Agents[0].Auth.ClientSecretSha256);
        Assert.Equal(2, secrets.Count);
        Assert.Equal(Convert.FromHexString(SecretHash), secrets[0].Sha256);
        Assert.Equal(new DateTimeOffset(2027, 1, 31, 0, 0, 0, TimeSpan.Zero), secrets[0].Expires);
        Assert.Equal(Convert.FromHexString(OtherHash), secrets[1].Sha256);
        Assert.Null(secrets[1].Expires);
    }

    [Fact]
    public void The_single_client_secret_form_and_the_list_may_be_combined()
    {
        var config = Load(WithSupportAuth($$"""
                  client_secret_sha256: {{SecretHash}}
                  client_secrets: [ { sha256: {{OtherHash}}, expires: "2027-01-31T12:00:00Z" } ]
            """));

        Assert.Equal(Convert.FromHexString(SecretHash), config.Agents[0].Auth.ClientSecretSha256);
        Assert.Equal(new DateTimeOffset(2027, 1, 31, 12, 0, 0, TimeSpan.Zero), Assert.Single(config.Agents[0].Auth.ClientSecrets).Expires);
    }

    [Theory]
    [InlineData("- { sha256: 9f86d081 }", "agents[0].auth.client_secrets[1].sha256", "must be 64 hex digits")]
    [InlineData("- { expires: 2027-01-31 }", "agents[0].auth.client_secrets[1].sha256", "is required")]
    [InlineData("- { sha256: OTHER, expires: next-month }", "agents[0].auth.client_secrets[1].expires", "is not a date")]
    [InlineData("- { sha256: OTHER, expires: \"2027-01-31 12:00\" }", "agents[0].auth.client_secrets[1].expires", "is not a date")]
    [InlineData("- { sha256: OTHER, expiry: 2027-01-31 }", "agents[0].auth.client_secrets[1].expiry", "unknown key; expected one of: sha256, expires")]
    [InlineData("- OTHER", "agents[0].auth.client_secrets[1]", "must be a mapping")]
    [InlineData("- { sha256: SECRET }", "agents[0].auth.client_secrets[1].sha256", "is the same hash as client_secrets[0]")]
    public void A_bad_client_secrets_entry_is_refused_naming_its_exact_path(string secondEntry, string path, string problem) =>
        AssertNames(Refused(WithSupportAuth($$"""
                  client_secrets:
                    - { sha256: {{SecretHash}}, expires: 2027-01-31 }
                    {{secondEntry.Replace("OTHER", OtherHash, StringComparison.Ordinal).Replace("SECRET", SecretHash, StringComparison.Ordinal)}}
            """)), path, problem);

    [Fact]
    public void Client_secrets_that_is_not_a_list_is_refused() =>
        AssertNames(Refused(WithSupportAuth($"      client_secrets: {SecretHash}\n")), "agents[0].auth.client_secrets", "must be a list");

    [Fact]
    public void A_client_secrets_entry_repeating_client_secret_sha256_is_refused() =>
        AssertNames(Refused(WithSupportAuth($$"""
                  client_secret_sha256: {{SecretHash}}
                  client_secrets: [ { sha256: {{SecretHash}} } ]
            """)), "agents[0].auth.client_secrets[0].sha256", "is the same hash as client_secret_sha256");

    [Fact]
    public void More_than_four_client_secrets_are_refused()
    {
        var hashes = Enumerable.Range(1, 5).Select(i => Convert.ToHexStringLower(SHA256.HashData([(byte)i]))).ToList();
        var entries = string.Concat(hashes.Select(h => $"        - {{ sha256: {h} }}\n"));

        AssertNames(Refused(WithSupportAuth("      client_secrets:\n" + entries)), "agents[0].auth.client_secrets[4]", "at most 4 client secrets");
    }

    [Fact]
    public void A_federated_agent_needs_no_secret()
    {
        var config = Load(WithSupportAuth("      federated: { idp: corp, sub: \"system:serviceaccount:agents:support\" }\n"));

        Assert.Equal(new PrincipalRef("corp", "system:serviceaccount:agents:support"), config.Agents[0].Auth.Federated);
        Assert.Null(config.Agents[0].Auth.ClientSecretSha256);
        Assert.Empty(config.Agents[0].Auth.ClientSecrets);
    }

    [Fact]
    public void A_federated_identity_naming_an_unknown_provider_is_refused() =>
        AssertNames(Refused(WithSupportAuth("      federated: { idp: k8s, sub: workload }\n")),
            "agents[0].auth.federated.idp", "names no configured identity provider: 'k8s'");

    [Fact]
    public void Two_agents_with_the_same_federated_identity_are_refused() =>
        AssertNames(Refused(WithSupportAuth("      federated: { idp: corp, sub: workload }\n")
                .Replace("      jwks_file: keys/summarizer.jwks.json\n", "      federated: { idp: corp, sub: workload }\n", StringComparison.Ordinal)),
            "agents[1].auth.federated", "idp 'corp' sub 'workload' already identifies agent 'support-agent'");

    [Fact]
    public void The_same_subject_at_two_providers_names_two_agents()
    {
        var yaml = Replace("    audience: tessera\n", "    audience: tessera\n  - { id: ci, issuer: https://ci.example, jwks_file: keys/idp.jwks.json, audience: tessera }\n");
        yaml = yaml.Replace($"    auth:\n      client_secret_sha256: {SecretHash}\n", "    auth:\n      federated: { idp: corp, sub: workload }\n", StringComparison.Ordinal)
            .Replace("      jwks_file: keys/summarizer.jwks.json\n", "      federated: { idp: ci, sub: workload }\n", StringComparison.Ordinal);

        var config = Load(yaml);

        Assert.Equal("ci", config.Agents[1].Auth.Federated!.Idp);
    }

    [Fact]
    public void An_agent_id_equal_to_an_identity_provider_issuer_is_refused() =>
        AssertNames(Refused(Replace("issuer: https://idp.corp.example", "issuer: support-agent")),
            "agents[0].id", "is also the issuer of identity provider 'corp'");

    [Fact]
    public void Two_identity_providers_with_one_issuer_are_refused() =>
        AssertNames(Refused(Replace("    audience: tessera\n", "    audience: tessera\n  - { id: corp2, issuer: https://idp.corp.example, jwks_file: keys/idp.jwks.json, audience: tessera }\n")),
            "identity_providers[1].issuer", "already used by identity provider 'corp'");

    [Fact]
    public void An_identity_providers_admin_audience_defaults_to_tessera_admin_and_may_be_set()
    {
        Assert.Equal("tessera-admin", Load(ValidYaml).IdentityProviders[0].AdminAudience);
        Assert.Equal("corp-admin", Load(Replace("    audience: tessera\n", "    audience: tessera\n    admin_audience: corp-admin\n")).IdentityProviders[0].AdminAudience);
    }

    [Fact]
    public void An_admin_audience_equal_to_the_delegation_audience_is_refused()
    {
        AssertNames(Refused(Replace("    audience: tessera\n", "    audience: tessera\n    admin_audience: tessera\n")), "identity_providers[0].admin_audience", "must differ");
        AssertNames(Refused(Replace("    audience: tessera\n", "    audience: tessera-admin\n")), "identity_providers[0].audience", "must differ");
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("http://127.0.0.1:8080/")]
    [InlineData("HTTP://127.0.0.1:8080")]
    public void A_tool_whose_audience_is_the_issuer_is_refused(string audience)
    {
        // Its tokens would carry aud = issuer, the mark of a mission token.
        var ex = Refused(Replace("audience: https://api.github.com", $"audience: \"{audience}\""));

        AssertNames(ex, "tools[1].audience", "is the server's issuer");
        Assert.Equal(LineOf(ValidYaml, "audience: https://api.github.com"), ex.Line);
    }

    /// <summary>A token for one audience must never be accepted by another: a tool's audience collides with nothing.</summary>
    [Theory]
    [InlineData("  listen: http://127.0.0.1:8080\n", "  listen: http://127.0.0.1:8080\n  issuer: https://api.github.com\n", "tools[1].audience", "is the server's issuer")]
    [InlineData("audience: https://api.github.com", "audience: urn:tessera:tool:crm", "tools[1].audience", "already used by tool 'crm'")]
    [InlineData("audience: https://api.github.com", "audience: tessera", "tools[1].audience", "is the audience of identity provider 'corp'")]
    [InlineData("audience: https://api.github.com", "audience: tessera-admin", "tools[1].audience", "is the admin_audience of identity provider 'corp'")]
    [InlineData("    audience: tessera\n", "    audience: urn:tessera:tool:crm\n", "tools[0].id", "its audience 'urn:tessera:tool:crm' is the audience of identity provider 'corp'")]
    public void A_tool_audience_that_is_the_issuer_another_tools_or_an_identity_providers_is_refused(string from, string to, string path, string message) =>
        AssertNames(Refused(Replace(from, to)), path, message);

    [Theory]
    [InlineData("http://idp.corp.example/jwks")]
    [InlineData("http://10.0.0.7/jwks")]
    public void An_identity_provider_jwks_uri_over_plain_http_is_refused(string uri)
    {
        var ex = Refused(Replace("    jwks_file: keys/idp.jwks.json\n", $"    jwks_uri: {uri}\n"));

        AssertNames(ex, "identity_providers[0].jwks_uri", "plain http");
        Assert.Contains("allow_insecure: true", ex.Message, StringComparison.Ordinal);
        Assert.Equal(LineOf(ValidYaml, "    jwks_file: keys/idp.jwks.json"), ex.Line);
    }

    [Fact]
    public void An_identity_provider_jwks_uri_over_plain_http_is_accepted_with_allow_insecure_and_a_warning()
    {
        var config = Load(Replace("    jwks_file: keys/idp.jwks.json\n", "    jwks_uri: http://idp.corp.example/jwks\n    allow_insecure: true\n"));

        var warning = Assert.Single(config.Warnings);
        Assert.Equal("identity_providers[0].jwks_uri", warning.PathInFile);
        Assert.Equal(ConfigWarning.InsecureJwksUri, warning.Code);
        Assert.StartsWith($"tessera.yaml:{LineOf(ValidYaml, "    jwks_file: keys/idp.jwks.json")}: identity_providers[0].jwks_uri: ", warning.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://idp.corp.example/jwks")]
    [InlineData("http://127.0.0.1:9000/jwks")]
    [InlineData("http://localhost:9000/jwks")]
    public void An_identity_provider_jwks_uri_over_https_or_to_loopback_is_accepted_silently(string uri) =>
        Assert.Empty(Load(Replace("    jwks_file: keys/idp.jwks.json\n", $"    jwks_uri: {uri}\n")).Warnings);

    [Theory]
    [InlineData("http://crm.corp.example")]
    [InlineData("http://10.1.2.3:8080/api")]
    [InlineData("http://0.0.0.0:9102")]
    public void A_tool_upstream_over_plain_http_to_another_host_is_refused(string upstream)
    {
        var ex = Refused(Replace("upstream: http://127.0.0.1:9102", $"upstream: {upstream}"));

        AssertNames(ex, "tools[0].upstream", "the credential would cross the network in clear text");
        Assert.Contains("allow_insecure: true", ex.Message, StringComparison.Ordinal);
        Assert.Equal(LineOf(ValidYaml, "upstream: http://127.0.0.1:9102"), ex.Line);
    }

    [Fact]
    public void A_tool_upstream_over_plain_http_is_accepted_with_allow_insecure_and_a_warning()
    {
        var config = Load(Replace("    upstream: http://127.0.0.1:9102\n", "    upstream: http://crm.corp.example\n    allow_insecure: true\n"));

        var warning = Assert.Single(config.Warnings);
        Assert.Equal(("tools[0].upstream", ConfigWarning.InsecureUpstream), (warning.PathInFile, warning.Code));
        Assert.True(config.Tools[0].AllowInsecure);
    }

    [Theory]
    [InlineData("https://crm.corp.example")]
    [InlineData("http://127.0.0.1:9102")]
    [InlineData("http://[::1]:9102")]
    [InlineData("http://localhost:9102")]
    public void A_tool_upstream_over_https_or_to_loopback_is_accepted_silently(string upstream) =>
        Assert.Empty(Load(Replace("upstream: http://127.0.0.1:9102", $"upstream: \"{upstream}\"")).Warnings);

    [Fact]
    public void Allow_insecure_must_be_true_or_false() =>
        AssertNames(Refused(Replace("    upstream: http://127.0.0.1:9102\n", "    upstream: http://127.0.0.1:9102\n    allow_insecure: yes\n")),
            "tools[0].allow_insecure", "must be true or false");

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://[::]:8080")]
    [InlineData("http://192.168.1.10:8080")]
    [InlineData("http://tessera.corp.example:8080")]
    public void Listening_over_plain_http_beyond_loopback_is_accepted_with_a_warning(string listen)
    {
        var config = Load(Replace("  listen: http://127.0.0.1:8080\n", $"  listen: \"{listen}\"\n"));

        var warning = Assert.Single(config.Warnings);
        Assert.Equal(("server.listen", ConfigWarning.PlainHttpListen), (warning.PathInFile, warning.Code));
        Assert.Contains("plain http", warning.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rule_allowing_every_method_on_every_path_is_accepted_with_a_warning()
    {
        var config = Load(Replace("\"GET /repos/**\"", "\"* /**\""));

        var warning = Assert.Single(config.Warnings);
        Assert.Equal(("tools[1].scopes.repo.read.rules[0]", ConfigWarning.AllowsEverything), (warning.PathInFile, warning.Code));
        Assert.Equal(LineOf(ValidYaml, "\"GET /repos/**\""), warning.Line);
    }

    [Fact]
    public void The_bootstrap_admin_token_beside_identity_provider_admins_is_accepted_with_a_warning()
    {
        var config = Load(Replace("  bootstrap_admin_token: false\n", ""));

        var warning = Assert.Single(config.Warnings);
        Assert.Equal(("admins", ConfigWarning.BootstrapTokenBesideAdmins), (warning.PathInFile, warning.Code));
        Assert.Contains("server.bootstrap_admin_token: false", warning.Problem, StringComparison.Ordinal);
        Assert.Empty(Load(Replace("admins:\n  - { idp: corp, sub: carol }\n", "")).Warnings);
    }

    [Fact]
    public void The_sample_and_the_valid_configuration_load_without_warnings()
    {
        Assert.Empty(Load(ValidYaml).Warnings);
        Assert.Empty(Load(SampleConfig.Create(Now).Yaml).Warnings);
    }

    [Fact]
    public void An_agent_expiring_more_than_a_year_from_now_is_refused_naming_the_limit()
    {
        var ex = Refused(Replace("expires: 2027-06-30", "expires: 2099-01-01"));

        AssertNames(ex, "agents[0].expires", "2099-01-01 is more than 365d from now (registry.max_agent_lifetime)");
        Assert.Equal(LineOf(ValidYaml, "expires: 2027-06-30"), ex.Line);
    }

    [Fact]
    public void The_agent_lifetime_limit_is_measured_from_the_loaders_clock()
    {
        // 2027-06-30 is seven months after Now: within a year; on 2026-06-29 it is more than a year away.
        Assert.NotNull(Load(ValidYaml));
        var early = Assert.Throws<ConfigException>(() => ConfigLoader.Load(ValidYaml, FileName, _dir, time: new FakeTimeProvider(new DateTimeOffset(2026, 6, 29, 0, 0, 0, TimeSpan.Zero))));
        AssertNames(early, "agents[0].expires", "registry.max_agent_lifetime");
    }

    [Fact]
    public void The_agent_lifetime_limit_can_be_set_and_an_agent_beyond_a_year_is_then_accepted_with_a_warning()
    {
        var yaml = Replace("expires: 2027-06-30", "expires: 2029-01-01").Replace("tokens:\n", "registry:\n  max_agent_lifetime: 1200d\ntokens:\n", StringComparison.Ordinal);

        var config = Load(yaml);

        Assert.Equal(TimeSpan.FromDays(1200), config.Registry.MaxAgentLifetime);
        var warning = Assert.Single(config.Warnings);
        Assert.Equal(("agents[0].expires", ConfigWarning.LongLivedAgent), (warning.PathInFile, warning.Code));
        AssertNames(Refused(yaml.Replace("max_agent_lifetime: 1200d", "max_agent_lifetime: 30d", StringComparison.Ordinal)), "agents[0].expires", "more than 30d from now");
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("3651d")]
    [InlineData("forever")]
    public void An_agent_lifetime_limit_outside_a_day_to_ten_years_is_refused(string value) =>
        AssertNames(Refused(Replace("tokens:\n", $"registry:\n  max_agent_lifetime: {value}\ntokens:\n")), "registry.max_agent_lifetime", "");

    private const string McpToolYaml = """
          - id: gh-mcp
            protocol: mcp
            upstream: http://127.0.0.1:9103/mcp
            scopes:
              search: { rules: [ "MCP tools/call search_*", "MCP tools/list" ] }
              docs:   { rules: [ "MCP resources/read repo://acme/docs/**" ] }

        """;

    private static string WithMcpTool(string scopes = "") =>
        Replace("  - id: github\n", McpToolYaml.Replace("\n\n", "\n", StringComparison.Ordinal) + scopes + "  - id: github\n");

    [Fact]
    public void A_tool_with_protocol_mcp_takes_MCP_rules()
    {
        var config = Load(WithMcpTool());

        var tool = config.Tools.Single(t => t.Id == "gh-mcp");
        Assert.Equal(Tessera.Core.Tools.ToolProtocol.Mcp, tool.Protocol);
        Assert.Equal(["MCP tools/call search_*", "MCP tools/list"], tool.Scopes["search"].Rules);
        var rules = new Tessera.Core.Tools.Tool(tool).McpRules;
        Assert.Equal("search_*", rules["gh-mcp:search"][0].Pattern?.Text);
        Assert.Equal("resources/read", rules["gh-mcp:docs"][0].Method);
        Assert.All(config.Tools.Where(t => t.Id != "gh-mcp"), t => Assert.Equal(Tessera.Core.Tools.ToolProtocol.Http, t.Protocol));
    }

    [Fact]
    public void Protocol_http_may_be_written_out() =>
        Assert.Equal(Tessera.Core.Tools.ToolProtocol.Http, Load(Replace("  - id: github\n", "  - id: github\n    protocol: http\n")).Tools.Single(t => t.Id == "github").Protocol);

    [Theory]
    [InlineData("grpc")]
    [InlineData("MCP")]
    [InlineData("https")]
    public void An_unknown_protocol_is_refused(string protocol)
    {
        var ex = Refused(Replace("  - id: github\n", $"  - id: github\n    protocol: {protocol}\n"));

        AssertNames(ex, "tools[1].protocol", $"'{protocol}' is not a protocol: use http, mcp or postgres");
    }

    [Fact]
    public void An_MCP_rule_on_an_http_tool_is_refused_telling_to_set_protocol_mcp()
    {
        var ex = Refused(Replace("\"GET /repos/**\"", "\"MCP tools/call search_*\""));

        AssertNames(ex, "tools[1].scopes.repo.read.rules[0]", "is an MCP rule; give the tool protocol: mcp");
        Assert.Equal(LineOf(ValidYaml, "\"GET /repos/**\""), ex.Line);
        Assert.StartsWith($"tessera.yaml:{ex.Line}: ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /repos/**")]
    [InlineData("POST /mcp")]
    [InlineData("* /**")]
    public void A_path_rule_on_an_mcp_tool_is_refused(string rule)
    {
        var yaml = WithMcpTool().Replace("\"MCP tools/list\"", $"\"{rule}\"", StringComparison.Ordinal);

        var ex = Refused(yaml);

        AssertNames(ex, "tools[1].scopes.search.rules[1]", "is not an MCP rule; a tool with protocol: mcp takes rules written MCP <method> [<pattern>]");
        Assert.Equal(LineOf(yaml, "search: { rules:"), ex.Line);
    }

    [Theory]
    [InlineData("MCP tools/call a***", "'***' is not a pattern")]
    [InlineData("MCP tools/call  search", "separated by single spaces")]
    [InlineData("MCP initialize", "needs only a valid token")]
    [InlineData("MCP notifications/initialized", "needs only a valid token")]
    [InlineData("MCP tools/list search_*", "takes no pattern")]
    public void An_MCP_rule_that_cannot_be_read_is_refused_with_its_place_in_the_file(string rule, string problem)
    {
        var yaml = WithMcpTool().Replace("\"MCP resources/read repo://acme/docs/**\"", $"\"{rule}\"", StringComparison.Ordinal);

        var ex = Refused(yaml);

        AssertNames(ex, "tools[1].scopes.docs.rules[0]", $"'{rule}' is not an MCP rule: ");
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Equal(LineOf(yaml, "docs:   { rules:"), ex.Line);
        Assert.StartsWith($"tessera.yaml:{ex.Line}: ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres://tessera@db.internal:5432/tessera")]
    [InlineData("postgresql://tessera@db.internal/tessera?sslmode=require")]
    [InlineData("Host=db.internal;Port=5432;Database=tessera;Username=tessera")]
    [InlineData("\"Server=db.internal;Database=tessera\"")]
    public void A_postgres_url_or_keyword_string_is_accepted_as_written(string storage)
    {
        var config = Load(Replace("storage: sqlite:db/tessera.db", $"storage: {storage}"));

        Assert.Equal(storage.Trim('"'), config.Storage);
    }

    [Theory]
    [InlineData("postgres://tessera:hunter2@/tessera", "needs a host and a database")]
    [InlineData("postgres://tessera:hunter2@db.internal", "needs a host and a database")]
    [InlineData("Database=tessera;Password=hunter2", "needs Host=")]
    [InlineData("\"Host=db;Password='hunter2\"", "not a PostgreSQL keyword string")]
    [InlineData("mysql://tessera:hunter2@db/tessera", "must be sqlite:PATH, a postgres:// URL")]
    public void A_storage_location_that_is_not_usable_is_refused_without_repeating_it(string storage, string problem)
    {
        var ex = Refused(Replace("storage: sqlite:db/tessera.db", $"storage: {storage}"));

        AssertNames(ex, "storage", problem);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_node_id_defaults_to_the_host_name_and_max_staleness_to_one_second()
    {
        var config = Load(ValidYaml);

        Assert.Equal(new ClusterOptions(Environment.MachineName, TimeSpan.FromSeconds(1)), config.Cluster);
    }

    [Fact]
    public void Cluster_node_id_and_max_staleness_are_read()
    {
        var config = Load(Replace("storage: sqlite:db/tessera.db", "storage: postgres://tessera@db.internal/tessera\ncluster: { node_id: a, max_staleness: 3s }"));

        Assert.Equal(new ClusterOptions("a", TimeSpan.FromSeconds(3)), config.Cluster);
    }

    [Theory]
    [InlineData("{ node_id: \"a b\" }", "cluster.node_id", "ASCII letters")]
    [InlineData("{ node_id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa }", "cluster.node_id", "1 to 63")]
    [InlineData("{ max_staleness: 2m }", "cluster.max_staleness", "between 1s and 1m")]
    [InlineData("{ nodes: 3 }", "cluster.nodes", "unknown key")]
    public void A_cluster_setting_out_of_range_is_refused(string cluster, string path, string problem) =>
        AssertNames(Refused(Replace("storage: sqlite:db/tessera.db", $"storage: sqlite:db/tessera.db\ncluster: {cluster}")), path, problem);

    [Fact]
    public void Posture_thresholds_default_to_30d_30d_1h_and_90d_and_are_read()
    {
        Assert.Equal(new PostureOptions(TimeSpan.FromDays(30), TimeSpan.FromDays(30), TimeSpan.FromHours(1), TimeSpan.FromDays(90)), Load(ValidYaml).Posture);

        var config = Load(Replace("storage: sqlite:db/tessera.db", "storage: sqlite:db/tessera.db\nposture: { window: 7d, stale_after: 14d, max_ttl: 15m, rotate_secrets_after: 30d }"));

        Assert.Equal(new PostureOptions(TimeSpan.FromDays(7), TimeSpan.FromDays(14), TimeSpan.FromMinutes(15), TimeSpan.FromDays(30)), config.Posture);
    }

    [Theory]
    [InlineData("{ window: 0s }", "posture.window", "is not a duration")]
    [InlineData("{ window: 400d }", "posture.window", "at most 366d")]
    [InlineData("{ max_ttl: 2d }", "posture.max_ttl", "at most 1d")]
    [InlineData("{ stale: 3d }", "posture.stale", "unknown key")]
    public void A_posture_threshold_out_of_range_is_refused(string posture, string path, string problem) =>
        AssertNames(Refused(Replace("storage: sqlite:db/tessera.db", $"storage: sqlite:db/tessera.db\nposture: {posture}")), path, problem);

    private const string DatabaseToolYaml = """
          - id: warehouse
            protocol: postgres
            connection: { host: db.internal, port: 6432, database: analytics }
            admin_secret: warehouse-admin
            lease_ttl: 30m
            scopes:
              read:  { grants: [ "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{role}}" ] }
              write: { grants: [ "GRANT INSERT ON reporting.orders TO {{role}}", "GRANT UPDATE ON reporting.orders TO {{role}};" ], approval: { group: security-oncall } }

        """;

    /// <summary>The valid config with a database tool (tools[1]) whose text has <paramref name="oldText"/> replaced by <paramref name="newText"/>.</summary>
    private static string WithDatabaseTool(string oldText = "", string newText = "")
    {
        var tool = DatabaseToolYaml.Replace("\n\n", "\n", StringComparison.Ordinal);
        if (oldText.Length > 0)
        {
            Assert.Contains(oldText, tool, StringComparison.Ordinal);
            tool = tool.Replace(oldText, newText, StringComparison.Ordinal);
        }

        return Replace("  - id: github\n", tool + "  - id: github\n");
    }

    [Fact]
    public void A_database_tool_binds_its_connection_admin_secret_lease_ttl_and_grants()
    {
        var tool = Load(WithDatabaseTool()).Tools.Single(t => t.Id == "warehouse");

        Assert.Equal(Tessera.Core.Tools.ToolProtocol.Postgres, tool.Protocol);
        Assert.Equal(new DatabaseConnectionOptions("db.internal", 6432, "analytics"), tool.Connection);
        Assert.Equal("warehouse-admin", tool.AdminSecret);
        Assert.Equal(TimeSpan.FromMinutes(30), tool.LeaseTtl);
        Assert.Equal(["GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{role}}"], tool.Scopes["read"].Grants);
        Assert.Equal(["GRANT INSERT ON reporting.orders TO {{role}}", "GRANT UPDATE ON reporting.orders TO {{role}};"], tool.Scopes["write"].Grants);
        Assert.Empty(tool.Scopes["read"].Rules);
        Assert.Equal("security-oncall", tool.Scopes["write"].Approval!.Group);
        Assert.Null(tool.Upstream);
        Assert.Null(tool.Credential);
        Assert.Equal("urn:tessera:tool:warehouse", tool.Audience);
    }

    [Fact]
    public void A_database_tool_defaults_its_port_and_lease_ttl()
    {
        var tool = Load(WithDatabaseTool("port: 6432, ", "").Replace("    lease_ttl: 30m\n", "", StringComparison.Ordinal)).Tools.Single(t => t.Id == "warehouse");

        Assert.Equal(5432, tool.Connection!.Port);
        Assert.Equal(ToolOptions.DefaultLeaseTtl, tool.LeaseTtl);
    }

    [Fact]
    public void An_http_tool_has_no_database_part_and_no_grants()
    {
        var crm = Load(ValidYaml).Tools.Single(t => t.Id == "crm");

        Assert.Null(crm.Connection);
        Assert.Null(crm.AdminSecret);
        Assert.All(crm.Scopes.Values, s => Assert.Empty(s.Grants));
    }

    [Theory]
    [InlineData("    connection: { host: db.internal, port: 6432, database: analytics }\n", "", "tools[1].connection", "is required for a tool with protocol: postgres")]
    [InlineData("    admin_secret: warehouse-admin\n", "", "tools[1].admin_secret", "is required for a tool with protocol: postgres")]
    [InlineData("admin_secret: warehouse-admin", "admin_secret: \"not a name\"", "tools[1].admin_secret", "is not a secret name")]
    [InlineData("    protocol: postgres\n", "    protocol: postgres\n    upstream: https://db.example\n", "tools[1].upstream", "does not apply to a tool with protocol: postgres")]
    [InlineData("    protocol: postgres\n", "    protocol: postgres\n    credential: { secret: db-key, header: X-Api-Key }\n", "tools[1].credential", "does not apply to a tool with protocol: postgres")]
    [InlineData("    protocol: postgres\n", "    protocol: postgres\n    timeout: 5s\n", "tools[1].timeout", "does not apply to a tool with protocol: postgres")]
    [InlineData("read:  { grants:", "read:  { rules: [ \"GET /x\" ], grants:", "tools[1].scopes.read.rules", "takes grants, not rules")]
    [InlineData("{ grants: [ \"GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{role}}\" ] }", "{ grants: [] }", "tools[1].scopes.read.grants", "is required: a database scope holds at least one grant")]
    [InlineData("TO {{role}}\" ] }", "TO reporter\" ] }", "tools[1].scopes.read.grants[0]", "does not name the lease's role")]
    [InlineData("TO {{role}}\" ] }", "TO {{role}} WITH GRANT OPTION {{schema}}\" ] }", "tools[1].scopes.read.grants[0]", "has a placeholder other than {{role}}")]
    [InlineData("TO {{role}}\" ] }", "TO {{role}}; DROP TABLE reporting.orders\" ] }", "tools[1].scopes.read.grants[0]", "holds more than one statement")]
    [InlineData("TO {{role}};\" ]", "TO {{role}}; GRANT ALL ON ALL TABLES IN SCHEMA public TO {{role}}\" ]", "tools[1].scopes.write.grants[1]", "holds more than one statement")]
    [InlineData("lease_ttl: 30m", "lease_ttl: 30s", "tools[1].lease_ttl", "must be between 1m and 24h")]
    [InlineData("lease_ttl: 30m", "lease_ttl: 25h", "tools[1].lease_ttl", "must be between 1m and 24h")]
    [InlineData("port: 6432", "port: 70000", "tools[1].connection.port", "must be a whole number from 1 to 65535")]
    [InlineData("host: db.internal", "host: \"db internal\"", "tools[1].connection.host", "is not a host name or address")]
    [InlineData("database: analytics }", "database: analytics, user: admin }", "tools[1].connection.user", "unknown key")]
    public void A_database_tool_with_a_wrong_part_is_refused_naming_it(string oldText, string newText, string path, string problem) =>
        AssertNames(Refused(WithDatabaseTool(oldText, newText)), path, problem);

    [Theory]
    [InlineData("connection: { host: db.internal, database: analytics }")]
    [InlineData("admin_secret: crm-admin")]
    [InlineData("lease_ttl: 10m")]
    public void A_database_key_on_an_http_tool_is_refused(string key) =>
        AssertNames(Refused(Replace("  - id: crm\n", $"  - id: crm\n    {key}\n")), $"tools[0].{key[..key.IndexOf(':', StringComparison.Ordinal)]}", "belongs to a database tool");

    [Fact]
    public void Grants_on_an_http_scope_are_refused() =>
        AssertNames(Refused(Replace("read:   { rules: [ \"GET /contacts/**\", \"GET /accounts/*\" ] }", "read:   { rules: [ \"GET /contacts/**\" ], grants: [ \"GRANT SELECT ON t TO {{role}}\" ] }")),
            "tools[0].scopes.read.grants", "belongs to a database tool");

    [Fact]
    public void Audit_sinks_are_none_by_default()
    {
        Assert.Empty(Load(ValidYaml).AuditSinks);
    }

    [Fact]
    public void Audit_sinks_are_read_with_their_defaults_and_relative_paths_resolved()
    {
        var sinks = Load(ValidYaml + """

            audit:
              sinks:
                - { type: file, path: logs/audit.jsonl }
                - { type: file, name: siem, path: /var/log/tessera/audit.jsonl, max_size: 5MB, keep: 3 }
                - { type: stdout }
            """).AuditSinks;

        Assert.Equal(
            [
                new AuditSinkOptions("file", AuditSinkKind.File, Path.Combine(_dir, "logs", "audit.jsonl"), AuditSinkOptions.DefaultMaxSize, AuditSinkOptions.DefaultKeep),
                new AuditSinkOptions("siem", AuditSinkKind.File, "/var/log/tessera/audit.jsonl", 5L * 1024 * 1024, 3),
                new AuditSinkOptions("stdout", AuditSinkKind.Stdout, null, 0, 0),
            ],
            sinks);
    }

    [Theory]
    [InlineData("- { type: syslog }", "audit.sinks[0].type", "unknown sink type 'syslog'")]
    [InlineData("- { type: file }", "audit.sinks[0].path", "is required")]
    [InlineData("- { type: file, path: a.jsonl, max_size: 100 }", "audit.sinks[0].max_size", "is not a size of at least 1KB")]
    [InlineData("- { type: file, path: a.jsonl, max_size: 10TB }", "audit.sinks[0].max_size", "is not a size")]
    [InlineData("- { type: file, path: a.jsonl, keep: 0 }", "audit.sinks[0].keep", "must be a whole number from 1 to 1000")]
    [InlineData("- { type: file, path: a.jsonl, rotate: daily }", "audit.sinks[0].rotate", "unknown key")]
    [InlineData("- { type: stdout, path: a.jsonl }", "audit.sinks[0].path", "unknown key")]
    [InlineData("- { type: file, path: a.jsonl, name: 'Bad Name' }", "audit.sinks[0].name", "must be 1 to 64")]
    [InlineData("- { type: file, path: a.jsonl }\n    - { type: file, path: b.jsonl }", "audit.sinks[1]", "another sink is already named 'file'")]
    [InlineData("- { type: file, path: a.jsonl }\n    - { type: file, name: other, path: a.jsonl }", "audit.sinks[1].path", "another sink already writes to")]
    [InlineData("- { type: stdout }\n    - { type: stdout, name: again }", "audit.sinks[1].type", "only one sink may write to standard output")]
    public void Audit_sink_mistakes_are_refused_naming_the_path(string sinks, string path, string problem)
    {
        var ex = Refused(ValidYaml + "\naudit:\n  sinks:\n    " + sinks + "\n");

        AssertNames(ex, path, problem);
    }

    [Fact]
    public void Audit_section_refuses_unknown_keys()
    {
        AssertNames(Refused(ValidYaml + "\naudit:\n  sink: []\n"), "audit.sink", "unknown key");
    }

    [Fact]
    public void Audit_checkpoints_are_on_by_default_every_1000_events_or_5_minutes()
    {
        var config = Load(ValidYaml);

        Assert.Equal(new AuditCheckpointOptions(true, 1000, TimeSpan.FromMinutes(5)), config.AuditCheckpoints);
    }

    [Fact]
    public void Audit_checkpoints_take_their_interval_and_count_from_the_audit_key()
    {
        var config = Load(ValidYaml + "\naudit:\n  checkpoint: { every_events: 250, every: 30s }\n");

        Assert.Equal(new AuditCheckpointOptions(true, 250, TimeSpan.FromSeconds(30)), config.AuditCheckpoints);
        Assert.False(Load(ValidYaml + "\naudit:\n  checkpoint: { enabled: false }\n").AuditCheckpoints.Enabled);
    }

    [Theory]
    [InlineData("checkpoint: { every_events: 0 }", "audit.checkpoint.every_events", "must be a whole number from 1 to 1000000")]
    [InlineData("checkpoint: { every: 500ms }", "audit.checkpoint.every", "is not a duration")]
    [InlineData("checkpoint: { every: 2d }", "audit.checkpoint.every", "must be between 1s and 24h")]
    [InlineData("checkpoint: { every_event: 10 }", "audit.checkpoint.every_event", "")]
    [InlineData("checkpoints: { every: 1m }", "audit.checkpoints", "")]
    public void A_bad_audit_checkpoint_setting_is_refused_naming_its_line_and_path(string setting, string path, string problem)
    {
        var yaml = ValidYaml + "\naudit:\n  " + setting + "\n";

        var ex = Refused(yaml);

        AssertNames(ex, path, problem);
        Assert.Equal(LineOf(yaml, setting), ex.Line);
    }

    private ConfigException Refused(string yaml) => Assert.Throws<ConfigException>(() => Load(yaml));

    [Theory]
    [InlineData("console: { oidc: { idp: nobody, client_id: c, client_secret_env: S } }", "console.oidc.idp: names no configured identity provider: 'nobody'")]
    [InlineData("console: { oidc: { idp: corp, client_id: c, client_secret_env: 'not a name' } }", "console.oidc.client_secret_env: 'not a name' is not an environment variable name")]
    [InlineData("console: { oidc: { idp: corp, client_id: c, client_secret_env: S, client_secret: x } }", "console.oidc")]
    [InlineData("console: { oidc: { idp: plain, client_id: c, client_secret_env: S } }", "console.oidc.idp: identity provider 'plain' has a plain http issuer")]
    public void Console_oidc_mistakes_are_refused_with_their_path(string line, string expected)
    {
        var yaml = $$"""
            identity_providers:
              - { id: corp, issuer: "https://idp.corp.test", jwks_uri: "https://idp.corp.test/jwks", audience: tessera }
              - { id: plain, issuer: "http://idp.corp.test", jwks_uri: "https://idp.corp.test/jwks", audience: tessera-plain }
            {{line}}
            """;
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(yaml, FileName, _dir, time: new FakeTimeProvider(Now)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Console_oidc_names_its_provider_issuer_client_and_secret_variable()
    {
        var config = ConfigLoader.Load("""
            identity_providers:
              - { id: corp, issuer: "https://idp.corp.test/", jwks_uri: "https://idp.corp.test/jwks", audience: tessera }
            console:
              oidc: { idp: corp, client_id: tessera-console, client_secret_env: TESSERA_CONSOLE_SECRET }
            """, FileName, _dir, time: new FakeTimeProvider(Now));
        Assert.Equal(new ConsoleOidcOptions("corp", "https://idp.corp.test/", "tessera-console", "TESSERA_CONSOLE_SECRET", AllowInsecure: false), config.Console.Oidc);
        Assert.Null(Load(ValidYaml).Console.Oidc);
    }

    private TesseraConfig Load(string yaml) => ConfigLoader.Load(yaml, FileName, _dir, time: new FakeTimeProvider(Now));

    private static void AssertNames(ConfigException ex, string path, string problem)
    {
        Assert.Equal(path, ex.PathInFile);
        Assert.StartsWith("tessera.yaml", ex.Message, StringComparison.Ordinal);
        Assert.Contains($" {path}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>The valid config with one exact piece of text replaced; the piece must be there, or the test would prove nothing.</summary>
    private static string Replace(string oldText, string newText)
    {
        Assert.Contains(oldText, ValidYaml, StringComparison.Ordinal);
        return ValidYaml.Replace(oldText, newText, StringComparison.Ordinal);
    }

    private static string Without(string text) => Replace(text, "");

    private static int LineOf(string yaml, string text) =>
        yaml.Split('\n').Select((line, i) => (line, i)).First(x => x.line.Contains(text, StringComparison.Ordinal)).i + 1;

    private static string PublicJwks(string kid)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = ecdsa.ExportParameters(includePrivateParameters: false);
        return $$"""{"keys":[{"kty":"EC","crv":"P-256","x":"{{Base64UrlEncoder.Encode(p.Q.X)}}","y":"{{Base64UrlEncoder.Encode(p.Q.Y)}}","kid":"{{kid}}","use":"sig","alg":"ES256"}]}""";
    }

    [Fact]
    public void A_file_that_no_longer_loads_still_tells_a_client_command_where_the_server_is()
    {
        var directory = Directory.CreateTempSubdirectory("tessera-client-settings-").FullName;
        try
        {
            var path = Path.Combine(directory, "tessera.yaml");
            File.WriteAllText(path, "server: { listen: http://127.0.0.1:9443 }\ndata_dir: state\nagents: [ { id: x } ]\n");
            Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile(path));

            Assert.Equal((new Uri("http://127.0.0.1:9443"), Path.Combine(directory, "state")), ConfigLoader.ReadClientSettings(path));

            File.WriteAllText(path, "agents: [ {\n");
            Assert.Null(ConfigLoader.ReadClientSettings(path));
            File.WriteAllText(path, "server: { listen: ftp://host }\n");
            Assert.Null(ConfigLoader.ReadClientSettings(path));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
