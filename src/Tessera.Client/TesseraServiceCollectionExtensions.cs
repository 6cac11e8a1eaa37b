using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Tessera.Client;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a Tessera agent (<see cref="ITesseraAgent"/>).</summary>
public static class TesseraServiceCollectionExtensions
{
    /// <summary>Registers the agent, configured in code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets Authority, AgentId and one client authentication method, and optionally DPoP.</param>
    public static IServiceCollection AddTesseraAgent(this IServiceCollection services, Action<TesseraAgentOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        return services.AddTesseraAgentCore();
    }

    /// <summary>Registers the agent, bound from <paramref name="configuration"/> (<c>Authority</c>, <c>AgentId</c>, <c>ClientSecret</c>, <c>RefreshBeforeExpiry</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section, typically <c>configuration.GetSection("Tessera")</c>.</param>
    public static IServiceCollection AddTesseraAgent(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<TesseraAgentOptions>(configuration);
        return services.AddTesseraAgentCore();
    }

    private static IServiceCollection AddTesseraAgentCore(this IServiceCollection services)
    {
        services.AddHttpClient(TesseraAgentOptions.HttpClientName);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TesseraAgentOptions>, TesseraAgentOptionsValidator>());
        services.TryAddSingleton<TesseraAgent>();
        services.TryAddSingleton<ITesseraAgent>(sp => sp.GetRequiredService<TesseraAgent>());
        return services;
    }
}
