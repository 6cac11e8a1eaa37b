using System.Security.Cryptography;
using System.Text;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;

namespace Tessera.Core.Identity;

/// <summary>
/// Authenticates agents at the token, introspection and revocation endpoints with
/// <c>client_secret_basic</c>, <c>client_secret_post</c> or <c>private_key_jwt</c>.
/// </summary>
public sealed class ClientAuthenticator(LiveConfig live, ClientAssertionValidator assertions, TimeProvider time, SuspendedAgents? suspended = null,
    Limits.RateLimits? limits = null)
{
    /// <summary>Compared against when the client is unknown, so both paths cost the same.</summary>
    private static readonly byte[] DecoyHash = SHA256.HashData("tessera-decoy"u8);

    /// <summary>Client ids and secrets longer than this are refused before hashing.</summary>
    internal const int MaxCredentialLength = 512;

    public async ValueTask<ClientAuthentication> AuthenticateAsync(ClientAuthenticationAttempt credentials, CancellationToken cancellationToken)
    {
        var claimed = Truncate(credentials.ClientId);

        // Only a secret can be guessed, so only secret attempts count against (and are refused for) a
        // client id; otherwise anyone could lock a key-based agent out by sending junk in its name.
        var secretClientId = credentials.Method is ClientAuthMethods.ClientSecretBasic or ClientAuthMethods.ClientSecretPost ? claimed : null;

        // Reject attempts from a source, or for a client id, that failed too often: before anything is checked,
        // so the right secret is refused like a wrong one until time gives an attempt back.
        if (limits?.CheckClientAuthentication(credentials.Source, secretClientId) is { Allowed: false } verdict)
        {
            return ClientAuthentication.Limited(claimed, verdict);
        }

        ClientAuthentication result;
        switch (credentials.Method)
        {
            case ClientAuthMethods.ClientSecretBasic or ClientAuthMethods.ClientSecretPost:
                result = VerifySecret(credentials, claimed);
                break;
            case ClientAuthMethods.PrivateKeyJwt:
                result = await assertions.ValidateAsync(credentials.Assertion ?? "", credentials.ClientId, cancellationToken);
                break;
            default:
                // Reject requests that carry no client authentication at all.
                result = ClientAuthentication.Failure(claimed, RefusalCodes.ClientNone, "no client authentication");
                break;
        }

        if (!result.Succeeded)
        {
            // Counted only when the client did not prove who it is; an expired or suspended agent did.
            limits?.ClientAuthenticationFailed(credentials.Source, secretClientId);
            return result;
        }

        // Only once the client proved who it is may it learn that its registration expired.
        var agent = result.Agent!;
        if (agent.IsExpiredAt(time.GetUtcNow()))
        {
            return ClientAuthentication.Failure(agent.Id, RefusalCodes.ClientRegistrationExpired, "agent registration expired",
                new OAuthError(OAuthErrorCodes.InvalidClient, $"The registration of agent '{agent.Id}' expired on {agent.Expires:yyyy-MM-dd}; its owner must renew it.", 401))
                with { Assertion = result.Assertion };
        }

        if (suspended?.IsSuspended(agent.Id) == true)
        {
            return ClientAuthentication.Failure(agent.Id, RefusalCodes.ClientSuspended, "agent suspended",
                new OAuthError(OAuthErrorCodes.InvalidClient, $"Agent '{agent.Id}' is suspended; an admin must resume it before it gets new tokens.", 401))
                with { Assertion = result.Assertion };
        }

        return result;
    }

    private ClientAuthentication VerifySecret(ClientAuthenticationAttempt credentials, string? claimed)
    {
        var secret = credentials.Secret ?? "";
        if (string.IsNullOrEmpty(credentials.ClientId) || credentials.ClientId.Length > MaxCredentialLength || secret.Length > MaxCredentialLength)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.ClientMalformedCredentials, "malformed client credentials");
        }

        var agent = live.Current.Agents.Find(credentials.ClientId);
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(secret), presented);
        var (active, expired) = MatchSecret(presented, agent?.Secrets ?? [], time.GetUtcNow());
        if (agent is null)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.ClientUnknown, "unknown client");
        }

        if (!agent.HasStaticSecret)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.ClientNoSecret, "client has no secret registered");
        }

        // Reject a secret past its own expiry, even though it was right: rotation retired it.
        if (!active && expired)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.ClientSecretExpired, "client secret expired");
        }

        return active ? ClientAuthentication.Success(agent) : ClientAuthentication.Failure(claimed, RefusalCodes.ClientWrongSecret, "wrong client secret");
    }

    /// <summary>
    /// Compares the presented hash with every slot in constant time: always at least
    /// <see cref="AgentAuthOptions.MaxClientSecrets"/> comparisons (decoys fill the empty slots), no early
    /// exit and no branch on a result, so the time taken does not tell whether the client exists, how
    /// many secrets it has, or which one matched.
    /// </summary>
    private static (bool Active, bool Expired) MatchSecret(ReadOnlySpan<byte> presented, IReadOnlyList<ClientSecret> secrets, DateTimeOffset now)
    {
        var active = 0;
        var expired = 0;
        var slots = Math.Max(secrets.Count, AgentAuthOptions.MaxClientSecrets);
        for (var i = 0; i < slots; i++)
        {
            var real = i < secrets.Count;
            var expected = real ? secrets[i].Sha256 : DecoyHash;
            var equal = CryptographicOperations.FixedTimeEquals(presented, expected) ? 1 : 0;
            // A decoy never counts, even if someone sends the decoy's preimage.
            var live = real && !secrets[i].IsExpiredAt(now) ? 1 : 0;
            var present = real ? 1 : 0;
            active |= equal & live;
            expired |= equal & present & (live ^ 1);
        }

        return (active == 1, expired == 1);
    }

    /// <summary>Audit records keep at most 128 characters of a claimed (untrusted) client id.</summary>
    internal static string? Truncate(string? clientId) => clientId is { Length: > 128 } ? clientId[..128] + "…" : clientId;
}
