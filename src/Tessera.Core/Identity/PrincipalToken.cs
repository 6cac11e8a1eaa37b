using Tessera.Core.Tokens;

namespace Tessera.Core.Identity;

/// <summary>A validated JWT from a configured identity provider.</summary>
/// <param name="Provider">Who issued it.</param>
/// <param name="Subject">The principal's <c>sub</c>.</param>
/// <param name="Scope">Its <c>scope</c> (or <c>scp</c>) claim; null when it has none.</param>
/// <param name="MayActSubject">RFC 8693 §4.4 <c>may_act.sub</c>: the only actor the principal allows; null when absent.</param>
/// <param name="HasMayAct">Whether a <c>may_act</c> claim is present at all (even one this server cannot read).</param>
/// <param name="HasAct">Whether it already carries an <c>act</c> chain from its own issuer.</param>
/// <param name="ExpiresAt">Its <c>exp</c>.</param>
public sealed record PrincipalToken(
    IdentityProvider Provider,
    string Subject,
    ScopeSet? Scope,
    string? MayActSubject,
    bool HasMayAct,
    bool HasAct,
    DateTimeOffset ExpiresAt);
