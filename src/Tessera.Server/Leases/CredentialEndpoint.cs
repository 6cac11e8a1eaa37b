using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Tessera.Core.Audit;
using Tessera.Core.Leases;
using Tessera.Core.Limits;
using Tessera.Server.Hosting;
using Tessera.Server.Proxy;

namespace Tessera.Server.Leases;

/// <summary>
/// <c>POST /credentials/{tool}</c>: translates a request for a database lease to <see cref="LeaseService"/>
/// and its verdict to HTTP: the credential as JSON (never cached), or the refusal as problem details
/// (RFC 9457) with the token's challenge. A refusal of an unauthenticated or malformed request is
/// counted against its source, as the proxy's are.
/// </summary>
internal sealed class CredentialEndpoint(LeaseService leases, RateLimits limits)
{
    public async Task HandleAsync(HttpContext context, string tool)
    {
        LeaseVerdict verdict;
        try
        {
            verdict = await leases.IssueAsync(new HttpProxyRequest(context), tool);
        }
        catch (AuditWriteException)
        {
            // A refusal that could not be recorded is not given: the request fails as unavailable.
            await WriteProblemAsync(context, 503, "Unavailable", "the request could not be recorded in the audit log");
            return;
        }

        if (verdict.Refusal is { } refusal)
        {
            TesseraMetrics.Leases.WithLabels(refusal.ToolId ?? "", "refused").Inc();
            if (refusal.Challenges is { } challenges)
            {
                context.Response.Headers.WWWAuthenticate = challenges;
            }

            if (refusal.Status is 400 or 401)
            {
                limits.Refused(SourceAddress.From(context.Connection.RemoteIpAddress));
            }

            await WriteProblemAsync(context, refusal.Status, refusal.Title, refusal.Detail);
            return;
        }

        TesseraMetrics.Leases.WithLabels(tool, "issued").Inc();
        var lease = verdict.Lease!;
        var credential = verdict.Credential!;

        // The password is shown once: never stored by a cache on the way (RFC 9111 §5.2.2.5).
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteString("lease_id", lease.Id);
        writer.WriteString("username", credential.Username);
        writer.WriteString("password", credential.Password);
        writer.WriteString("host", credential.Host);
        writer.WriteNumber("port", credential.Port);
        writer.WriteString("database", credential.Database);
        writer.WriteString("expires_at", AuditEvent.FormatTime(lease.ExpiresAt));
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    private static Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        return Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(context);
    }
}
