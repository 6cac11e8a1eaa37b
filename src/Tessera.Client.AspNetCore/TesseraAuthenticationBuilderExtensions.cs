using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tessera.Client.AspNetCore;

/// <summary>Registers validation of Tessera access tokens for a tool that receives them directly.</summary>
public static class TesseraAuthenticationBuilderExtensions
{
    /// <summary>
    /// Adds the <c>Tessera</c> authentication scheme: a JwtBearer handler that accepts only access tokens
    /// of the configured Tessera for this tool, Bearer or DPoP-bound, optionally checked for revocation.
    /// </summary>
    /// <param name="builder">The authentication builder.</param>
    /// <param name="configure">Sets at least <see cref="TesseraTokenOptions.Authority"/> and <see cref="TesseraTokenOptions.Audience"/>.</param>
    /// <returns>The same builder.</returns>
    public static AuthenticationBuilder AddTesseraToken(this AuthenticationBuilder builder, Action<TesseraTokenOptions> configure) =>
        builder.AddTesseraToken(TesseraTokenDefaults.AuthenticationScheme, configure);

    /// <summary>Adds a Tessera token scheme under another name (a tool that trusts two brokers, say).</summary>
    /// <param name="builder">The authentication builder.</param>
    /// <param name="authenticationScheme">The scheme's name.</param>
    /// <param name="configure">Sets at least <see cref="TesseraTokenOptions.Authority"/> and <see cref="TesseraTokenOptions.Audience"/>.</param>
    /// <returns>The same builder.</returns>
    public static AuthenticationBuilder AddTesseraToken(this AuthenticationBuilder builder, string authenticationScheme, Action<TesseraTokenOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(authenticationScheme);
        ArgumentNullException.ThrowIfNull(configure);

        builder.Services.Configure(authenticationScheme, configure);
        // A Configure step, so it runs before JwtBearer's own post-configuration builds the metadata manager from it.
        builder.Services.AddOptions<JwtBearerOptions>(authenticationScheme)
            .Configure<IOptionsMonitor<TesseraTokenOptions>, IServiceProvider>((bearer, tessera, services) =>
                TesseraJwtBearerSetup.Apply(bearer, tessera.Get(authenticationScheme), services, authenticationScheme));
        return builder.AddJwtBearer(authenticationScheme, _ => { });
    }
}
