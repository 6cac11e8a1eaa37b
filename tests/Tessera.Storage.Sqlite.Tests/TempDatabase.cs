namespace Tessera.Storage.Sqlite.Tests;

/// <summary>A fresh SQLite file in its own temporary directory, removed afterwards.</summary>
internal sealed class TempDatabase : IDisposable
{
    public TempDatabase()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("tessera-sqlite-").FullName;
        Path = System.IO.Path.Combine(Directory, "data", "tessera.db");
    }

    public string Directory { get; }

    public string Path { get; }

    /// <summary>A raw, unpooled connection that bypasses the store, as someone editing the file would.</summary>
    public SqliteConnection OpenRaw()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
