namespace Tessera.Server.Admin;

/// <summary>
/// A refusal of the admin API, set as a request feature by <see cref="AdminProblem"/> when the
/// problem is made: its code (<c>RefusalCodes</c>) and the reason on record. Whoever answers it
/// records it as <c>admin.denied</c> unless Core has recorded it already (<paramref name="Audited"/>).
/// </summary>
/// <param name="Code">Which rule refused; the event's <c>reason_code</c>.</param>
/// <param name="Reason">The reason on record: the problem's detail (never a token or a secret).</param>
/// <param name="Audited">True when Core recorded the refusal itself (<c>secret.denied</c>, an approval's <c>admin.denied</c>).</param>
internal sealed record AdminRefusal(string Code, string Reason, bool Audited);
