namespace Tessera.Core.Storage;

/// <summary>
/// State that is written in the same durable transaction as the audit event that records it
/// (a revocation, later a mission or an approval), so a decision and its record never diverge.
/// </summary>
public abstract record StateChange;
