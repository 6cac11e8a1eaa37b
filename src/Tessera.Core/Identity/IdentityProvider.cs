using Tessera.Core.Configuration;

namespace Tessera.Core.Identity;

/// <summary>A trusted issuer of principal JWTs with its signing keys.</summary>
public sealed class IdentityProvider(IdentityProviderOptions options, IJwksSource keys)
{
    public IdentityProviderOptions Options { get; } = options;

    public IJwksSource Keys { get; } = keys;
}
