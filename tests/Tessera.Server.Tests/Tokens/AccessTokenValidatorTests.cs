using System.Text;
using Tessera.Core.Tokens;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Tokens;

public sealed class AccessTokenValidatorTests
{
    [Fact]
    public async Task A_remembered_token_still_expires_and_is_still_revocable()
    {
        await using var broker = await TestBroker.StartAsync();
        var validator = broker.Service<AccessTokenValidator>();
        var token = await broker.IssueAsync();
        Assert.Equal(TokenStatus.Active, (await validator.ValidateAsync(token, CancellationToken.None)).Status);

        using var revoke = await broker.PostFormAsync("/oauth/revoke", [new("token", token)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        Assert.Equal(TokenStatus.Revoked, (await validator.ValidateAsync(token, CancellationToken.None)).Status);

        var other = await broker.IssueAsync();
        Assert.Equal(TokenStatus.Active, (await validator.ValidateAsync(other, CancellationToken.None)).Status);
        broker.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(TokenStatus.Expired, (await validator.ValidateAsync(other, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_copied_signature_under_a_forged_payload_is_never_taken_from_memory()
    {
        await using var broker = await TestBroker.StartAsync();
        var validator = broker.Service<AccessTokenValidator>();
        var token = await broker.IssueAsync();
        Assert.Equal(TokenStatus.Active, (await validator.ValidateAsync(token, CancellationToken.None)).Status);

        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1])).Replace("crm:read", "crm:export", StringComparison.Ordinal);
        var forged = $"{parts[0]}.{System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";
        Assert.Equal(TokenStatus.InvalidSignature, (await validator.ValidateAsync(forged, CancellationToken.None)).Status);

        var flipped = token[..^2] + (token[^2] == 'A' ? 'B' : 'A') + token[^1];
        Assert.NotEqual(TokenStatus.Active, (await validator.ValidateAsync(flipped, CancellationToken.None)).Status);
    }
}
