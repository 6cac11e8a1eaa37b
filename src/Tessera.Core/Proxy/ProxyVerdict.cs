namespace Tessera.Core.Proxy;

/// <summary>What <see cref="ProxyService"/> decided about one request: exactly one of a grant or a refusal.</summary>
public readonly struct ProxyVerdict
{
    private ProxyVerdict(ProxyGrant? grant, ProxyRefusal? refusal)
    {
        Grant = grant;
        Refusal = refusal;
    }

    public ProxyGrant? Grant { get; }

    public ProxyRefusal? Refusal { get; }

    public static ProxyVerdict Allow(ProxyGrant grant) => new(grant, null);

    public static ProxyVerdict Refuse(ProxyRefusal refusal) => new(null, refusal);
}
