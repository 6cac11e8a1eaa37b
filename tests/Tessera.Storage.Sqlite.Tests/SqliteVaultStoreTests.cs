using Tessera.Storage.Contract;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The storage contract's <see cref="VaultStoreContract"/>, on SQLite.</summary>
public sealed class SqliteVaultStoreTests() : VaultStoreContract(new SqliteStoreDatabase());
