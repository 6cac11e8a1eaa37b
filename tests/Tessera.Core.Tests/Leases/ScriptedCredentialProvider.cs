using Tessera.Core.Leases;
using Tessera.Core.Tools;

namespace Tessera.Core.Tests.Leases;

/// <summary>
/// A credential provider that talks to no database: it records every call, makes a fresh password
/// for each credential, and does what a test scripts: fail the next N issues or revokes with a given
/// failure, or hang until cancelled (as a database that does not answer).
/// </summary>
internal sealed class ScriptedCredentialProvider : ICredentialProvider
{
    private readonly Lock _lock = new();
    private readonly List<CredentialRequest> _issues = [];
    private readonly List<CredentialRequest> _revokes = [];
    private (int Count, CredentialFailure Failure, bool MayExist) _failIssues;
    private (int Count, CredentialFailure Failure) _failRevokes;
    private readonly TaskCompletionSource _issueStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _revokeStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _revokeGate;
    private TaskCompletionSource? _issueGate;
    private Exception? _throwOnIssue;
    private Exception? _throwOnRevoke;

    public ToolProtocol Protocol => ToolProtocol.Postgres;

    public IReadOnlyList<CredentialRequest> Issues
    {
        get
        {
            lock (_lock)
            {
                return [.. _issues];
            }
        }
    }

    public IReadOnlyList<CredentialRequest> Revokes
    {
        get
        {
            lock (_lock)
            {
                return [.. _revokes];
            }
        }
    }

    /// <summary>Every password handed out (a test scans events for them).</summary>
    public List<string> Passwords { get; } = [];

    /// <summary>Runs inside each issue before the credential is made (a test asserts what is already on record).</summary>
    public Func<CredentialRequest, Task>? OnIssue { get; set; }

    /// <summary>While set, every issue waits until it is cancelled.</summary>
    public bool HangIssues { get; set; }

    /// <summary>While set, every revoke waits until it is cancelled.</summary>
    public bool HangRevokes { get; set; }

    /// <summary>Completes when the first issue is called.</summary>
    public Task IssueStarted => _issueStarted.Task;

    /// <summary>Completes when the first revoke is called.</summary>
    public Task RevokeStarted => _revokeStarted.Task;

    /// <summary>The cancellation token the last revoke was given (a test tells whether the provider's timeout has fired).</summary>
    public CancellationToken LastRevokeToken { get; private set; }

    /// <summary>The next issue throws this instead of a <see cref="CredentialProviderException"/> (a provider's bug).</summary>
    public Exception? ThrowOnIssue { get => _throwOnIssue; set => _throwOnIssue = value; }

    /// <summary>The next revoke throws this instead of a <see cref="CredentialProviderException"/> (a provider's bug).</summary>
    public Exception? ThrowOnRevoke { get => _throwOnRevoke; set => _throwOnRevoke = value; }

    public void FailIssues(int count, CredentialFailure failure, bool mayExist = false) => _failIssues = (count, failure, mayExist);

    public void FailRevokes(int count, CredentialFailure failure = CredentialFailure.Unavailable) => _failRevokes = (count, failure);

    /// <summary>Issues wait until <see cref="ReleaseIssues"/>, deaf to cancellation (a provider stuck in a call that ignores its token).</summary>
    public void HoldIssues() => _issueGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseIssues() => Interlocked.Exchange(ref _issueGate, null)?.TrySetResult();

    /// <summary>Revokes wait (recorded, not yet done) until <see cref="ReleaseRevokes"/>.</summary>
    public void HoldRevokes() => _revokeGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseRevokes() => Interlocked.Exchange(ref _revokeGate, null)?.TrySetResult();

    public async Task<IssuedCredential> IssueAsync(CredentialRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _issues.Add(request);
        }

        _issueStarted.TrySetResult();

        if (OnIssue is { } onIssue)
        {
            await onIssue(request);
        }

        if (_issueGate is { } gate)
        {
            await gate.Task;
        }

        if (HangIssues)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        if (Interlocked.Exchange(ref _throwOnIssue, null) is { } unexpected)
        {
            throw unexpected;
        }

        if (_failIssues.Count > 0)
        {
            _failIssues.Count--;
            throw new CredentialProviderException(_failIssues.Failure, $"scripted {_failIssues.Failure} (SQLSTATE 42501)") { MayExist = _failIssues.MayExist };
        }

        var password = "pw-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        lock (_lock)
        {
            Passwords.Add(password);
        }

        return new IssuedCredential(request.Username, password, "db.internal", 5432, "analytics");
    }

    public Task RenewAsync(CredentialRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

    public async Task RevokeAsync(CredentialRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _revokes.Add(request);
            LastRevokeToken = cancellationToken;
        }

        _revokeStarted.TrySetResult();

        if (_revokeGate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (HangRevokes)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        if (Interlocked.Exchange(ref _throwOnRevoke, null) is { } unexpected)
        {
            throw unexpected;
        }

        if (_failRevokes.Count > 0)
        {
            _failRevokes.Count--;
            throw new CredentialProviderException(_failRevokes.Failure, $"scripted {_failRevokes.Failure}: the database did not answer");
        }
    }
}
