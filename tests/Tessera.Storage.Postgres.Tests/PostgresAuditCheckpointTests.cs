using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The storage contract's <see cref="AuditCheckpointContract"/>, on PostgreSQL: one node's chain, its checkpoints naming the node.</summary>
public sealed class PostgresAuditCheckpointTests(PostgresCluster cluster) : AuditCheckpointContract(new PostgresStoreDatabase(cluster));
