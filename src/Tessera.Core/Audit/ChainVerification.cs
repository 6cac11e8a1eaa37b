namespace Tessera.Core.Audit;

/// <summary>The result of verifying one node's chain (node null: the one chain of a store of one chain).</summary>
public sealed record ChainVerification(string? Node, AuditVerification Result);
