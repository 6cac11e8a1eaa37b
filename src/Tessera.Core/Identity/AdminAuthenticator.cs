using System.Security.Cryptography;
using System.Text;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;

namespace Tessera.Core.Identity;

/// <summary>
/// Authenticates callers of the admin API: the bootstrap token from <c>data_dir/admin.token</c>
/// (compared as SHA-256 in constant time), or a JWT from an identity provider whose subject is
/// listed under <c>admins</c>.
/// </summary>
public sealed class AdminAuthenticator(LiveConfig live, byte[]? bootstrapTokenSha256)
{
    public const string BootstrapTokenFileName = "admin.token";
    public const string BootstrapAdminName = "bootstrap-admin";

    /// <summary>
    /// Returns the admin's name (<c>idp:sub</c> or <c>bootstrap-admin</c>), or the reason for refusal
    /// and its code (<see cref="RefusalCodes.AdminNotAdmin"/>: an identity proven, without the right; 403).
    /// </summary>
    public async Task<(string? Admin, string? Reason, string? Code)> AuthenticateAsync(string? bearer, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(bearer))
        {
            return (null, "no bearer token", RefusalCodes.AdminTokenMissing);
        }

        if (bootstrapTokenSha256 is not null && bearer.Length <= 256)
        {
            var presented = SHA256.HashData(Encoding.UTF8.GetBytes(bearer));
            if (CryptographicOperations.FixedTimeEquals(presented, bootstrapTokenSha256))
            {
                return (BootstrapAdminName, null, null);
            }
        }

        var (principal, reason) = await live.Current.IdentityProviders.ValidateAsync(bearer, IdentityTokenUse.Administration, cancellationToken);
        if (principal is null)
        {
            return (null, reason, RefusalCodes.AdminTokenInvalid);
        }

        var idp = principal.Provider.Options.Id;
        var isAdmin = live.Config.Admins.Any(a => a.Idp == idp && a.Sub == principal.Subject);
        return isAdmin ? ($"{idp}:{principal.Subject}", null, null) : (null, $"{idp}:{principal.Subject} is not an admin", RefusalCodes.AdminNotAdmin);
    }

    /// <summary>
    /// Who presents <paramref name="bearer"/>, admin or not: the bootstrap token (an admin of no
    /// identity provider) or an identity provider's principal. Approvers are principals, not admins.
    /// </summary>
    public async Task<(Approvals.Approver? Caller, bool IsAdmin, string? Reason, string? Code)> IdentifyAsync(string? bearer, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(bearer))
        {
            return (null, false, "no bearer token", RefusalCodes.AdminTokenMissing);
        }

        if (bootstrapTokenSha256 is not null && bearer.Length <= 256)
        {
            var presented = SHA256.HashData(Encoding.UTF8.GetBytes(bearer));
            if (CryptographicOperations.FixedTimeEquals(presented, bootstrapTokenSha256))
            {
                return (new Approvals.Approver(BootstrapAdminName, null, null), true, null, null);
            }
        }

        var (principal, reason) = await live.Current.IdentityProviders.ValidateAsync(bearer, IdentityTokenUse.Administration, cancellationToken);
        if (principal is null)
        {
            return (null, false, reason, RefusalCodes.AdminTokenInvalid);
        }

        var idp = principal.Provider.Options.Id;
        return (new Approvals.Approver($"{idp}:{principal.Subject}", idp, principal.Subject), live.Config.Admins.Any(a => a.Idp == idp && a.Sub == principal.Subject), null, null);
    }

    /// <summary>
    /// Creates the bootstrap token file (0600, in a 0700 directory) if it does not exist and returns
    /// the token's hash. An existing file that group or others may read or write is refused.
    /// </summary>
    public static byte[] EnsureBootstrapToken(string dataDir)
    {
        var path = Path.Combine(dataDir, BootstrapTokenFileName);
        if (!File.Exists(path))
        {
            Vault.PrivateFile.CreateDirectory(dataDir);
            var token = "tsa_" + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
            Vault.PrivateFile.WriteNew(path, token + "\n");
        }
        else
        {
            Vault.PrivateFile.EnsureNotShared(path, "the bootstrap admin token");
        }

        return SHA256.HashData(Encoding.UTF8.GetBytes(File.ReadAllText(path).Trim()));
    }
}
