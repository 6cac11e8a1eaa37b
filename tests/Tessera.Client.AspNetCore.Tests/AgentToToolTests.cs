using Microsoft.Extensions.DependencyInjection;
using Tessera.Client;

namespace Tessera.Client.AspNetCore.Tests;

/// <summary>
/// Both halves of the SDK together, with no proxy between them: an agent's <c>AddTesseraToken</c>
/// client calls a tool that validates Tessera tokens itself, as Bearer and DPoP-bound.
/// </summary>
public sealed class AgentToToolTests : ToolTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_agents_client_reaches_a_tool_that_validates_tokens_itself(bool dpop)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Broker.Time);
        services.AddTesseraAgent(o =>
        {
            o.Authority = Broker.Issuer;
            o.AgentId = "support-agent";
            o.UseClientSecret(ToolBroker.Secret);
            if (dpop)
            {
                o.UseDPoP();
            }
        });
        services.AddHttpClient("crm", c => c.BaseAddress = Tool.Address).AddTesseraToken("crm", "crm:read");
        await using var provider = services.BuildServiceProvider();
        var crm = provider.GetRequiredService<IHttpClientFactory>().CreateClient("crm");

        using var read = await crm.GetAsync("/contacts/1", Ct);
        var seen = JsonDocument.Parse(await read.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(("support-agent", "crm:read"), (seen.GetProperty("client_id").GetString(), seen.GetProperty("scope").GetString()));

        // What the token does not allow, the tool refuses: the SDK does not widen anything.
        using var export = await crm.PostAsync("/exports", null, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, export.StatusCode);
    }
}
