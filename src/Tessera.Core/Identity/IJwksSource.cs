using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Identity;

/// <summary>Where an identity provider's signing keys come from.</summary>
public interface IJwksSource
{
    /// <summary>The keys to try for a token with <paramref name="kid"/>; may refresh when the kid is unknown.</summary>
    ValueTask<IList<SecurityKey>> GetKeysAsync(string? kid, CancellationToken cancellationToken);
}
