using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The storage contract's <see cref="ApprovalStoreContract"/>, on PostgreSQL.</summary>
public sealed class PostgresApprovalStoreTests(PostgresCluster cluster) : ApprovalStoreContract(new PostgresStoreDatabase(cluster));
