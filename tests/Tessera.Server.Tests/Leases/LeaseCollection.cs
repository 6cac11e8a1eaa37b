using Tessera.Credentials.Postgres.Tests;

namespace Tessera.Server.Tests.Leases;

/// <summary>The lease tests share one throwaway PostgreSQL cluster (each test its own broker, leases and rows).</summary>
[CollectionDefinition(Name)]
public sealed class LeaseCollection : ICollectionFixture<Warehouse>
{
    public const string Name = "leases";
}
