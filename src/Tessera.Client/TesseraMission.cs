namespace Tessera.Client;

/// <summary>
/// A mission: work done on behalf of a person, under one mission token. While it is the current
/// mission (from <see cref="ITesseraAgent.BeginMissionAsync"/> or <see cref="ITesseraAgent.JoinMissionAsync"/>
/// until disposed), tool tokens are exchanged from its token instead of requested with the agent's
/// own credentials. Disposing it revokes the mission token, which ends every token derived from it
/// and the database leases issued under them, and restores the mission that was current before.
/// </summary>
public sealed class TesseraMission : IAsyncDisposable
{
    private readonly TesseraAgent _agent;
    private readonly MissionScope _scope;
    private int _disposed;

    internal TesseraMission(TesseraAgent agent, MissionScope scope, string id, string token, string? purpose, DateTimeOffset expiresAt)
    {
        _agent = agent;
        _scope = scope;
        Id = id;
        Token = token;
        Purpose = purpose;
        ExpiresAt = expiresAt;
    }

    /// <summary>The mission's id in Tessera (<c>m_…</c>), as the audit log and <c>tessera missions</c> show it.</summary>
    public string Id { get; }

    /// <summary>The mission token: hand it to another agent (which calls <see cref="ITesseraAgent.JoinMissionAsync"/>) to delegate part of the work. Never log it.</summary>
    public string Token { get; }

    /// <summary>The purpose recorded with the mission, when this agent started it.</summary>
    public string? Purpose { get; }

    /// <summary>When the mission token expires (or the shorter time-to-live asked for).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>
    /// Ends the mission: it stops being current (the previous mission, if any, is current again) and its
    /// token is revoked at Tessera, so every token derived from it is revoked too. The revocation is
    /// awaited; a failure to reach Tessera surfaces as an exception (the token then lives until it expires).
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        // Synchronously, in the caller's flow: an AsyncLocal set inside an async method would be undone on return.
        _scope.Ended = true;
        _agent.Leave(_scope);
        return new ValueTask(_agent.EndMissionAsync(this));
    }

    /// <summary>Leaves the token out, so a logged mission shows no credential.</summary>
    public override string ToString() => $"TesseraMission {{ Id = {Id}, Purpose = {Purpose}, ExpiresAt = {ExpiresAt:O} }}";
}
