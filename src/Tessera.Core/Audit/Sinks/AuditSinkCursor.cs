using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Tessera.Core.Audit.Sinks;

/// <summary>
/// The durable place of a sink in the chain: the sequence number of the last event it delivered, in
/// a small file (<c>data_dir/audit-sinks/NAME.cursor</c>) rewritten in place after each batch. Written
/// only after the batch's lines are written (and, for a file, synced), so after a crash it is at or
/// behind what was delivered: a sink may deliver an event twice, never skip one.
/// </summary>
public sealed class AuditSinkCursor(string path) : IDisposable
{
    /// <summary>A whole <see cref="long"/> in decimal, padded so every write covers the one before it.</summary>
    private const int Width = 20;

    private SafeFileHandle? _handle;

    public string Path => path;

    /// <summary>The saved sequence number; 0 (from the beginning) when there is none or it cannot be read.</summary>
    public long Load()
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        var text = File.ReadAllText(path).Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : 0;
    }

    public void Save(long seq)
    {
        if (_handle is null)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            _handle = AuditSinkFile.Open(path, FileMode.OpenOrCreate).SafeFileHandle;
        }

        Span<byte> text = stackalloc byte[Width + 1];
        text.Fill((byte)' ');
        seq.TryFormat(text, out _, default, CultureInfo.InvariantCulture);
        text[Width] = (byte)'\n';
        RandomAccess.Write(_handle, text, 0);
    }

    public void Dispose() => _handle?.Dispose();
}
