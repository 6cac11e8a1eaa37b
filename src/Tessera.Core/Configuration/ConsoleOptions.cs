namespace Tessera.Core.Configuration;

/// <summary>The web console (<c>console:</c>): how people sign in besides pasting a token.</summary>
public sealed record ConsoleOptions(ConsoleOidcOptions? Oidc)
{
    public static readonly ConsoleOptions Default = new(Oidc: null);
}

/// <summary>
/// OpenID Connect sign-in (<c>console.oidc</c>): the authorization code flow with PKCE against the
/// configured identity provider <see cref="Idp"/>, whose endpoints come from its issuer's discovery
/// document. The signed-in person is <c>{idp, sub}</c> with the rights <c>admins</c> and
/// <c>approver_groups</c> give; the client secret is read from the environment variable named
/// <see cref="ClientSecretEnv"/>, never from the file.
/// </summary>
public sealed record ConsoleOidcOptions(string Idp, string Issuer, string ClientId, string ClientSecretEnv, bool AllowInsecure);
