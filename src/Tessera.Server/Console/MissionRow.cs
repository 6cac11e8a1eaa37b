using Tessera.Core.Missions;

namespace Tessera.Server.Console;

/// <summary>
/// One mission as the missions page shows it: the record, its status and how many tokens it yielded
/// (what <c>GET /admin/v1/missions</c> lists). Public only because Razor components, and so their
/// parameters' types, are public.
/// </summary>
public sealed record MissionRow(MissionRecord Mission, string Status, long Tokens);
