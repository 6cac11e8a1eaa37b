using Tessera.Core.Tools;

namespace Tessera.Core.Leases;

/// <summary>What a provider needs to make, renew or end one lease's credential.</summary>
/// <param name="LeaseId">The lease.</param>
/// <param name="Tool">The tool.</param>
/// <param name="Username">The name Tessera gave the credential before it existed.</param>
/// <param name="Grants">The grants of the lease's scopes, as configured (<see cref="LeaseGrants.Render"/> substitutes the role).</param>
/// <param name="ExpiresAt">When the credential must stop working.</param>
/// <param name="AdminSecret">The tool's admin secret from the vault (a connection string); never logged.</param>
public sealed record CredentialRequest(string LeaseId, Tool Tool, string Username, IReadOnlyList<string> Grants, DateTimeOffset ExpiresAt, string AdminSecret)
{
    /// <summary>Never prints the admin secret.</summary>
    public override string ToString() => $"lease {LeaseId} of tool {Tool.Id} ({Username})";
}
