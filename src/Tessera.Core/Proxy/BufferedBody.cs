namespace Tessera.Core.Proxy;

/// <summary>A request body read whole (the bytes that are checked and then forwarded), or the status the server refused reading it with (413, 400).</summary>
public readonly record struct BufferedBody(ReadOnlyMemory<byte> Content, int RefusedStatus)
{
    public bool IsRead => RefusedStatus == 0;

    public static BufferedBody Of(ReadOnlyMemory<byte> content) => new(content, 0);

    public static BufferedBody Refused(int status) => new(default, status);
}
