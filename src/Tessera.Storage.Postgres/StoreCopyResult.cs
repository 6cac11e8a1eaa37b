using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

/// <summary>What a copy into PostgreSQL wrote: rows per table (in copy order), and the node whose chain the audit events became, with its head.</summary>
public sealed record StoreCopyResult(string Node, IReadOnlyList<KeyValuePair<string, long>> Rows, AuditHead AuditHead);
