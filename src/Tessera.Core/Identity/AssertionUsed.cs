using Tessera.Core.Storage;

namespace Tessera.Core.Identity;

/// <summary>
/// A client assertion's <c>jti</c>, spent. Stored with the audit event of the request it authenticated,
/// and reloaded into the replay cache at start, so a restart does not reopen a replay window.
/// </summary>
public sealed record AssertionUsed(string Key, DateTimeOffset ExpiresAt) : StateChange;
