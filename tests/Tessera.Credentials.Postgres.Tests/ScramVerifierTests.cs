namespace Tessera.Credentials.Postgres.Tests;

[Trait("Speed", "Slow")] // one test asks a real PostgreSQL cluster
[Collection(WarehouseCollection.Name)]
public sealed class ScramVerifierTests(Warehouse warehouse)
{
    [Fact]
    public void The_verifier_of_a_known_password_is_the_one_PostgreSQL_stores()
    {
        // PostgreSQL 15 made this for CREATE ROLE ... PASSWORD 'pencil' (password_encryption = scram-sha-256).
        const string stored = "SCRAM-SHA-256$4096:uXfjaO8akynzck9eC7lnNQ==$0h6eLt+kiwcJV10GtEb46m6uX2r5R6SyvYD9NInX4NQ=:FTWio+KVI0sj2GIy73EFOzN7BEITMIWzvIlKDSAW3cQ=";

        Assert.Equal(stored, ScramVerifier.Compute("pencil", Convert.FromBase64String("uXfjaO8akynzck9eC7lnNQ=="), 4096));
    }

    [Fact]
    public async Task The_verifier_of_a_password_like_a_leases_matches_what_PostgreSQL_itself_computes()
    {
        var password = System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var role = "scram_" + Guid.NewGuid().ToString("N");
        await warehouse.ScalarAsync<int>($"SET password_encryption = 'scram-sha-256'; CREATE ROLE {role} PASSWORD '{password}'; SELECT 1");

        var stored = (await warehouse.ScalarAsync<string>("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role))!;
        var (iterations, salt) = (int.Parse(stored[14..stored.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture),
            stored[(stored.IndexOf(':', StringComparison.Ordinal) + 1)..stored.IndexOf('$', 14)]);

        Assert.Equal(stored, ScramVerifier.Compute(password, Convert.FromBase64String(salt), iterations));
    }

    [Fact]
    public void Each_verifier_has_a_new_salt_and_only_characters_of_its_alphabet()
    {
        var first = ScramVerifier.Create("the same password");
        var second = ScramVerifier.Create("the same password");

        Assert.NotEqual(first, second);
        Assert.StartsWith("SCRAM-SHA-256$4096:", first, StringComparison.Ordinal);
        Assert.True(first.AsSpan().IndexOfAnyExcept(ScramVerifier.Alphabet) < 0);
    }
}
