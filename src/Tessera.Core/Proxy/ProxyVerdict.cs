namespace Tessera.Core.Proxy;

/// <summary>
/// What <see cref="ProxyService"/> decided about one request: a grant, or a refusal. A struct, so
/// an allowed request (the hot path) allocates nothing for it.
/// </summary>
public readonly struct ProxyVerdict
{
    private ProxyVerdict(ProxyGrant grant, ProxyRefusal? refusal)
    {
        Grant = grant;
        Refusal = refusal;
    }

    /// <summary>True when the request may be forwarded (<see cref="Grant"/> is set), false when it was refused.</summary>
    public bool IsAllowed => Refusal is null;

    /// <summary>Where and how to forward; only meaningful when <see cref="IsAllowed"/>.</summary>
    public ProxyGrant Grant { get; }

    /// <summary>The refusal; null when the request is allowed.</summary>
    public ProxyRefusal? Refusal { get; }

    public static ProxyVerdict Allow(ProxyGrant grant) => new(grant, null);

    public static ProxyVerdict Refuse(ProxyRefusal refusal) => new(default, refusal);
}
