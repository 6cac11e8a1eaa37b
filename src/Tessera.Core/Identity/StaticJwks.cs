using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Identity;

/// <summary>Keys read once from a <c>jwks_file</c>.</summary>
public sealed class StaticJwks(IList<SecurityKey> keys) : IJwksSource
{
    public ValueTask<IList<SecurityKey>> GetKeysAsync(string? kid, CancellationToken cancellationToken) => ValueTask.FromResult(keys);
}
