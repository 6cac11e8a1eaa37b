using Tessera.Core.Configuration;
using Tessera.Storage.Postgres;

namespace Tessera.Cli.Tests;

public sealed class ConfiguredStoreTests
{
    [Fact]
    public async Task A_sqlite_location_opens_the_sqlite_store_on_that_file()
    {
        var config = Load("storage: sqlite:state/tessera.db");

        await using var store = ConfiguredStore.Open(config);

        var sqlite = Assert.IsType<SqliteTesseraStore>(store);
        Assert.Equal(Path.Combine(Path.GetTempPath(), "state", "tessera.db"), sqlite.Path);
        Assert.False(ConfiguredStore.IsShared(config));
    }

    [Theory]
    [InlineData("postgres://tessera@db.internal:5432/tessera")]
    [InlineData("Host=db.internal;Database=tessera;Username=tessera")]
    public async Task A_postgres_location_opens_the_postgres_store_as_the_configured_node(string location)
    {
        var config = Load($"storage: \"{location}\"\ncluster: {{ node_id: node-7 }}");

        // Opening connects to nothing yet; the store reaches the database on first use.
        await using var store = ConfiguredStore.Open(config);

        Assert.Equal("node-7", Assert.IsType<PostgresTesseraStore>(store).NodeId);
        Assert.True(ConfiguredStore.IsShared(config));
    }

    private static TesseraConfig Load(string yaml) => ConfigLoader.Load(yaml, "tessera.yaml", Path.GetTempPath());
}
