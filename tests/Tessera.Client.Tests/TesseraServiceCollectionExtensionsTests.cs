using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tessera.Client.Tests.Infrastructure;

namespace Tessera.Client.Tests;

public sealed class TesseraServiceCollectionExtensionsTests : IAsyncLifetime
{
    private TestBroker _broker = null!;

    public async ValueTask InitializeAsync() => _broker = await TestBroker.StartAsync();

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();

    [Theory]
    [InlineData("Authority")]
    [InlineData("AgentId")]
    [InlineData("ClientSecret")]
    public async Task A_missing_setting_is_an_options_validation_exception_at_first_use_naming_the_key(string missing)
    {
        var values = new Dictionary<string, string?>
        {
            ["Tessera:Authority"] = TestBroker.Issuer,
            ["Tessera:AgentId"] = "support-agent",
            ["Tessera:ClientSecret"] = TestBroker.SupportSecret,
        };
        values.Remove("Tessera:" + missing);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        await using var services = new ServiceCollection().AddTesseraAgent(configuration.GetSection("Tessera")).BuildServiceProvider();

        // Registration and resolution succeed; the first use fails, naming the key.
        var agent = services.GetRequiredService<ITesseraAgent>();
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(async () => await agent.GetTokenAsync("crm", ["crm:read"], TestContext.Current.CancellationToken));

        Assert.Contains("Tessera:" + missing, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_bound_from_configuration_get_a_token()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tessera:Authority"] = TestBroker.Issuer,
            ["Tessera:AgentId"] = "support-agent",
            ["Tessera:ClientSecret"] = TestBroker.SupportSecret,
            ["Tessera:RefreshBeforeExpiry"] = "00:01:00",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_broker.Time);
        services.AddTesseraAgent(configuration.GetSection("Tessera"));
        services.AddHttpClient(TesseraAgentOptions.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => AgentHost.PrimaryHandler(_broker));
        await using var provider = services.BuildServiceProvider();

        var token = await provider.GetRequiredService<ITesseraAgent>().GetTokenAsync("crm", ["read"], TestContext.Current.CancellationToken);

        Assert.Equal("crm:read", token.Scope);
        Assert.Equal("Bearer", token.TokenType);
        Assert.Equal(TimeSpan.FromMinutes(1), provider.GetRequiredService<IOptions<TesseraAgentOptions>>().Value.RefreshBeforeExpiry);
    }
}
