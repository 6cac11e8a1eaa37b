using System.Net;
using Tessera.Core.Limits;

namespace Tessera.Core.Tests.Limits;

public sealed class SourceAddressTests
{
    [Fact]
    public void An_ipv4_address_is_its_own_source()
    {
        var a = SourceAddress.From(IPAddress.Parse("203.0.113.7"));

        Assert.Equal("203.0.113.7", a.ToString());
        Assert.NotEqual(a, SourceAddress.From(IPAddress.Parse("203.0.113.8")));
    }

    [Fact]
    public void An_ipv4_address_mapped_into_ipv6_is_the_same_source()
    {
        Assert.Equal(SourceAddress.From(IPAddress.Parse("198.51.100.1")), SourceAddress.From(IPAddress.Parse("::ffff:198.51.100.1")));
    }

    [Fact]
    public void Ipv6_addresses_of_one_64_network_are_one_source()
    {
        var a = SourceAddress.From(IPAddress.Parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
        var b = SourceAddress.From(IPAddress.Parse("2001:db8:1:2::1"));
        var other = SourceAddress.From(IPAddress.Parse("2001:db8:1:3::1"));

        Assert.Equal(a, b);
        Assert.NotEqual(a, other);
        Assert.Equal("2001:db8:1:2::/64", a.ToString());
    }

    [Fact]
    public void An_unknown_peer_is_one_source_of_its_own()
    {
        Assert.Equal(SourceAddress.Unknown, SourceAddress.From(null));
        Assert.Equal("unknown", SourceAddress.From(null).ToString());
        Assert.NotEqual(SourceAddress.Unknown, SourceAddress.From(IPAddress.IPv6Any));
    }
}
