namespace Tessera.Core.Tests.Posture;

public sealed class PostureAnalyzerTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TokenOptions Tokens = new(TimeSpan.FromMinutes(15), TimeSpan.FromHours(1), 3);

    private static readonly Tool Crm = new(new ToolOptions
    {
        Id = "crm",
        Audience = "urn:tool:crm",
        Credential = new ToolCredentialOptions("crm-key", "X-Api-Key", null),
        Scopes = new Dictionary<string, ToolScopeOptions>
        {
            ["read"] = new(["GET /contacts/**"], null),
            ["write"] = new(["POST /contacts", "PUT /contacts/*"], null),
        },
    });

    private static readonly Tool Billing = new(new ToolOptions
    {
        Id = "billing",
        Audience = "urn:tool:billing",
        Credential = new ToolCredentialOptions("billing-key", "Authorization", "Bearer {secret}"),
        Scopes = new Dictionary<string, ToolScopeOptions> { ["read"] = new(["GET /invoices/*"], null) },
    });

    private static readonly Tool Github = new(new ToolOptions
    {
        Id = "github",
        Audience = "urn:tool:github",
        Scopes = new Dictionary<string, ToolScopeOptions> { ["read"] = new(["GET /repos/**"], null) },
    });

    /// <summary>An agent that triggers nothing: a month and more to go, a key, a short max_ttl, every scope used today.</summary>
    private static AgentOptions Clean(string id, params string[] scopes) => new()
    {
        Id = id,
        Owner = "team-" + id,
        Purpose = "tests",
        Expires = Now.AddDays(200),
        Auth = new AgentAuthOptions { Federated = new PrincipalRef("corp", id) },
        AllowedScopes = scopes.Length == 0 ? ["crm:read"] : scopes,
        MaxTtl = TimeSpan.FromMinutes(30),
    };

    private static AgentUsage UsedToday(params string[] scopes) =>
        new(Now.AddHours(-1), scopes.ToDictionary(s => s, _ => Now.AddHours(-1), StringComparer.Ordinal));

    private static PostureReport Analyze(IEnumerable<AgentOptions> agents, Dictionary<string, AgentUsage>? usage = null, IEnumerable<Tool>? tools = null,
        IReadOnlyList<SecretInfo>? secrets = null, TokenOptions? tokens = null, Dictionary<RuleUse, DateTimeOffset>? rules = null,
        IReadOnlyList<Tessera.Core.Leases.Lease>? failingLeases = null, IReadOnlyList<Tessera.Core.Audit.Sinks.AuditSinkStatus>? sinks = null,
        IReadOnlyList<Tessera.Core.Cluster.NodeConfig>? nodes = null)
    {
        var registered = agents.Select(a => new Agent(a)).ToList();
        usage ??= registered.ToDictionary(a => a.Id, a => UsedToday([.. a.AllowedScopes]), StringComparer.Ordinal);
        return PostureAnalyzer.Analyze(new PostureInput(registered, _ => false, [.. tools ?? [Crm, Billing, Github]], secrets ?? [],
            new PostureUsage(usage, rules ?? []), tokens ?? Tokens, PostureOptions.Default, Now, failingLeases, sinks, nodes));
    }

    private static IEnumerable<PostureFinding> AgentFindings(PostureReport report) => report.Findings.Where(f => f.Type.StartsWith("agent.", StringComparison.Ordinal) || f.Type.StartsWith("delegation.", StringComparison.Ordinal));

    [Fact]
    public void A_clean_agent_draws_no_finding_of_any_type()
    {
        var report = Analyze([Clean("crm-bot", "crm:read", "crm:write")]);

        Assert.Empty(AgentFindings(report));
        var agent = Assert.Single(report.Agents);
        Assert.Equal(["crm:read", "crm:write"], agent.ScopesUsed);
        Assert.Empty(agent.ScopesUnused);
        Assert.Null(agent.RightSizedScopes);
        Assert.Equal(AgentStatus.Active, agent.Status);
    }

    [Fact]
    public void An_expired_agent_is_high_and_draws_nothing_else()
    {
        var report = Analyze([Clean("old-bot") with { Expires = Now.AddDays(-3), MaxTtl = null, Auth = new AgentAuthOptions { ClientSecretSha256 = new byte[32] } }],
            usage: []);

        var finding = Assert.Single(report.Findings);
        Assert.Equal((PostureFindingTypes.AgentExpired, PostureSeverity.High, "old-bot"), (finding.Type, finding.Severity, finding.Agent));
        Assert.Contains("3 days ago", finding.Evidence, StringComparison.Ordinal);
        Assert.Equal(AgentStatus.Expired, report.Agents[0].Status);
    }

    [Fact]
    public void An_agent_expiring_within_30_days_is_low_and_one_expiring_later_is_not()
    {
        var report = Analyze([Clean("soon") with { Expires = Now.AddDays(20) }, Clean("later") with { Expires = Now.AddDays(31) }]);

        var finding = Assert.Single(AgentFindings(report));
        Assert.Equal((PostureFindingTypes.AgentExpiringSoon, PostureSeverity.Low, "soon"), (finding.Type, finding.Severity, finding.Agent));
        Assert.Contains("expires in 20 days", finding.Evidence, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(15, PostureSeverity.Low)]
    [InlineData(14, PostureSeverity.Medium)]
    [InlineData(4, PostureSeverity.Medium)]
    [InlineData(3, PostureSeverity.High)]
    [InlineData(1, PostureSeverity.High)]
    public void An_expiry_within_14_days_is_medium_and_within_3_days_high(int days, PostureSeverity severity)
    {
        var report = Analyze([Clean("bot") with { Expires = Now.AddDays(days) }]);

        var finding = Assert.Single(AgentFindings(report), f => f.Type == PostureFindingTypes.AgentExpiringSoon);
        Assert.Equal(severity, finding.Severity);
    }

    [Fact]
    public void An_agent_without_a_token_for_longer_than_stale_after_is_stale_and_one_used_within_it_is_not()
    {
        var report = Analyze([Clean("idle"), Clean("quiet"), Clean("never")], usage: new(StringComparer.Ordinal)
        {
            ["idle"] = new(Now.AddDays(-31), new Dictionary<string, DateTimeOffset> { ["crm:read"] = Now.AddDays(-31) }),
            ["quiet"] = new(Now.AddDays(-29), new Dictionary<string, DateTimeOffset> { ["crm:read"] = Now.AddDays(-29) }),
        });

        var stale = report.Findings.Where(f => f.Type == PostureFindingTypes.AgentStale).ToList();
        Assert.Equal(["idle", "never"], stale.Select(f => f.Agent));
        Assert.Contains("31 days ago", stale[0].Evidence, StringComparison.Ordinal);
        Assert.Equal("no token on record", stale[1].Evidence);
        Assert.Contains("tessera revoke --agent idle", stale[0].Recommendation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_scope_not_granted_within_the_window_is_unused_and_the_agent_gets_right_sized_scopes()
    {
        var report = Analyze([Clean("crm-bot", "crm:read", "crm:write", "billing:read")], usage: new(StringComparer.Ordinal)
        {
            ["crm-bot"] = new(Now.AddHours(-1), new Dictionary<string, DateTimeOffset> { ["crm:read"] = Now.AddHours(-1), ["crm:write"] = Now.AddDays(-40) }),
        });

        var unused = report.Findings.Where(f => f.Type == PostureFindingTypes.AgentUnusedScope).ToList();
        Assert.Equal(["billing:read", "crm:write"], unused.Select(f => f.Scope));
        Assert.All(unused, f => Assert.Equal(PostureSeverity.Medium, f.Severity));
        Assert.Equal("never granted", unused[0].Evidence);
        Assert.Contains("40 days ago", unused[1].Evidence, StringComparison.Ordinal);
        Assert.Equal(("billing", "crm"), (unused[0].Tool, unused[1].Tool));
        Assert.All(unused, f => Assert.Contains("allowed_scopes: [crm:read]", f.Recommendation, StringComparison.Ordinal));

        var agent = Assert.Single(report.Agents);
        Assert.Equal(["crm:read"], agent.RightSizedScopes);
        Assert.Equal(["billing:read", "crm:write"], agent.ScopesUnused);
    }

    [Fact]
    public void Tokens_that_may_outlive_max_ttl_are_long_ttl_whether_set_on_the_agent_or_left_to_the_server()
    {
        var longServer = Tokens with { MaxTtl = TimeSpan.FromHours(4) };
        var report = Analyze([Clean("own") with { MaxTtl = TimeSpan.FromHours(8) }, Clean("unset") with { MaxTtl = null }, Clean("short")], tokens: longServer);

        var findings = report.Findings.Where(f => f.Type == PostureFindingTypes.AgentLongTtl).ToList();
        Assert.Equal(["own", "unset"], findings.Select(f => f.Agent));

        // The server caps every agent: an agent's 8h is 4h in practice.
        Assert.Equal("max_ttl 4h", findings[0].Evidence);
        Assert.Contains("tokens.max_ttl, 4h", findings[1].Evidence, StringComparison.Ordinal);

        // With the server's own ceiling at 1h, leaving max_ttl unset is no finding.
        Assert.DoesNotContain(Analyze([Clean("unset") with { MaxTtl = null }]).Findings, f => f.Type == PostureFindingTypes.AgentLongTtl);
    }

    [Fact]
    public void An_agent_with_only_a_shared_secret_is_secret_auth_and_one_that_also_has_a_key_or_federation_is_not()
    {
        var secretOnly = Clean("secret-only") with { Auth = new AgentAuthOptions { ClientSecretSha256 = new byte[32] } };
        var both = Clean("both") with { Auth = new AgentAuthOptions { ClientSecretSha256 = new byte[32], Federated = new PrincipalRef("corp", "both") } };

        var finding = Assert.Single(Analyze([secretOnly, both]).Findings);
        Assert.Equal((PostureFindingTypes.AgentSecretAuth, PostureSeverity.Medium, "secret-only"), (finding.Type, finding.Severity, finding.Agent));
    }

    [Fact]
    public void A_vault_secret_older_than_rotate_secrets_after_is_not_rotated_and_names_no_value()
    {
        SecretInfo Secret(string name, int days) => new(name, 3, Now.AddDays(-days), "kek-1", [], ["crm"], null);
        var report = Analyze([Clean("crm-bot")], secrets: [Secret("crm-key", 91), Secret("billing-key", 89)]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal((PostureFindingTypes.SecretNotRotated, PostureSeverity.Medium, "crm-key", "crm"), (finding.Type, finding.Severity, finding.Secret, finding.Tool));
        Assert.Contains("version 3 set 91 days ago", finding.Evidence, StringComparison.Ordinal);
        Assert.Contains("tessera secret rotate crm-key", finding.Recommendation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST /repos/**", PostureSeverity.Medium)]
    [InlineData("DELETE /**", PostureSeverity.Medium)]
    [InlineData("* /**", PostureSeverity.High)]
    [InlineData("* /repos/**", PostureSeverity.Medium)]
    [InlineData("GET /**", null)]
    [InlineData("HEAD /repos/**", null)]
    [InlineData("POST /repos/*/issues", null)]
    [InlineData("POST /repos/**/issues", null)]
    public void A_write_rule_ending_in_a_double_star_is_a_write_wildcard(string rule, PostureSeverity? expected)
    {
        var tool = new Tool(new ToolOptions { Id = "gh", Audience = "urn:tool:gh", Scopes = new Dictionary<string, ToolScopeOptions> { ["write"] = new([rule], null) } });

        var findings = Analyze([Clean("crm-bot")], tools: [Crm, tool]).Findings.Where(f => f.Type == PostureFindingTypes.RuleWriteWildcard).ToList();

        Assert.Equal(expected is null ? 0 : 1, findings.Count);
        if (expected is { } severity)
        {
            Assert.Equal((severity, "gh", "gh:write", rule), (findings[0].Severity, findings[0].Tool, findings[0].Scope, findings[0].Rule));
        }
    }

    [Theory]
    [InlineData("MCP tools/call", true)]
    [InlineData("MCP tools/call *", true)]
    [InlineData("MCP tools/call **", true)]
    [InlineData("MCP tools/call get_*", false)]
    [InlineData("MCP tools/call delete_issue", false)]
    [InlineData("MCP tools/list", false)]
    [InlineData("MCP resources/read repo://acme/**", false)]
    public void An_mcp_rule_calling_any_tool_is_a_write_wildcard(string rule, bool expected)
    {
        var tool = new Tool(new ToolOptions
        {
            Id = "issues", Audience = "urn:tool:issues", Protocol = ToolProtocol.Mcp,
            Scopes = new Dictionary<string, ToolScopeOptions> { ["all"] = new([rule], null) },
        });

        var findings = Analyze([Clean("crm-bot")], tools: [Crm, tool]).Findings.Where(f => f.Type == PostureFindingTypes.RuleWriteWildcard).ToList();

        Assert.Equal(expected, findings.Count == 1);
    }

    [Fact]
    public void Delegating_to_an_agent_that_reaches_other_tools_widens_reach_transitively_and_names_the_path()
    {
        var report = Analyze(
        [
            Clean("lead", "crm:read") with { MayDelegateTo = ["helper", "peer"] },
            Clean("helper", "crm:read", "billing:read") with { MayDelegateTo = ["coder", "lead"] },
            Clean("coder", "github:read"),
            Clean("peer", "crm:read", "crm:write"),
        ]);

        var widened = report.Findings.Where(f => f.Type == PostureFindingTypes.DelegationWidensReach).ToList();
        Assert.Equal([("helper", "github"), ("lead", "billing"), ("lead", "github")], widened.Select(f => (f.Agent!, f.Tool!)));
        Assert.All(widened, f => Assert.Equal(PostureSeverity.High, f.Severity));
        Assert.Contains("helper -> coder", widened[2].Evidence, StringComparison.Ordinal);

        var lead = report.Agents.Single(a => a.Id == "lead");
        Assert.Equal(["coder", "helper", "peer"], lead.Reach.ViaDelegation);
        Assert.Equal(["crm"], lead.Reach.Tools);

        // A delegate within the agent's own tools (peer: crm) widens nothing, whatever its scopes.
        Assert.DoesNotContain(widened, f => f.Tool == "crm");
    }

    [Fact]
    public void A_long_delegation_chain_is_named_by_its_ends_and_length()
    {
        var chain = Enumerable.Range(0, 7).Select(i => Clean($"a{i}", i == 6 ? "github:read" : "crm:read") with { MayDelegateTo = i < 6 ? [$"a{i + 1}"] : [] }).ToList();

        var widened = Analyze(chain).Findings.Where(f => f.Type == PostureFindingTypes.DelegationWidensReach && f.Agent == "a0").ToList();

        var finding = Assert.Single(widened);
        Assert.Equal("github", finding.Tool);
        Assert.Contains("through may_delegate_to a1 -> a2 -> ... -> a6 (6 hops)", finding.Evidence, StringComparison.Ordinal);
        Assert.Contains("remove 'a1' from may_delegate_to of agent 'a0'", finding.Recommendation, StringComparison.Ordinal);
    }

    [Fact]
    public void Reach_lists_the_configured_tools_of_the_agents_scopes_and_the_vault_secrets_they_inject()
    {
        var report = Analyze([Clean("crm-bot", "crm:read", "billing:read", "github:read", "gone:read")]);

        var reach = Assert.Single(report.Agents).Reach;
        Assert.Equal(["billing", "crm", "github"], reach.Tools);
        Assert.Equal(["billing-key", "crm-key"], reach.Secrets);
        Assert.Empty(reach.ViaDelegation);
    }

    [Fact]
    public void Rules_no_request_matched_within_the_window_are_listed()
    {
        var report = Analyze([Clean("crm-bot")], rules: new()
        {
            [new RuleUse("crm:read", "GET /contacts/**")] = Now.AddDays(-1),
            [new RuleUse("crm:write", "POST /contacts")] = Now.AddDays(-45),
        });

        var unmatched = report.RulesUnmatched.Where(r => r.Scope.StartsWith("crm:", StringComparison.Ordinal)).ToList();
        Assert.Equal([new RuleUse("crm:write", "POST /contacts"), new RuleUse("crm:write", "PUT /contacts/*")], unmatched);
    }

    [Fact]
    public void Counts_name_every_type_and_severity_zero_included()
    {
        var report = Analyze([Clean("old") with { Expires = Now.AddDays(-1) }, Clean("soon") with { Expires = Now.AddDays(20) }]);

        var counts = report.Counts().ToList();
        Assert.Equal(PostureFindingTypes.All.Count * 3, counts.Count);
        Assert.Contains((PostureFindingTypes.AgentExpired, PostureSeverity.High, 1), counts);
        Assert.Contains((PostureFindingTypes.AgentExpiringSoon, PostureSeverity.Low, 1), counts);
        Assert.Contains((PostureFindingTypes.AgentStale, PostureSeverity.Medium, 0), counts);
        Assert.Equal(report.Findings.Count, counts.Sum(c => c.Count));
    }

    [Fact]
    public void Fail_on_is_reached_by_a_finding_of_that_severity_or_higher()
    {
        var report = Analyze([Clean("soon") with { Expires = Now.AddDays(20) }]);

        Assert.True(report.Reaches(PostureSeverity.Low));
        Assert.False(report.Reaches(PostureSeverity.Medium));
        Assert.Equal(PostureSeverity.Medium, PostureSeverities.Parse("medium"));
        Assert.Null(PostureSeverities.Parse("critical"));
        Assert.Equal("high", PostureSeverities.Name(PostureSeverity.High));
    }

    private static Tessera.Core.Leases.Lease FailingLease(string id) => new()
    {
        Id = id,
        Tool = "warehouse",
        Username = "tessera_" + id,
        Status = Tessera.Core.Leases.LeaseStatus.Ending,
        Agent = "report-bot",
        Jti = "jti-1",
        TokenIssuedAt = Now.AddMinutes(-30).ToUnixTimeSeconds(),
        Scopes = ["warehouse:read"],
        CreatedAt = Now.AddMinutes(-30),
        ExpiresAt = Now.AddMinutes(-20),
        EndReason = "it expired",
        Attempts = 4,
        NextAttemptAt = Now.AddSeconds(8),
        LastError = "the database did not answer within 15 s",
    };

    [Fact]
    public void A_lease_failing_to_end_is_a_high_finding_naming_the_lease_role_tool_and_agent()
    {
        const string id = "ls_0123456789abcdef0123456789abcdef";

        var report = Analyze([Clean("crm-bot")], failingLeases: [FailingLease(id)]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal((PostureFindingTypes.LeaseRevokeFailing, PostureSeverity.High), (finding.Type, finding.Severity));
        Assert.Equal(("warehouse", "report-bot"), (finding.Tool, finding.Agent));
        Assert.Contains($"lease {id} (role tessera_{id})", finding.Evidence, StringComparison.Ordinal);
        Assert.Contains("(it expired), but 4 attempt(s) failed; last: the database did not answer within 15 s", finding.Evidence, StringComparison.Ordinal);
        Assert.Contains($"tessera lease revoke {id} --force", finding.Recommendation, StringComparison.Ordinal);
        Assert.Contains("tool 'warehouse'", finding.Recommendation, StringComparison.Ordinal);
    }

    [Fact]
    public void An_audit_sink_that_fails_is_a_high_finding_and_one_far_behind_a_medium_one()
    {
        var report = Analyze([Clean("crm-bot")], sinks:
        [
            new("siem", Delivered: 120, Lag: 7, Failures: 3, FailingSince: Now.AddMinutes(-10)),
            new("stdout", Delivered: 5, Lag: Tessera.Core.Audit.Sinks.AuditSink.FarBehind, Failures: 0, FailingSince: null),
            new("file", Delivered: 9, Lag: Tessera.Core.Audit.Sinks.AuditSink.FarBehind - 1, Failures: 2, FailingSince: null),
        ]);

        Assert.Equal(
            [(PostureFindingTypes.AuditSinkFailing, PostureSeverity.High), (PostureFindingTypes.AuditSinkBehind, PostureSeverity.Medium)],
            report.Findings.Select(f => (f.Type, f.Severity)));
        var failing = report.Findings[0];
        Assert.Contains("audit sink 'siem' has failed to write since", failing.Evidence, StringComparison.Ordinal);
        Assert.Contains("3 failure(s); 7 event(s) after seq 120 wait in the store", failing.Evidence, StringComparison.Ordinal);
        Assert.Contains("audit sink 'stdout' is 10000 events behind", report.Findings[1].Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_failing_lease_is_one_finding_in_id_order()
    {
        var report = Analyze([Clean("crm-bot")], failingLeases: [FailingLease("ls_ffffffffffffffffffffffffffffffff"), FailingLease("ls_00000000000000000000000000000000")]);

        Assert.Equal(["ls_00000000000000000000000000000000", "ls_ffffffffffffffffffffffffffffffff"],
            report.Findings.Where(f => f.Type == PostureFindingTypes.LeaseRevokeFailing).Select(f => f.Evidence.Split(' ')[1]));
    }

    [Fact]
    public void Without_failing_leases_there_is_no_lease_finding()
    {
        Assert.DoesNotContain(Analyze([Clean("crm-bot")]).Findings, f => f.Type == PostureFindingTypes.LeaseRevokeFailing);
        Assert.DoesNotContain(Analyze([Clean("crm-bot")], failingLeases: []).Findings, f => f.Type == PostureFindingTypes.LeaseRevokeFailing);
    }

    private static Tessera.Core.Cluster.NodeConfig Node(string id, char hash) =>
        new(id, "sha256:" + new string(hash, 64), Now.AddHours(-1), Now.AddSeconds(-10));

    [Fact]
    public void Nodes_running_different_configurations_are_one_medium_finding_naming_each_node_and_its_hash()
    {
        var report = Analyze([Clean("crm-bot")], nodes: [Node("node-c", 'a'), Node("node-a", 'a'), Node("node-b", 'b')]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal((PostureFindingTypes.ConfigNodesDiffer, PostureSeverity.Medium), (finding.Type, finding.Severity));
        Assert.Equal("3 nodes run 2 configurations: node-a sha256:aaaaaaaaaaaa, node-b sha256:bbbbbbbbbbbb, node-c sha256:aaaaaaaaaaaa", finding.Evidence);
        Assert.Contains("POST /admin/v1/config/reload", finding.Recommendation, StringComparison.Ordinal);
        Assert.Contains(PostureFindingTypes.ConfigNodesDiffer, PostureFindingTypes.All);
    }

    [Fact]
    public void Nodes_running_one_configuration_or_a_node_alone_draw_no_finding()
    {
        Assert.Empty(Analyze([Clean("crm-bot")], nodes: [Node("node-a", 'a'), Node("node-b", 'a')]).Findings);
        Assert.Empty(Analyze([Clean("crm-bot")], nodes: [Node("node-a", 'a')]).Findings);
        Assert.Empty(Analyze([Clean("crm-bot")]).Findings);
    }
}
