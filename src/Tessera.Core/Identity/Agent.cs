using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Configuration;
using Tessera.Core.Tokens;

namespace Tessera.Core.Identity;

/// <summary>A registered non-human identity: an OAuth client with an owner, a purpose and an expiry.</summary>
public sealed class Agent
{
    public Agent(AgentOptions options)
    {
        Id = options.Id;
        Owner = options.Owner;
        Purpose = options.Purpose;
        Expires = options.Expires;
        AllowedScopes = ScopeSet.Of(options.AllowedScopes);
        MaxTtl = options.MaxTtl;
        MayDelegateTo = options.MayDelegateTo.ToHashSet(StringComparer.Ordinal);
        var secrets = new List<ClientSecret>();
        if (options.Auth.ClientSecretSha256 is { } single)
        {
            secrets.Add(new ClientSecret(single, null));
        }

        secrets.AddRange(options.Auth.ClientSecrets.Select(s => new ClientSecret(s.Sha256, s.Expires)));
        Secrets = secrets;
        AssertionKeys = options.Auth.JwksJson is { } jwks ? new JsonWebKeySet(jwks).GetSigningKeys() : [];
        Federated = options.Auth.Federated;
        RequireDpop = options.RequireDpop;
    }

    /// <summary>Tokens for this agent must be DPoP-bound (<c>require_dpop</c>).</summary>
    public bool RequireDpop { get; }

    public string Id { get; }
    public string Owner { get; }
    public string Purpose { get; }
    public DateTimeOffset Expires { get; }
    public ScopeSet AllowedScopes { get; }
    public TimeSpan? MaxTtl { get; }
    public IReadOnlySet<string> MayDelegateTo { get; }

    /// <summary>
    /// The agent's client secrets (hashes, each with its expiry), empty when it has none. At most
    /// <see cref="AgentAuthOptions.MaxClientSecrets"/>: every attempt compares against all of them.
    /// </summary>
    public IReadOnlyList<ClientSecret> Secrets { get; }

    /// <summary>True when the agent still relies on a static secret (any configured, expired or not).</summary>
    public bool HasStaticSecret => Secrets.Count > 0;

    /// <summary>Public keys for <c>private_key_jwt</c> client assertions.</summary>
    internal IList<SecurityKey> AssertionKeys { get; }

    /// <summary>The identity provider and subject whose assertions authenticate this agent, or null.</summary>
    public PrincipalRef? Federated { get; }

    public IReadOnlyList<string> AuthMethods
    {
        get
        {
            var methods = new List<string>();
            if (HasStaticSecret)
            {
                methods.Add("client_secret_basic");
                methods.Add("client_secret_post");
            }

            if (AssertionKeys.Count > 0)
            {
                methods.Add("private_key_jwt");
            }

            if (Federated is not null)
            {
                methods.Add("federated");
            }

            return methods;
        }
    }

    public bool IsExpiredAt(DateTimeOffset now) => now >= Expires;
}
