using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The storage contract's <see cref="StateChangeContract"/>, on PostgreSQL.</summary>
public sealed class PostgresStateChangeTests(PostgresCluster cluster) : StateChangeContract(new PostgresStoreDatabase(cluster));
