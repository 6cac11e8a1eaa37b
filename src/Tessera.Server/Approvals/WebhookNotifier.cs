using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Vault;
using Tessera.Server.Admin;

namespace Tessera.Server.Approvals;

/// <summary>
/// Announces each new approval request to the webhooks of its approver group: a JSON POST signed
/// with HMAC-SHA256 under a vault secret (<see cref="SignatureHeader"/>), retried with exponential
/// backoff while the request still waits, each outcome recorded as <c>approval.notified</c>.
/// Delivery runs in the background: it never delays, fails or loses the approval itself.
/// The signing scheme is our own (a timestamped HMAC, as chat and payment webhooks use), because
/// the receiver must verify it with nothing more than a shared secret and a few lines of code.
/// </summary>
internal sealed partial class WebhookNotifier(HttpMessageInvoker http, SecretVault vault, AuditLog audit, LiveConfig live, TimeProvider time,
    ILogger<WebhookNotifier> logger) : IApprovalNotifier, IAsyncDisposable
{
    /// <summary><c>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "t." + body&gt;</c>.</summary>
    public const string SignatureHeader = "X-Tessera-Signature";

    /// <summary>The same for every attempt of one delivery, so a receiver can drop repeats.</summary>
    public const string DeliveryHeader = "X-Tessera-Delivery";

    public const string EventHeader = "X-Tessera-Event";

    /// <summary>Attempts per webhook; waits between them are 1, 2, 4, 8, 16 s (then 30 s at most).</summary>
    public const int MaxAttempts = 6;

    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    private static readonly JsonSerializerOptions Json = AdminJson.Options;

    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _running = new();

    public static TimeSpan Backoff(int attempt) => TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(attempt - 1, 5)));

    /// <summary>
    /// One id per approval and webhook, the same after a restart (which announces waiting requests
    /// again), so a receiver can drop what it has seen. Derived by hashing: it reveals neither the
    /// approval's id nor the URL.
    /// </summary>
    public static string DeliveryId(ApprovalRequest approval, WebhookOptions webhook) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"tessera-webhook-delivery\n{approval.Id}\n{webhook.Url}")))[..32];

    public void Requested(ApprovalRequest approval, Func<bool> stillWaiting)
    {
        var group = live.Config.ApproverGroups.FirstOrDefault(g => g.Id == approval.Group);
        if (group is null || _stopping.IsCancellationRequested)
        {
            return;
        }

        foreach (var webhook in group.Webhooks)
        {
            var task = Task.Run(() => DeliverAsync(webhook, approval, stillWaiting));
            _running.TryAdd(task, 0);
            _ = task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task DeliverAsync(WebhookOptions webhook, ApprovalRequest approval, Func<bool> stillWaiting)
    {
        var delivery = DeliveryId(approval, webhook);
        // An MCP call's arguments stay behind the admin API (an approver reads them there, authenticated);
        // a webhook says only that a call waits and what it is.
        var body = JsonSerializer.SerializeToUtf8Bytes(new WebhookBody(AuditTypes.ApprovalRequested, delivery, ApprovalView.From(approval) with { Arguments = null },
            Link(approval, "approve"), Link(approval, "deny")), Json);
        var last = "";
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var (sent, outcome) = await SendAsync(webhook, delivery, body);
                if (sent)
                {
                    await RecordAsync(approval, AuditOutcomes.Allowed, $"approval {approval.Id} announced to {webhook.Display} ({outcome}, attempt {attempt})");
                    return;
                }

                last = outcome;
                if (outcome.StartsWith("webhook secret", StringComparison.Ordinal))
                {
                    // Nothing unsigned ever leaves Tessera; retrying cannot help until the secret is put.
                    await RecordAsync(approval, AuditOutcomes.Error, $"approval {approval.Id} not announced to {webhook.Display}: {outcome}");
                    return;
                }

                if (attempt == MaxAttempts)
                {
                    break;
                }

                Log.AttemptFailed(logger, webhook.Display, outcome, attempt, MaxAttempts);
                await Task.Delay(Backoff(attempt), time, _stopping.Token);
                if (!stillWaiting())
                {
                    await RecordAsync(approval, AuditOutcomes.Error,
                        $"approval {approval.Id} not announced to {webhook.Display} after {attempt} attempts ({last}); it no longer waits, so retries stopped");
                    return;
                }
            }

            await RecordAsync(approval, AuditOutcomes.Error, $"approval {approval.Id} not announced to {webhook.Display} after {MaxAttempts} attempts: {last}");
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            Log.Abandoned(logger, webhook.Display, last);
        }
        catch (Exception ex)
        {
            // A background delivery has nobody to report to but the log; the approval is unaffected.
            Log.Unexpected(logger, ex, webhook.Display);
        }
    }

    /// <summary>One attempt: whether the receiver accepted it (2xx), and what happened, for the record.</summary>
    private async Task<(bool Sent, string Outcome)> SendAsync(WebhookOptions webhook, string delivery, byte[] body)
    {
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signed = new byte[timestamp.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(timestamp, signed);
        signed[timestamp.Length] = (byte)'.';
        body.CopyTo(signed, timestamp.Length + 1);
        var mac = new byte[32];
        switch (vault.TryHmacSha256(webhook.Secret, signed, mac))
        {
            case CredentialLookup.Missing:
                return (false, $"webhook secret '{webhook.Secret}' is not in the vault");
            case CredentialLookup.Broken:
                return (false, $"webhook secret '{webhook.Secret}' failed its integrity check");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(SignatureHeader, $"t={timestamp},v1={Convert.ToHexStringLower(mac)}");
        request.Headers.Add(DeliveryHeader, delivery);
        request.Headers.Add(EventHeader, AuditTypes.ApprovalRequested);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Tessera", "1"));
        using var timeout = new CancellationTokenSource(AttemptTimeout, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
        try
        {
            using var response = await http.SendAsync(request, either.Token);
            var status = (int)response.StatusCode;
            return (status is >= 200 and < 300, $"HTTP {status}");
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            return (false, $"no answer within {AttemptTimeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex)
        {
            // The message names the host and the socket error, never the URL's path or query.
            return (false, ex.HttpRequestError == HttpRequestError.Unknown ? "request failed" : ex.HttpRequestError.ToString());
        }
    }

    private async Task RecordAsync(ApprovalRequest approval, string outcome, string reason)
    {
        try
        {
            await audit.AppendAsync(approval.ToAuditRecord(AuditTypes.ApprovalNotified, outcome, reason, null), cancellationToken: CancellationToken.None);
        }
        catch (AuditWriteException ex)
        {
            Log.NotRecorded(logger, ex, reason);
        }
    }

    private string Link(ApprovalRequest approval, string verb) =>
        $"{live.Config.Server.Issuer.TrimEnd('/')}/admin/v1/approvals/{approval.Id}/{verb}";

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(_running.Keys);
        }
        catch (Exception ex)
        {
            Log.Stopped(logger, ex);
        }

        _stopping.Dispose();
        http.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Approval notification to {Webhook} failed ({Outcome}), attempt {Attempt} of {Max}")]
        public static partial void AttemptFailed(ILogger logger, string webhook, string outcome, int attempt, int max);

        [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Shutting down: approval notification to {Webhook} abandoned ({Outcome})")]
        public static partial void Abandoned(ILogger logger, string webhook, string outcome);

        [LoggerMessage(EventId = 42, Level = LogLevel.Error, Message = "Approval notification to {Webhook} failed unexpectedly")]
        public static partial void Unexpected(ILogger logger, Exception exception, string webhook);

        [LoggerMessage(EventId = 43, Level = LogLevel.Error, Message = "Could not record an approval notification: {Reason}")]
        public static partial void NotRecorded(ILogger logger, Exception exception, string reason);

        [LoggerMessage(EventId = 44, Level = LogLevel.Debug, Message = "Approval notifications ended while shutting down")]
        public static partial void Stopped(ILogger logger, Exception exception);
    }

    private sealed record WebhookBody(string Type, string Delivery, ApprovalView Approval, string ApproveUrl, string DenyUrl);
}
