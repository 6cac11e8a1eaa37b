namespace Tessera.Core.Tests.Storage;

public sealed class ClusterChangeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_revocation_travels_whole_in_its_key_even_with_colons_in_its_id()
    {
        var entry = new RevocationEntry(RevocationKind.Agent, "spiffe://corp/agent:7", T0, T0.AddHours(1));

        var announced = ClusterChange.Announcing(entry)!;

        Assert.Equal(ClusterChangeKind.Revocation, announced.Kind);
        Assert.Equal(entry, (announced with { Id = 9 }).Revocation());
    }

    [Fact]
    public void Changes_held_in_memory_are_announced_and_those_read_from_the_database_are_not()
    {
        Assert.Equal(ClusterChangeKind.Suspension, ClusterChange.Announcing(new AgentSuspension("a", true, T0))!.Kind);
        Assert.Equal(ClusterChangeKind.SigningKey, ClusterChange.Announcing(new SigningKeyRetired("k1"))!.Kind);
        Assert.Equal(ClusterChangeKind.Vault, ClusterChange.Announcing(new SecretVersionsDestroyed([], T0))!.Kind);
        Assert.Null(ClusterChange.Announcing(new AssertionUsed("k", T0)));
    }

    [Fact]
    public void A_malformed_revocation_key_throws_rather_than_being_skipped()
    {
        Assert.Throws<FormatException>(() => new ClusterChange(3, ClusterChangeKind.Revocation, "garbage").Revocation());
        Assert.Throws<FormatException>(() => new ClusterChange(3, ClusterChangeKind.Suspension, "1:2:3:x").Revocation());
    }
}
