namespace Tessera.Core.Approvals;

/// <summary>Who is deciding: an identity provider principal, or (for the bootstrap token) none.</summary>
/// <param name="Name"><c>idp:sub</c>, or <c>bootstrap-admin</c>.</param>
/// <param name="Idp">The identity provider id; null for the bootstrap token, which belongs to no group.</param>
/// <param name="Sub">The subject at that provider.</param>
public sealed record Approver(string Name, string? Idp, string? Sub);
