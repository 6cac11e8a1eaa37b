using System.Buffers;
using System.Security.Cryptography;

namespace Tessera.Core.Leases;

/// <summary>
/// The names Tessera gives leases and their roles: 128 random bits, lower-case hex, so a role name
/// needs no quoting where an operator types it and can never collide with another lease's.
/// </summary>
public static class LeaseNames
{
    /// <summary>Every role Tessera creates starts with this, so an operator can tell them apart from the database's own.</summary>
    public const string RolePrefix = "tessera_";

    private static readonly SearchValues<char> Hex = SearchValues.Create("0123456789abcdef");

    /// <summary>A new lease id: <c>ls_</c> and 32 hex digits.</summary>
    public static string NewId() => "ls_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The role of lease <paramref name="leaseId"/> (43 characters, within PostgreSQL's 63).</summary>
    public static string RoleOf(string leaseId) => RolePrefix + leaseId;

    /// <summary>Whether <paramref name="id"/> is written as a lease id (so a hostile one never reaches a query unchecked).</summary>
    public static bool IsLeaseId(string id) =>
        id.Length == 35 && id.StartsWith("ls_", StringComparison.Ordinal) && id.AsSpan(3).IndexOfAnyExcept(Hex) < 0;
}
