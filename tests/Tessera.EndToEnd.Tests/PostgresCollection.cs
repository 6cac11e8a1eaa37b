using Tessera.Storage.Postgres.Tests;

namespace Tessera.EndToEnd.Tests;

/// <summary>The tests that run <c>tessera serve</c> on PostgreSQL share one throwaway cluster, started only when one of them runs.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres";
}
