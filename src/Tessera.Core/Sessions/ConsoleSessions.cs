using System.Buffers.Text;
using System.Security.Cryptography;
using Tessera.Core.Audit;
using Tessera.Core.Revocation;

namespace Tessera.Core.Sessions;

/// <summary>A web console session as its (encrypted) cookie states it.</summary>
/// <param name="Id">A random id, 128 bits, naming this session and no other.</param>
/// <param name="Sub">The person's <c>sub</c> at their identity provider; null for the bootstrap admin.</param>
/// <param name="SignedInAt">When they signed in; kept as the session is extended.</param>
/// <param name="IdleUntil">When the session ends unless a request extends it.</param>
public sealed record ConsoleSessionState(string Id, string? Sub, DateTimeOffset SignedInAt, DateTimeOffset IdleUntil);

/// <summary>Why a session does or does not let its holder in; everything but <see cref="Live"/> ends it.</summary>
public enum ConsoleSessionVerdict
{
    Live,

    /// <summary>No request for <see cref="ConsoleSessions.IdleTimeout"/>.</summary>
    Idle,

    /// <summary>Signed in more than <see cref="ConsoleSessions.MaxLifetime"/> ago, however active since.</summary>
    TooOld,

    /// <summary>Signed out: its revocation is in the index (this node's or another's).</summary>
    SignedOut,

    /// <summary>The person was revoked (<c>revoke --principal</c>) after signing in.</summary>
    PrincipalRevoked,
}

/// <summary>
/// The rules of a web console session, which the cookie alone cannot enforce: the cookie is valid on
/// every node and across restarts, so ending a session before it times out takes a durable
/// revocation that every node applies (the same index and the same cluster path as token
/// revocations). A session ends after <see cref="IdleTimeout"/> without a request, after
/// <see cref="MaxLifetime"/> in any case, when it is signed out, and when its person is revoked.
/// </summary>
public sealed class ConsoleSessions(RevocationIndex index, AuditLog audit, TimeProvider time)
{
    /// <summary>A session unused this long ends; each request within it extends it.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(15);

    /// <summary>
    /// A session ends this long after its sign-in, however active: a stolen cookie kept busy is not
    /// valid forever, and a person signs in again at least once a working day.
    /// </summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(12);

    /// <summary>A new session for someone signing in now.</summary>
    public ConsoleSessionState Start(string? sub)
    {
        var now = time.GetUtcNow();
        return new ConsoleSessionState(Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)), sub, now, now + IdleTimeout);
    }

    /// <summary>Whether the session still lets its holder in, and if not, why.</summary>
    public ConsoleSessionVerdict Check(ConsoleSessionState session)
    {
        var now = time.GetUtcNow();
        if (session.IdleUntil <= now)
        {
            return ConsoleSessionVerdict.Idle;
        }

        if (now >= session.SignedInAt + MaxLifetime)
        {
            return ConsoleSessionVerdict.TooOld;
        }

        if (index.IsIdRevoked(session.Id))
        {
            return ConsoleSessionVerdict.SignedOut;
        }

        // A principal's revocation cuts at a second, like a token's iat: signed in in that second counts as before (fail closed).
        return index.IsRevoked(session.Id, [], session.Sub, [], session.SignedInAt.ToUnixTimeSeconds())
            ? ConsoleSessionVerdict.PrincipalRevoked
            : ConsoleSessionVerdict.Live;
    }

    /// <summary>The session after a request now: idle from now on, never past its lifetime.</summary>
    public ConsoleSessionState Extend(ConsoleSessionState session)
    {
        var now = time.GetUtcNow();
        var end = session.SignedInAt + MaxLifetime;
        return session with { IdleUntil = now + IdleTimeout < end ? now + IdleTimeout : end };
    }

    /// <summary>
    /// Ends the session on every node: a revocation of its id, durable with its audit event
    /// (<c>console.signed_out</c>), applied here before returning. It is kept until the session could
    /// not have lived anyway, then pruned like any other.
    /// </summary>
    public async Task SignOutAsync(ConsoleSessionState session, string name, string? requestId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var entry = new RevocationEntry(RevocationKind.Session, session.Id, now, session.SignedInAt + MaxLifetime + RevocationService.Skew);
        await audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.ConsoleSignedOut,
            Outcome = AuditOutcomes.Allowed,
            Principal = name,
            Reason = $"signed out of a session signed in at {AuditEvent.FormatTime(session.SignedInAt)}; it ends on every node",
            RequestId = requestId,
        }, entry, cancellationToken);
        index.Apply(entry);
    }
}
