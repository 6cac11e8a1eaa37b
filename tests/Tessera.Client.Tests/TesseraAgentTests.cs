using Tessera.Client.Tests.Infrastructure;

namespace Tessera.Client.Tests;

public sealed class TesseraAgentTests : IAsyncLifetime
{
    private TestBroker _broker = null!;
    private AgentHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _broker = await TestBroker.StartAsync(realHttp: true);
        _host = AgentHost.Create(_broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); });
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _broker.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_hundred_concurrent_callers_cause_exactly_one_token_request()
    {
        // Every caller asks while the one request is held at the wire, so all of them overlap it.
        _host.HoldTokenRequests = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new CountdownEvent(100);
        var calls = Enumerable.Range(0, 100).Select(_ => Task.Run(() =>
        {
            var call = _host.Agent.GetTokenAsync("crm", ["crm:read"], Ct).AsTask();
            started.Signal();
            return call;
        }, Ct)).ToArray();
        await _host.FirstTokenRequest.Task.WaitAsync(Ct);
        started.Wait(Ct);

        _host.HoldTokenRequests.SetResult();
        var tokens = await Task.WhenAll(calls);

        Assert.Equal(1, _host.TokenRequests);
        Assert.Single(tokens.Select(t => t.AccessToken).Distinct());
        var issued = (await _broker.AuditEventsAsync()).Count(e => e.Record.Type == "token.issued");
        Assert.Equal(1, issued);
    }

    [Fact]
    public async Task A_cached_token_is_reused_until_shortly_before_it_expires()
    {
        var first = await _host.Agent.GetTokenAsync("crm", ["crm:read"], Ct);
        _broker.Time.SetUtcNow(first.ExpiresAt - TimeSpan.FromSeconds(31));
        var second = await _host.Agent.GetTokenAsync("crm", ["read"], Ct);
        Assert.Same(first, second);
        Assert.Equal(1, _host.TokenRequests);

        // Renewed 30 s (RefreshBeforeExpiry) before expiry.
        _broker.Time.Advance(TimeSpan.FromSeconds(1));
        var third = await _host.Agent.GetTokenAsync("crm", ["crm:read"], Ct);

        Assert.Equal(2, _host.TokenRequests);
        Assert.NotSame(first, third);
    }

    [Fact]
    public async Task Different_scopes_are_cached_apart()
    {
        var read = await _host.Agent.GetTokenAsync("crm", ["crm:read"], Ct);
        var export = await _host.Agent.GetTokenAsync("crm", ["crm:export"], Ct);

        Assert.Equal("crm:read", read.Scope);
        Assert.Equal("crm:export", export.Scope);
        Assert.Equal(2, _host.TokenRequests);
    }

    [Fact]
    public async Task A_refusal_is_a_typed_exception_with_the_oauth_error_and_never_the_secret()
    {
        var refused = await Assert.ThrowsAsync<TesseraTokenException>(async () => await _host.Agent.GetTokenAsync("crm", ["crm:delete"], Ct));

        Assert.Equal("invalid_scope", refused.Error);
        Assert.Equal(400, refused.StatusCode);
        Assert.False(string.IsNullOrEmpty(refused.ErrorDescription));
        Assert.DoesNotContain(TestBroker.SupportSecret, refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_secret_is_invalid_client_and_the_exception_holds_no_secret()
    {
        const string wrong = "not-the-secret-0123456789abcdef";
        await using var host = AgentHost.Create(_broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(wrong); });

        var refused = await Assert.ThrowsAsync<TesseraTokenException>(async () => await host.Agent.GetTokenAsync("crm", ["crm:read"], Ct));

        Assert.Equal("invalid_client", refused.Error);
        Assert.Equal(401, refused.StatusCode);
        Assert.DoesNotContain(wrong, refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_request_is_not_cached()
    {
        await Assert.ThrowsAsync<TesseraTokenException>(async () => await _host.Agent.GetTokenAsync("crm", ["crm:delete"], Ct));
        await Assert.ThrowsAsync<TesseraTokenException>(async () => await _host.Agent.GetTokenAsync("crm", ["crm:delete"], Ct));

        Assert.Equal(2, _host.TokenRequests);
    }

    [Fact]
    public async Task A_caller_that_gives_up_does_not_cancel_the_request_others_wait_for()
    {
        _host.HoldTokenRequests = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var impatient = new CancellationTokenSource();
        var giving = _host.Agent.GetTokenAsync("crm", ["crm:read"], impatient.Token).AsTask();
        var waiting = _host.Agent.GetTokenAsync("crm", ["crm:read"], Ct).AsTask();

        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => giving);
        _host.HoldTokenRequests.SetResult();

        Assert.Equal("crm:read", (await waiting).Scope);
        Assert.Equal(1, _host.TokenRequests);
    }

    [Fact]
    public async Task The_token_record_does_not_print_the_token()
    {
        var token = await _host.Agent.GetTokenAsync("crm", ["crm:read"], Ct);

        Assert.DoesNotContain(token.AccessToken, token.ToString(), StringComparison.Ordinal);
    }
}
