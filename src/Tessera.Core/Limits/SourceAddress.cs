using System.Buffers.Binary;
using System.Globalization;
using System.Net;

namespace Tessera.Core.Limits;

/// <summary>
/// Where a request came from, as the limits count it: an IPv4 address, or the /64 network of an
/// IPv6 address (one host is routinely given a whole /64, so counting single IPv6 addresses would let
/// one host appear as billions of sources). A value type, so keying a table by it allocates nothing.
/// </summary>
public readonly record struct SourceAddress
{
    private readonly ulong _high;
    private readonly ulong _low;

    private SourceAddress(ulong high, ulong low)
    {
        _high = high;
        _low = low;
        IsKnown = true;
    }

    /// <summary>A request whose peer address is not known (an in-memory test server): all such share one source.</summary>
    public static readonly SourceAddress Unknown;

    public bool IsKnown { get; }

    private bool IsIPv4 => IsKnown && _high == 0 && _low >> 32 == 0xFFFF;

    public static SourceAddress From(IPAddress? address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address is null || !address.TryWriteBytes(bytes, out var written))
        {
            return Unknown;
        }

        if (written == 4)
        {
            return new SourceAddress(0, 0xFFFF_0000_0000UL | BinaryPrimitives.ReadUInt32BigEndian(bytes));
        }

        var high = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        var low = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);

        // An IPv4 client on a dual-stack socket arrives IPv4-mapped: it is that IPv4 address.
        return high == 0 && low >> 32 == 0xFFFF ? new SourceAddress(0, low) : new SourceAddress(high, 0);
    }

    public override string ToString()
    {
        if (!IsKnown)
        {
            return "unknown";
        }

        if (IsIPv4)
        {
            var v4 = (uint)_low;
            return string.Create(CultureInfo.InvariantCulture, $"{v4 >> 24}.{(v4 >> 16) & 0xFF}.{(v4 >> 8) & 0xFF}.{v4 & 0xFF}");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{_high >> 48:x}:{(_high >> 32) & 0xFFFF:x}:{(_high >> 16) & 0xFFFF:x}:{_high & 0xFFFF:x}::/64");
    }
}
