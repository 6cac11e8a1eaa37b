namespace Tessera.Core.Proxy;

/// <summary>
/// Whether one proxied request may pass: the scope and rule that allow it, or the HTTP status, the
/// refusal's code (<see cref="Protocol.RefusalCodes"/>) and a reason for a person (never a token or a secret).
/// </summary>
public sealed record ProxyDecision(int Status, string Reason, string? Scope = null, PathRule? Rule = null, string? Code = null)
{
    public bool IsAllowed => Rule is not null;

    public static ProxyDecision Allow(string scope, PathRule rule) => new(200, "allowed", scope, rule);

    public static ProxyDecision Refuse(int status, string code, string reason) => new(status, reason, Code: code);
}
