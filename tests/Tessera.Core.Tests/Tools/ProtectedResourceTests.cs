namespace Tessera.Core.Tests.Tools;

public sealed class ProtectedResourceTests
{
    [Theory]
    [InlineData("https://tessera.example", "https://tessera.example/proxy/issues", "issues")]
    [InlineData("https://tessera.example/", "https://tessera.example/proxy/issues/", "issues")]
    [InlineData("https://tessera.example", "https://tessera.example/proxy/", null)]
    [InlineData("https://tessera.example", "https://tessera.example/proxy/issues/x", null)]
    [InlineData("https://tessera.example", "https://tessera.example.evil/proxy/issues", null)]
    [InlineData("https://tessera.example", "https://tessera.example/proxyissues", null)]
    [InlineData("https://tessera.example", "urn:tessera:tool:issues", null)]
    [InlineData("https://tessera.example", "issues", null)]
    public void A_tool_is_named_by_its_proxy_url_under_this_issuer_and_nothing_else(string issuer, string resource, string? expected) =>
        Assert.Equal(expected, ProtectedResource.ToolIdOf(issuer, resource));

    [Fact]
    public void The_metadata_url_puts_the_well_known_path_between_the_host_and_the_resource_path()
    {
        Assert.Equal("https://tessera.example/proxy/issues", ProtectedResource.UriOf("https://tessera.example/", "issues"));
        Assert.Equal("https://tessera.example/.well-known/oauth-protected-resource/proxy/issues", ProtectedResource.MetadataUrlOf("https://tessera.example", "issues"));
    }
}
