using System.CommandLine;
using System.Text.Json;

namespace Tessera.Cli.Commands;

/// <summary><c>tessera approval list|approve|deny</c>: the approver's side of docs/approvals.md.</summary>
internal static class ApprovalCommand
{
    public static Command Create() => new("approval", "List, approve or deny requests that wait for a person")
    {
        List(), Decide("approve", "Approve a request (as a member of its approver group)"), Decide("deny", "Deny a request"),
    };

    private static Command List()
    {
        var config = CliOptions.Config();
        var status = new Option<string>("--status") { Description = "Only requests in this state: pending, approved, denied, expired, redeemed, revoked" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per line" };
        var command = new Command("list", "List approval requests, newest first") { config, status, json };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            var query = parse.GetValue(status) is { } s ? "?status=" + Uri.EscapeDataString(s) : "";
            using var result = await client.GetAsync("/admin/v1/approvals" + query, ct);
            foreach (var a in result.RootElement.GetProperty("approvals").EnumerateArray())
            {
                if (parse.GetValue(json))
                {
                    Terminal.WriteJson(a);
                }
                else
                {
                    Terminal.WriteLine(Line(a));
                }
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Decide(string verb, string description)
    {
        var config = CliOptions.Config();
        var id = new Argument<string>("id") { Description = "The request's auth_req_id, as listed" };
        var comment = new Option<string>("--comment") { Description = "Why, for the audit log" };
        var command = new Command(verb, description) { config, id, comment };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var result = await client.PostAsync($"/admin/v1/approvals/{Uri.EscapeDataString(parse.GetValue(id)!)}/{verb}", new { comment = parse.GetValue(comment) }, ct);
            Terminal.WriteLine($"approval {result.RootElement.GetProperty("id").GetString()} is {result.RootElement.GetProperty("status").GetString()}");
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>
    /// The one request or call an approval is bound to: <c>METHOD /path</c>, or for an MCP tool
    /// <c>tools/call NAME</c> with the arguments the agent submitted (the approver decides on them).
    /// </summary>
    private static string Exact(JsonElement detail, JsonElement approval) =>
        detail.GetProperty("type").GetString() == Core.Mcp.McpCallDetail.Type
            ? $"tools/call {detail.GetProperty("name").GetString()} with arguments "
              + (approval.TryGetProperty("arguments", out var args) ? args.GetRawText() : $"hashing to {detail.GetProperty("arguments_sha256").GetString()} (not shown by the agent)")
            : $"{detail.GetProperty("method").GetString()} {detail.GetProperty("path").GetString()}";

    /// <summary>One line per request: enough to decide, with the id to pass to approve or deny.</summary>
    private static string Line(JsonElement a)
    {
        var principal = a.TryGetProperty("principal", out var p) ? $" for {p.GetString()}" : "";
        var reason = a.TryGetProperty("reason", out var r) ? $"  reason: {r.GetString()}" : "";
        var exact = a.TryGetProperty("authorization_details", out var d) ? "  only " + Exact(d[0], a) : "";
        var scopes = string.Join(' ', a.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        return $"{a.GetProperty("id").GetString()}  {a.GetProperty("status").GetString()}  {a.GetProperty("agent").GetString()}{principal}  {scopes}  group {a.GetProperty("group").GetString()}  expires {a.GetProperty("expires_at").GetString()}{exact}{reason}";
    }
}
