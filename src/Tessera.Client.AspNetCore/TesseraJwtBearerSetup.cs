using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Client.AspNetCore;

/// <summary>
/// Turns <see cref="TesseraTokenOptions"/> into the JwtBearer options of one scheme: the checks JwtBearer
/// can express by configuration are made there (signature by a key of the metadata's <c>jwks_uri</c>,
/// issuer, exact audience, <c>typ: at+jwt</c>, ES256, lifetime), the rest in <see cref="TesseraTokenEvents"/>.
/// Mirrors how Tessera validates its own tokens.
/// </summary>
internal static class TesseraJwtBearerSetup
{
    /// <summary>Clock skew allowed on <c>exp</c> and <c>nbf</c>, as Tessera allows.</summary>
    internal static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);

    public static void Apply(JwtBearerOptions bearer, TesseraTokenOptions options, IServiceProvider services, string scheme)
    {
        if (options.Authority is not { IsAbsoluteUri: true } authority || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp)
            || authority.Query.Length > 0 || authority.Fragment.Length > 0)
        {
            throw new InvalidOperationException($"Tessera token scheme '{scheme}': Authority must be Tessera's issuer, an absolute http(s) URL without query or fragment.");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            throw new InvalidOperationException($"Tessera token scheme '{scheme}': Audience must be this tool's audience (urn:tessera:tool:ID unless tools[].audience says otherwise).");
        }

        if (options.IntrospectionCacheDuration < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Tessera token scheme '{scheme}': IntrospectionCacheDuration must not be negative.");
        }

        // Tessera writes its issuer without a trailing slash; new Uri("https://tessera.internal") prints one.
        var issuer = authority.GetLeftPart(UriPartial.Path).TrimEnd('/');
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Tessera.Client.AspNetCore");

        if (options.RequireHttpsMetadata && authority.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"Tessera token scheme '{scheme}': Authority must be HTTPS (set RequireHttpsMetadata = false only for a local broker).");
        }

        bearer.MetadataAddress = issuer + "/.well-known/oauth-authorization-server";
        bearer.RequireHttpsMetadata = options.RequireHttpsMetadata;
        // JwtBearer makes its backchannel only along with its own configuration manager; made here on first
        // use instead, so a BackchannelHttpHandler or Backchannel set on the JwtBearer options still applies.
        var backchannel = new Lazy<HttpClient>(() => bearer.Backchannel ??= new HttpClient(bearer.BackchannelHttpHandler ?? new HttpClientHandler())
        {
            Timeout = bearer.BackchannelTimeout,
            MaxResponseContentBufferSize = 1024 * 1024,
        });
        bearer.ConfigurationManager = new TesseraMetadata(issuer, bearer.MetadataAddress, options.RequireHttpsMetadata, () => backchannel.Value, time, logger);
        bearer.MapInboundClaims = false;
        bearer.SaveToken = false;
        bearer.TimeProvider = time;
        bearer.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = options.Audience,
            // Exactly the audience: "urn:tessera:tool:crm/" is another tool.
            IgnoreTrailingSlashWhenValidatingAudience = false,
            RequireAudience = true,
            // RFC 9068: an access token, not an ID token or another JWT signed by the same keys.
            ValidTypes = ["at+jwt"],
            // Tessera signs with ES256 only; none and HMAC can never pass.
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = Skew,
            // Microsoft.IdentityModel reads the system clock; the host's TimeProvider decides here.
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } exp && now < exp + Skew && (notBefore is not { } nbf || nbf <= now + Skew);
            },
            NameClaimType = TesseraClaimTypes.Subject,
            AuthenticationType = scheme,
        };

        var introspection = options.Introspection is { } client
            ? new TokenIntrospection(client, options.IntrospectionCacheDuration, () => backchannel.Value, time, logger)
            : null;
        bearer.Events = new TesseraTokenEvents(options, new DpopProof(new ProofReplayCache(time), time), introspection);
    }
}
