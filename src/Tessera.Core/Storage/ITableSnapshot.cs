namespace Tessera.Core.Storage;

/// <summary>
/// A consistent read of every table of a store, row by row as stored, for copying one store into
/// another (<c>tessera storage copy</c>). The copying side decides which tables and columns to read;
/// the snapshot only reads them, in one read transaction, without holding more than one row.
/// </summary>
public interface ITableSnapshot : IAsyncDisposable
{
    /// <summary>The store's tables holding data (its schema bookkeeping left out), so a copy can refuse tables it does not know.</summary>
    Task<IReadOnlyList<string>> TablesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The rows of <paramref name="table"/>, the values of <paramref name="columns"/> in that order as
    /// stored (integers as <see cref="long"/>, text as <see cref="string"/>, blobs as byte arrays, null
    /// as null), in the order of <paramref name="orderBy"/>. The array is reused for the next row.
    /// </summary>
    IAsyncEnumerable<object?[]> ReadAsync(string table, IReadOnlyList<string> columns, string orderBy, CancellationToken cancellationToken);
}
