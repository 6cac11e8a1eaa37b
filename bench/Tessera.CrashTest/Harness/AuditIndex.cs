using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Tessera.CrashTest;

/// <summary>
/// The audit events recorded since a moment, read through <c>GET /admin/v1/audit</c> (so the same on
/// SQLite and PostgreSQL), indexed by type and by what identifies each action: the <c>jti</c> of
/// token events (<c>mission:ID</c> for a mission's revocation), the <c>secret</c> (<c>NAME vN</c>) of secret events, the approval id (the second
/// word of an approval event's <c>reason</c>) and the <c>path</c> of proxy events.
/// </summary>
internal sealed class AuditIndex
{
    private readonly HashSet<(string Type, string Id)> _events = [];

    public int Count { get; private set; }

    public bool Contains(string type, string id) => _events.Contains((type, id));

    public static async Task<AuditIndex> ReadAsync(HttpClient http, AuthenticationHeaderValue admin, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var index = new AuditIndex();
        var from = Uri.EscapeDataString(since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        string? after = null;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/admin/v1/audit?since={from}&limit=10000" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after)));
            request.Headers.Authorization = admin;
            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"GET /admin/v1/audit answered {(int)response.StatusCode}: {body}");
            }

            using var json = JsonDocument.Parse(body);
            foreach (var e in json.RootElement.GetProperty("events").EnumerateArray())
            {
                index.Add(e);
            }

            after = json.RootElement.TryGetProperty("next_after", out var next)
                ? next.ValueKind == JsonValueKind.String ? next.GetString() : next.GetRawText()
                : null;
        }
        while (after is not null);

        return index;
    }

    private void Add(JsonElement e)
    {
        Count++;
        var type = e.GetProperty("type").GetString()!;
        var id = type switch
        {
            _ when type.StartsWith("token.", StringComparison.Ordinal) => Get(e, "jti"),
            _ when type.StartsWith("secret.", StringComparison.Ordinal) => Get(e, "secret"),
            _ when type.StartsWith("proxy.", StringComparison.Ordinal) => Get(e, "path"),
            _ when type.StartsWith("approval.", StringComparison.Ordinal) => Get(e, "reason") is { } reason && reason.StartsWith("approval ", StringComparison.Ordinal)
                ? reason.Split(' ')[1]
                : null,
            _ => null,
        };
        if (id is not null)
        {
            _events.Add((type, id));
        }

        // A mission's revocation names no jti, only the mission.
        if (type == "token.revoked" && id is null && Get(e, "mission") is { } mission)
        {
            _events.Add((type, "mission:" + mission));
        }
    }

    private static string? Get(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
