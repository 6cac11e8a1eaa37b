using Tessera.Cli.Commands;

namespace Tessera.Cli.Tests;

public sealed class AuditDescribeTests
{
    [Fact]
    public void A_proxied_request_line_shows_method_path_rule_status_and_latency()
    {
        using var json = JsonDocument.Parse("""
            {"seq":7,"time":"2026-11-29T12:00:00.000Z","type":"proxy.forwarded","outcome":"allowed","agent":"support-agent","tool":"crm",
             "scopes":["crm:read"],"jti":"j1","method":"GET","path":"/contacts/7","rule":"GET /contacts/**","status":200,"latency_ms":1.25,"prev_hash":"x","hash":"y"}
            """);

        var line = AuditCommand.Describe(json.RootElement);

        Assert.Equal("7  2026-11-29T12:00:00.000Z  proxy.forwarded allowed  agent=support-agent  tool=crm  method=GET  path=/contacts/7  rule=GET /contacts/**  status=200  latency_ms=1.25  jti=j1  scopes=crm:read", line);
    }

    [Fact]
    public void A_refusal_line_shows_its_reason_code_before_its_reason()
    {
        using var json = JsonDocument.Parse("""
            {"seq":8,"time":"2026-11-29T12:00:00.000Z","type":"token.denied","outcome":"denied","agent":"support-agent",
             "reason":"invalid_client: wrong client secret","reason_code":"client.wrong_secret","request_id":"r1","prev_hash":"x","hash":"y"}
            """);

        var line = AuditCommand.Describe(json.RootElement);

        Assert.Equal("8  2026-11-29T12:00:00.000Z  token.denied denied  agent=support-agent  reason_code=client.wrong_secret  reason=invalid_client: wrong client secret", line);
    }

    [Fact]
    public void A_reload_line_shows_who_asked_the_hash_and_each_change()
    {
        using var json = JsonDocument.Parse("""
            {"seq":9,"time":"2026-11-29T12:00:00.000Z","type":"config.reloaded","outcome":"allowed","principal":"corp:carol",
             "reason":"reloaded by corp:carol","config_hash":"sha256:ab12","changes":["agent added: billing-bot","scope changed: crm:read (rules)"],"prev_hash":"x","hash":"y"}
            """);

        var line = AuditCommand.Describe(json.RootElement);

        Assert.Equal("9  2026-11-29T12:00:00.000Z  config.reloaded allowed  principal=corp:carol  config_hash=sha256:ab12  reason=reloaded by corp:carol  changes=agent added: billing-bot; scope changed: crm:read (rules)", line);
    }
}
