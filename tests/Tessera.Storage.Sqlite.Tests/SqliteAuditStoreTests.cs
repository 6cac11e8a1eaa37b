using Tessera.Storage.Contract;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The storage contract's <see cref="AuditStoreContract"/>, on SQLite.</summary>
public sealed class SqliteAuditStoreTests() : AuditStoreContract(new SqliteStoreDatabase());
