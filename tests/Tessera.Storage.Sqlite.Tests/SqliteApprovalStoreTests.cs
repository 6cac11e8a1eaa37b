using Tessera.Storage.Contract;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The storage contract's <see cref="ApprovalStoreContract"/>, on SQLite.</summary>
public sealed class SqliteApprovalStoreTests() : ApprovalStoreContract(new SqliteStoreDatabase());
