using Npgsql;
using NpgsqlTypes;

namespace Tessera.Storage.Postgres;

/// <summary>Typed parameters: the type is sent with the value, so a null is never left for the server to guess.</summary>
internal static class Sql
{
    public static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Long(string name, long value) => new NpgsqlParameter<long>(name, NpgsqlDbType.Bigint) { TypedValue = value };

    /// <summary>A bigint null (a time not set).</summary>
    public static NpgsqlParameter NullLong(string name) => new(name, NpgsqlDbType.Bigint) { Value = DBNull.Value };

    public static NpgsqlParameter Int(string name, int value) => new NpgsqlParameter<int>(name, NpgsqlDbType.Integer) { TypedValue = value };

    public static NpgsqlParameter Bytes(string name, byte[] value) => new NpgsqlParameter<byte[]>(name, NpgsqlDbType.Bytea) { TypedValue = value };

    public static NpgsqlParameter TextArray(string name, string[] value) =>
        new NpgsqlParameter<string[]>(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = value };

    public static NpgsqlParameter LongArray(string name, long[] value) =>
        new NpgsqlParameter<long[]>(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = value };

    public static NpgsqlParameter Ms(string name, DateTimeOffset value) => Long(name, value.ToUnixTimeMilliseconds());

    public static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
