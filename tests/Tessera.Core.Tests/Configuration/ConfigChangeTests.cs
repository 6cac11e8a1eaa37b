namespace Tessera.Core.Tests.Configuration;

public sealed class ConfigChangeTests
{
    private static ConfigChange Between(string before, string after) => ConfigChange.Between(ConfigFixture.Load(before), ConfigFixture.Load(after));

    [Fact]
    public void The_same_file_changes_nothing()
    {
        var change = Between(ConfigFixture.Yaml(), ConfigFixture.Yaml());

        Assert.True(change.IsEmpty);
        Assert.Empty(change.RemovedAgents);
    }

    [Fact]
    public void An_agent_added_and_then_removed_is_named_each_time_and_its_removal_is_listed_for_revocation()
    {
        var added = Between(ConfigFixture.Yaml(), ConfigFixture.Yaml(ConfigFixture.Billing));
        var removed = Between(ConfigFixture.Yaml(ConfigFixture.Billing), ConfigFixture.Yaml());

        Assert.Equal(["agent added: billing-bot"], added.Changes);
        Assert.Empty(added.RemovedAgents);
        Assert.Equal(["agent removed: billing-bot"], removed.Changes);
        Assert.Equal(["billing-bot"], removed.RemovedAgents);
        Assert.Empty(removed.RestartRequired);
    }

    [Fact]
    public void An_agent_changed_names_the_keys_that_changed_and_never_their_values()
    {
        var change = Between(ConfigFixture.Yaml(), ConfigFixture.Yaml(supportScopes: "\"crm:read\""));

        Assert.Equal(["agent changed: support-agent (allowed_scopes)"], change.Changes);
        Assert.DoesNotContain(change.Changes, c => c.Contains("crm:export", StringComparison.Ordinal));
    }

    [Fact]
    public void A_scope_whose_rules_changed_removed_or_added_is_one_line_each()
    {
        var narrowed = Between(ConfigFixture.Yaml(), ConfigFixture.Yaml(crmScopes: """
                      read:   { rules: [ "GET /contacts/*" ] }
                      export: { rules: [ "POST /exports" ] }
                      admin:  { rules: [ "DELETE /contacts/*" ] }
            """));

        Assert.Equal(["scope added: crm:admin", "scope removed: crm:notes", "scope changed: crm:read (rules)"], narrowed.Changes);
    }

    [Fact]
    public void A_principal_whose_ceiling_changed_is_named()
    {
        var change = Between(ConfigFixture.Yaml(), ConfigFixture.Yaml(principals: "\"crm:read\""));

        Assert.Equal(["principal changed: corp/alice (scopes)"], change.Changes);
    }

    [Fact]
    public void A_restart_only_section_that_changed_is_listed_beside_the_other_changes()
    {
        var change = Between(ConfigFixture.Yaml(), ConfigFixture.Yaml(ConfigFixture.Billing, server: "listen: http://127.0.0.1:9090"));

        Assert.Equal(["server"], change.RestartRequired);
        Assert.Equal(["agent added: billing-bot"], change.Changes);
    }

    [Fact]
    public void A_file_using_every_section_compares_equal_to_itself_and_names_each_section_that_changed()
    {
        // Every kind of option record goes through the comparison: sinks, telemetry, the console's
        // sign-in, webhooks, a database tool, posture and registry settings.
        static string Full(string sink = "logs/audit.jsonl", string webhookSecret = "oncall-hook") => ConfigFixture.Yaml() + $$"""

            admins:
              - { idp: corp, sub: carol }
            approver_groups:
              - { id: oncall, members: [ { idp: corp, sub: bob } ], webhooks: [ { url: "https://hooks.corp.example/a", secret: {{webhookSecret}} } ] }
            audit:
              checkpoint: { every_events: 500 }
              sinks:
                - { type: file, path: {{sink}} }
            telemetry:
              otlp: { endpoint: "http://collector:4318" }
            console:
              oidc: { idp: corp, client_id: console, client_secret_env: CONSOLE_SECRET }
            posture: { window: 14d }
            registry: { max_agent_lifetime: 400d }
            """;

        Assert.True(Between(Full(), Full()).IsEmpty);
        var change = Between(Full(), Full(sink: "logs/other.jsonl", webhookSecret: "oncall-hook-2"));
        Assert.Equal(["audit"], change.RestartRequired);
        Assert.Equal(["approver group changed: oncall (webhooks)"], change.Changes);
    }

    [Fact]
    public void Every_top_level_key_of_the_file_is_either_reloadable_or_named_restart_only()
    {
        // A new top-level section must be placed on one side deliberately: silently reloadable, it would
        // be read once at start and never again; silently ignored by the comparison, a reload would
        // report a hash the node does not run.
        string[] reloadable = ["identity_providers", "admins", "approver_groups", "principals", "tools", "agents", "registry", "posture"];
        var restartOnly = ConfigChange.RestartOnly.Select(s => s.Key).ToList();
        var loaderKeys = TopLevelKeysOfTheLoader();

        Assert.Empty(reloadable.Intersect(restartOnly));
        Assert.Equal(loaderKeys.Order(StringComparer.Ordinal), reloadable.Concat(restartOnly).Order(StringComparer.Ordinal));
    }

    /// <summary>The loader refuses unknown top-level keys and names the ones it knows in its error.</summary>
    private static IReadOnlyList<string> TopLevelKeysOfTheLoader()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load("not_a_key: 1\n", "tessera.yaml", Path.GetTempPath()));
        var known = error.Problem[(error.Problem.IndexOf(':', StringComparison.Ordinal) + 1)..];
        return [.. known.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(k => k.Trim('\'', '"', ' ', '.'))];
    }
}
