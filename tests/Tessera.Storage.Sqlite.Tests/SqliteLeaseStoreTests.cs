using Tessera.Storage.Contract;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The storage contract's <see cref="LeaseStoreContract"/>, on SQLite.</summary>
public sealed class SqliteLeaseStoreTests() : LeaseStoreContract(new SqliteStoreDatabase());
