using Tessera.Core.Leases;
using Tessera.Core.Tools;

namespace Tessera.Server.Tests.Leases;

/// <summary>The real provider, telling the test which role it ended: lets a test await the reaper's work instead of running a pass itself.</summary>
public sealed class ObservedProvider(ICredentialProvider inner) : ICredentialProvider, IAsyncDisposable
{
    private readonly TaskCompletionSource<string> _revoked = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the username of the first credential ended.</summary>
    public Task<string> Revoked => _revoked.Task;

    public ToolProtocol Protocol => inner.Protocol;

    public Task<IssuedCredential> IssueAsync(CredentialRequest request, CancellationToken cancellationToken) => inner.IssueAsync(request, cancellationToken);

    public Task RenewAsync(CredentialRequest request, CancellationToken cancellationToken) => inner.RenewAsync(request, cancellationToken);

    public async Task RevokeAsync(CredentialRequest request, CancellationToken cancellationToken)
    {
        await inner.RevokeAsync(request, cancellationToken);
        _revoked.TrySetResult(request.Username);
    }

    public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;
}
