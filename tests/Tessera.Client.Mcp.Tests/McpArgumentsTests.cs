namespace Tessera.Client.Mcp.Tests;

/// <summary>
/// The <c>arguments_sha256</c> of an MCP call. The canonical form itself (RFC 8785, byte-equal to the
/// server's) is tested with the client's <c>Jcs</c> in Tessera.Client.Tests.
/// </summary>
public sealed class McpArgumentsTests
{
    [Fact]
    public void No_arguments_hash_as_an_empty_object()
    {
        using var empty = JsonDocument.Parse("{ }");

        Assert.Equal(McpArguments.NoArgumentsSha256, McpArguments.Sha256(empty.RootElement));
    }

    [Fact]
    public void The_hash_is_that_of_the_canonical_form_whatever_the_members_order_and_spacing()
    {
        using var a = JsonDocument.Parse("""{"b": [1, 2.50, "x"], "a": {"z": true, "y": null}}""");
        using var b = JsonDocument.Parse("""{"a":{"y":null,"z":true},"b":[1,2.5,"x"]}""");

        Assert.Equal(McpArguments.Sha256(a.RootElement), McpArguments.Sha256(b.RootElement));
        Assert.Equal(ExactRequest.McpArgumentsSha256(b.RootElement), McpArguments.Sha256(a.RootElement));
    }
}
