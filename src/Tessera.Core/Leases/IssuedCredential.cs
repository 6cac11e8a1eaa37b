namespace Tessera.Core.Leases;

/// <summary>A credential a provider made: what the agent is handed, once.</summary>
public sealed record IssuedCredential(string Username, string Password, string Host, int Port, string Database)
{
    /// <summary>Never prints the password.</summary>
    public override string ToString() => $"{Username}@{Host}:{Port}/{Database}";
}
