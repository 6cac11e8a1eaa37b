using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Configuration;

namespace Tessera.Core.Identity;

/// <summary>A trusted issuer of principal JWTs with its signing keys.</summary>
public sealed class IdentityProvider(IdentityProviderOptions options, IList<SecurityKey> keys)
{
    public IdentityProviderOptions Options { get; } = options;

    public IList<SecurityKey> Keys { get; } = keys;
}
