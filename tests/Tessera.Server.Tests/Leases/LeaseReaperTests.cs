using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Leases;
using Tessera.Credentials.Postgres;
using Tessera.Credentials.Postgres.Tests;

namespace Tessera.Server.Tests.Leases;

/// <summary>The reaper in a running broker: what makes it end leases without being asked.</summary>
[Collection(LeaseCollection.Name)]
[Trait("Speed", "Slow")] // a real PostgreSQL cluster
public sealed class LeaseReaperTests(Warehouse warehouse)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_revocation_wakes_the_reaper_which_ends_the_missions_lease_without_waiting_for_its_sweep()
    {
        ObservedProvider? provider = null;
        var (broker, idp) = await LeaseBroker.StartAsync(warehouse, configure: builder =>
        {
            builder.Services.RemoveAll<ICredentialProvider>();
            builder.Services.AddSingleton<ICredentialProvider>(_ =>
                provider = new ObservedProvider(new PostgresCredentialProvider(TimeProvider.System, NullLogger<PostgresCredentialProvider>.Instance)));
        });
        await using var _b = broker;
        using var started = await broker.ExchangeAsync(idp.Mint("alice", broker.Time.GetUtcNow()), scope: null);
        using var exchanged = await broker.ExchangeAsync(await OAuthAssert.TokenAsync(started), "warehouse:read", missionToken: true);
        var token = await OAuthAssert.TokenAsync(exchanged);
        var role = (await broker.LeaseAsync(token)).GetProperty("username").GetString()!;
        var mission = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.Split('.')[1])).RootElement.GetProperty("mission").GetString()!;

        using (var revoked = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "mission", id = mission }))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        // The broker's clock stands still, so no sweep falls due: only the revocation's wake-up can end the lease.
        Assert.Equal(role, await provider!.Revoked.WaitAsync(Patience, Ct));
        Assert.False(await warehouse.RoleExistsAsync(role));
    }
}
