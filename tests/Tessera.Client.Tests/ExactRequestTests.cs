using Tessera.Core.Mcp;
using Tessera.Core.Protocol;

namespace Tessera.Client.Tests;

public sealed class ExactRequestTests
{
    [Fact]
    public void The_body_hash_is_lower_case_hex_sha256_of_the_bytes()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ExactRequest.BodySha256([]));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ExactRequest.BodySha256("abc"u8));
    }

    [Fact]
    public void A_call_without_arguments_hashes_as_the_server_expects()
    {
        using var empty = JsonDocument.Parse("{}");
        Assert.Equal(McpCallDetail.NoArgumentsSha256, ExactRequest.McpArgumentsSha256(empty.RootElement));
    }

    [Theory]
    [InlineData("{\"b\": [1, 2.50, \"x\"], \"a\": {\"z\": null, \"y\": true}}", "{\"a\":{\"y\":true,\"z\":null},\"b\":[1,2.5,\"x\"]}")]
    [InlineData("{\"query\": \"caf\\u00e9\", \"limit\": 1E1}", "{\"limit\":10,\"query\":\"café\"}")]
    public void Arguments_hash_as_their_canonical_form_and_as_the_server_hashes_them(string arguments, string canonical)
    {
        using var document = JsonDocument.Parse(arguments);

        var hash = ExactRequest.McpArgumentsSha256(document.RootElement);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))), hash);
        Assert.True(JsonCanonical.TrySha256Hex(document.RootElement, out var server, out _, exactNumbers: true));
        Assert.Equal(server, hash);
    }

    [Fact]
    public void Arguments_the_server_would_refuse_are_refused()
    {
        using var document = JsonDocument.Parse("{\"id\": 9007199254740993}");
        Assert.Throws<ArgumentException>(() => ExactRequest.McpArgumentsSha256(document.RootElement));
    }
}
