namespace Tessera.Core.Revocation;

/// <summary>What a revocation names.</summary>
public enum RevocationKind
{
    /// <summary>A token's <c>jti</c>: that token and every token derived from it.</summary>
    Token = 1,

    /// <summary>A mission id: every token of the mission.</summary>
    Mission = 2,

    /// <summary>An agent: every token it holds or acts in, issued up to the revocation.</summary>
    Agent = 3,

    /// <summary>A principal's <c>sub</c>: every token issued on their behalf up to the revocation.</summary>
    Principal = 4,

    /// <summary>A web console session's id (<c>Tessera.Core.Sessions.ConsoleSessions</c>): that session, signed out.</summary>
    Session = 5,
}
