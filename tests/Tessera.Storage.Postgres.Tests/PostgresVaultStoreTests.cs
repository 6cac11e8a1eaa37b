using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The storage contract's <see cref="VaultStoreContract"/>, on PostgreSQL.</summary>
public sealed class PostgresVaultStoreTests(PostgresCluster cluster) : VaultStoreContract(new PostgresStoreDatabase(cluster));
