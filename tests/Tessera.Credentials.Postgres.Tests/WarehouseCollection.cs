namespace Tessera.Credentials.Postgres.Tests;

/// <summary>The tests that make leases in a real PostgreSQL share one throwaway cluster.</summary>
[CollectionDefinition(Name)]
public sealed class WarehouseCollection : ICollectionFixture<Warehouse>
{
    public const string Name = "warehouse";
}
