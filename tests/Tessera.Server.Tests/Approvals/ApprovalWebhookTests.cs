using System.Net.Sockets;
using Tessera.Core.Vault;
using Tessera.Server.Approvals;

namespace Tessera.Server.Tests.Approvals;

/// <summary>
/// Approval notifications (docs/approvals.md, webhooks): each new request is POSTed to the group's
/// webhooks, signed so the receiver can verify it, retried with backoff, and a receiver that fails
/// never blocks or loses the approval. Nothing here sleeps: each wait is on the receiver's arrivals,
/// the audit event's commit, or the notifier's backoff timer, to which the fake clock is moved.
/// </summary>
public sealed class ApprovalWebhookTests
{
    private const string HookKey = "whsec-oncall-5d1e9a07c3b24f68";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15); // real time, only to fail a hung test

    [Fact]
    public async Task Each_new_request_is_announced_with_everything_an_approver_needs_and_a_verifiable_signature()
    {
        await using var receiver = await TestUpstream.StartAsync();
        var (broker, idp, notifiedEvent) = await StartAsync(new Uri(receiver.Address, "/hooks/approvals"));
        await using var _ = broker;
        var requestedAt = broker.Time.GetUtcNow();

        var id = await broker.RequestApprovalAsync(idp, "crm:export", ("reason", "customer 4711 asked for their data"));

        var hook = await NextDeliveryAsync(broker, receiver, 1);
        Assert.Equal("POST", hook.Method);
        Assert.Equal("/hooks/approvals", hook.RawTarget);
        Assert.StartsWith("application/json", hook.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal("approval.requested", hook.Headers["X-Tessera-Event"]);
        var timestamp = Verify(hook, HookKey);
        Assert.Equal(requestedAt.ToUnixTimeSeconds(), timestamp);

        using var body = JsonDocument.Parse(hook.Body);
        var root = body.RootElement;
        Assert.Equal("approval.requested", root.GetProperty("type").GetString());
        Assert.Equal(hook.Headers["X-Tessera-Delivery"], root.GetProperty("delivery").GetString());
        Assert.Equal($"{TestBroker.Issuer}/admin/v1/approvals/{id}/approve", root.GetProperty("approve_url").GetString());
        Assert.Equal($"{TestBroker.Issuer}/admin/v1/approvals/{id}/deny", root.GetProperty("deny_url").GetString());
        var approval = root.GetProperty("approval");
        Assert.Equal(id, approval.GetProperty("id").GetString());
        Assert.Equal("pending", approval.GetProperty("status").GetString());
        Assert.Equal("support-agent", approval.GetProperty("agent").GetString());
        Assert.Equal("alice", approval.GetProperty("principal").GetString());
        Assert.Equal(["support-agent"], approval.GetProperty("actor_chain").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("crm", approval.GetProperty("tool").GetString());
        Assert.Equal(["crm:export"], approval.GetProperty("scopes").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("security-oncall", approval.GetProperty("group").GetString());
        Assert.Equal("customer 4711 asked for their data", approval.GetProperty("reason").GetString());
        Assert.Equal(1, approval.GetProperty("max_uses").GetInt32());
        Assert.Equal("2m", approval.GetProperty("ttl").GetString());
        Assert.StartsWith("m_", approval.GetProperty("mission").GetString(), StringComparison.Ordinal);
        Assert.Equal(AuditEvent.FormatTime(requestedAt + TimeSpan.FromMinutes(10)), approval.GetProperty("expires_at").GetString());
        // The request names no secret: neither the agent's nor the signing key.
        var text = Encoding.UTF8.GetString(hook.Body);
        Assert.DoesNotContain(ApprovalBroker.Secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(HookKey, text, StringComparison.Ordinal);

        var notified = await RecordedAsync(notifiedEvent);
        Assert.Equal("allowed", notified.Record.Outcome);
        Assert.Equal("alice", notified.Record.Principal);
        Assert.Equal("support-agent", notified.Record.Agent);
        Assert.Contains(receiver.Address.GetLeftPart(UriPartial.Authority), notified.Record.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("/hooks/approvals", notified.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signature_made_with_another_key_or_over_another_body_does_not_verify()
    {
        await using var receiver = await TestUpstream.StartAsync();
        var (broker, idp, _) = await StartAsync(receiver.Address);
        await using var _ = broker;
        await broker.RequestApprovalAsync(idp);

        var hook = await NextDeliveryAsync(broker, receiver, 1);

        Assert.ThrowsAny<Exception>(() => Verify(hook, "another-key"));
        var tampered = hook with { Body = [.. hook.Body.Take(hook.Body.Length - 1), (byte)' '] };
        Assert.ThrowsAny<Exception>(() => Verify(tampered, HookKey));
    }

    [Fact]
    public async Task A_failing_receiver_is_retried_with_growing_waits_under_one_delivery_id()
    {
        await using var receiver = await TestUpstream.StartAsync();
        var failures = 2;
        receiver.Handler = context =>
        {
            context.Response.StatusCode = Interlocked.Decrement(ref failures) >= 0 ? 503 : 204;
            return Task.CompletedTask;
        };
        var (broker, idp, notifiedEvent) = await StartAsync(receiver.Address);
        await using var _ = broker;
        await broker.RequestApprovalAsync(idp);

        var attempts = new List<ReceivedRequest>();
        for (var n = 1; n <= 3; n++)
        {
            attempts.Add(await NextDeliveryAsync(broker, receiver, n));
        }

        Assert.Single(attempts.Select(a => a.Headers["X-Tessera-Delivery"]).Distinct());
        var times = attempts.Select(a => Verify(a, HookKey)).ToList();
        // The clock moves only to the waits the notifier arms: the first retry after 1 s, the second after 2 s.
        Assert.True(times[1] - times[0] == 1, $"first retry after {times[1] - times[0]} s");
        Assert.True(times[2] - times[1] == 2, $"second retry after {times[2] - times[1]} s");
        var notified = await RecordedAsync(notifiedEvent);
        Assert.Equal("allowed", notified.Record.Outcome);
        Assert.Contains("attempt 3", notified.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_receiver_that_never_accepts_gets_a_bounded_number_of_attempts_and_the_approval_still_stands()
    {
        await using var receiver = await TestUpstream.StartAsync();
        receiver.AnswerWith(500);
        var (broker, idp, notifiedEvent) = await StartAsync(receiver.Address);
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);

        var failed = await StepUntilRecordedAsync(broker, notifiedEvent);

        Assert.Equal("error", failed.Record.Outcome);
        Assert.Contains("after 6 attempts: HTTP 500", failed.Record.Reason, StringComparison.Ordinal);
        Assert.Equal(6, receiver.Received.Count);
        var pending = Assert.Single((await broker.ListApprovalsAsync(idp.As(broker, "bob"))).EnumerateArray());
        Assert.Equal("pending", pending.GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_unreachable_receiver_never_blocks_or_loses_the_approval()
    {
        var (broker, idp, notifiedEvent) = await StartAsync(new Uri($"http://127.0.0.1:{ClosedPort()}/hook"));
        await using var _ = broker;

        var id = await broker.RequestApprovalAsync(idp);
        await broker.ApproveAsync(idp, id);

        await broker.RedeemAfterIntervalAsync(id);

        // Once decided, the request no longer waits: retrying stops, and the record says why.
        var failed = await StepUntilRecordedAsync(broker, notifiedEvent);
        Assert.Equal("error", failed.Record.Outcome);
        Assert.Contains("no longer waits", failed.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_still_waiting_after_a_restart_is_announced_again_under_the_same_delivery_id()
    {
        await using var receiver = await TestUpstream.StartAsync();
        receiver.AnswerWith(503);
        var (broker, idp, _) = await StartAsync(receiver.Address);
        var id = await broker.RequestApprovalAsync(idp);
        var first = await NextDeliveryAsync(broker, receiver, 1);

        // The restart cuts the retries short; the receiver recovers meanwhile. (A restart as
        // TestBroker.RestartAsync does it, with the store observed from its start: the waiting request
        // is announced while the broker starts.)
        receiver.Handler = null;
        await broker.StopForRestartAsync();
        Task<AuditEvent>? notifiedEvent = null;
        await using var restarted = await TestBroker.StartAsync(directory: broker.Directory, time: broker.Time, wrapStore: store =>
        {
            var observed = new FlakyStore(store);
            notifiedEvent = observed.WaitForAsync("approval.notified");
            return observed;
        });

        var again = await NextDeliveryAsync(restarted, receiver, 2);
        Assert.Equal(first.Headers["X-Tessera-Delivery"], again.Headers["X-Tessera-Delivery"]);
        Verify(again, HookKey);
        using var body = JsonDocument.Parse(again.Body);
        Assert.Equal(id, body.RootElement.GetProperty("approval").GetProperty("id").GetString());
        var notified = await RecordedAsync(notifiedEvent!);
        Assert.Equal("allowed", notified.Record.Outcome);
    }

    [Fact]
    public async Task Without_its_secret_in_the_vault_nothing_unsigned_is_sent()
    {
        await using var receiver = await TestUpstream.StartAsync();
        FlakyStore? observed = null;
        var (broker, idp) = await ApprovalBroker.StartAsync(store => observed = new FlakyStore(store), webhook: receiver.Address);
        await using var _ = broker;
        var notifiedEvent = observed!.WaitForAsync("approval.notified");

        await broker.RequestApprovalAsync(idp);

        var failed = await RecordedAsync(notifiedEvent);
        Assert.Equal("error", failed.Record.Outcome);
        Assert.Contains("webhook secret 'oncall-hook' is not in the vault", failed.Record.Reason, StringComparison.Ordinal);
        Assert.Empty(receiver.Received);
        // The missing secret is reported where operators look for missing secrets.
        Assert.Contains(ApprovalBroker.WebhookSecret, broker.Service<SecretVault>().MissingSecrets());
    }

    /// <summary>
    /// A broker whose security-oncall group announces to <paramref name="webhook"/>, on a
    /// <see cref="TestClock"/>; <c>Notified</c> completes when the (one) <c>approval.notified</c> event is committed.
    /// </summary>
    private static async Task<(TestBroker Broker, TestIdp Idp, Task<AuditEvent> Notified)> StartAsync(Uri webhook)
    {
        FlakyStore? observed = null;
        var (broker, idp) = await ApprovalBroker.StartAsync(store => observed = new FlakyStore(store), webhook: webhook);
        var notified = observed!.WaitForAsync("approval.notified");
        var put = await broker.Service<SecretVault>().PutAsync(ApprovalBroker.WebhookSecret, Encoding.UTF8.GetBytes(HookKey), "test", null, CancellationToken.None);
        Assert.True(put.Error is null, put.Error?.Message);
        return (broker, idp, notified);
    }

    /// <summary>
    /// What a receiver does: recompute HMAC-SHA256 over "t." + body with the shared key, compare in
    /// constant time, and return the signed timestamp (to be checked for freshness). Throws when it does not verify.
    /// </summary>
    private static long Verify(ReceivedRequest hook, string key)
    {
        var parts = hook.Headers["X-Tessera-Signature"].Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var signed = Encoding.ASCII.GetBytes(parts["t"] + ".").Concat(hook.Body).ToArray();
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), signed);
        if (!CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(parts["v1"])))
        {
            throw new CryptographicException("signature does not verify");
        }

        return long.Parse(parts["t"], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A wait the notifier arms between two attempts (1, 2, 4, 8, 16 s); no other timer of the broker has these due times.</summary>
    private static bool IsBackoff(TimeSpan due) => Enumerable.Range(1, WebhookNotifier.MaxAttempts - 1).Any(attempt => WebhookNotifier.Backoff(attempt) == due);

    /// <summary>Waits for the <paramref name="n"/>th request at the receiver, moving the fake clock to each retry wait the notifier arms meanwhile.</summary>
    private static Task<ReceivedRequest> NextDeliveryAsync(TestBroker broker, TestUpstream receiver, int n) =>
        ((TestClock)broker.Time).StepUntilAsync(receiver.ArrivalAsync(n), IsBackoff, Patience);

    /// <summary>Waits for a background delivery's audit event, moving the fake clock to each retry wait the notifier arms meanwhile.</summary>
    private static Task<AuditEvent> StepUntilRecordedAsync(TestBroker broker, Task<AuditEvent> recorded) =>
        ((TestClock)broker.Time).StepUntilAsync(recorded, IsBackoff, Patience);

    /// <summary>Waits for a background delivery's audit event without moving the clock.</summary>
    private static async Task<AuditEvent> RecordedAsync(Task<AuditEvent> recorded)
    {
        try
        {
            return await recorded.WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            Assert.Fail("the notification was never recorded");
            throw;
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
