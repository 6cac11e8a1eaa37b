using Tessera.Storage.Contract;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The storage contract's <see cref="StateChangeContract"/>, on SQLite.</summary>
public sealed class SqliteStateChangeTests() : StateChangeContract(new SqliteStoreDatabase());
