using Tessera.Storage.Contract;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The storage contract's <see cref="AuditCheckpointContract"/>, on SQLite.</summary>
public sealed class SqliteAuditCheckpointTests() : AuditCheckpointContract(new SqliteStoreDatabase());
