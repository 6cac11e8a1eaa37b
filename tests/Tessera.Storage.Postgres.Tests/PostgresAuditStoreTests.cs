using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The storage contract's <see cref="AuditStoreContract"/>, on PostgreSQL.</summary>
public sealed class PostgresAuditStoreTests(PostgresCluster cluster) : AuditStoreContract(new PostgresStoreDatabase(cluster));
