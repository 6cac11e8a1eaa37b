namespace Tessera.Storage.Postgres;

/// <summary>A copy into PostgreSQL refused before anything was committed (a target not empty, a source this build cannot copy whole); the message is for a person.</summary>
public sealed class StoreCopyRefusedException(string message) : Exception(message);
