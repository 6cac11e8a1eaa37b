namespace Tessera.Core.Tests.Mcp;

public sealed class McpSessionBindingTests : IDisposable
{
    private readonly MasterKey _masterKey = new(RandomNumberGenerator.GetBytes(32));
    private readonly McpSessionBinding _binding;

    public McpSessionBindingTests() => _binding = new McpSessionBinding(_masterKey);

    public void Dispose() => _masterKey.Dispose();

    [Fact]
    public void A_tagged_session_id_untags_to_the_servers_id_for_the_same_tool_and_identity()
    {
        var tagged = _binding.Tag("issues", "support-agent", "alice", "sess-1")!;

        Assert.StartsWith("sess-1.", tagged, StringComparison.Ordinal);
        Assert.Equal("sess-1".Length + 1 + 22, tagged.Length);
        Assert.All(tagged, c => Assert.InRange(c, '\x21', '\x7E'));
        Assert.Equal("sess-1", _binding.Untag("issues", "support-agent", "alice", tagged));
    }

    [Fact]
    public void A_session_id_containing_dots_keeps_them()
    {
        var tagged = _binding.Tag("issues", "support-agent", "support-agent", "a.b.c")!;

        Assert.Equal("a.b.c", _binding.Untag("issues", "support-agent", "support-agent", tagged));
    }

    [Theory]
    [InlineData("issues", "other-agent", "alice")]
    [InlineData("issues", "support-agent", "bob")]
    [InlineData("tickets", "support-agent", "alice")]
    public void Another_agent_principal_or_tool_cannot_use_the_session(string tool, string clientId, string subject)
    {
        var tagged = _binding.Tag("issues", "support-agent", "alice", "sess-1")!;

        Assert.Null(_binding.Untag(tool, clientId, subject, tagged));
    }

    [Fact]
    public void Another_master_key_derives_another_binding_and_the_same_key_the_same()
    {
        using var other = new MasterKey(RandomNumberGenerator.GetBytes(32));
        var tagged = _binding.Tag("issues", "support-agent", "alice", "sess-1")!;

        Assert.Null(new McpSessionBinding(other).Untag("issues", "support-agent", "alice", tagged));
        Assert.Equal(tagged, new McpSessionBinding(_masterKey).Tag("issues", "support-agent", "alice", "sess-1"));
    }

    [Fact]
    public void A_missing_truncated_or_altered_tag_is_refused()
    {
        var tagged = _binding.Tag("issues", "support-agent", "alice", "sess-1")!;
        var flipped = tagged[..^2] + (tagged[^2] == 'A' ? 'B' : 'A') + tagged[^1];
        // The last character carries two bits of the tag; its other spellings (same bits, other padding bits) are not the tag.
        var respelled = tagged[..^1] + (char)(tagged[^1] + 1);
        var otherSession = "sess-2" + tagged["sess-1".Length..];

        Assert.Null(_binding.Untag("issues", "support-agent", "alice", "sess-1"));
        Assert.Null(_binding.Untag("issues", "support-agent", "alice", tagged[..^1]));
        Assert.Null(_binding.Untag("issues", "support-agent", "alice", tagged + "A"));
        Assert.Null(_binding.Untag("issues", "support-agent", "alice", flipped));
        Assert.Null(_binding.Untag("issues", "support-agent", "alice", respelled));
        Assert.Null(_binding.Untag("issues", "support-agent", "alice", otherSession));
        Assert.Null(_binding.Untag("issues", "support-agent", "alice", "." + tagged[(tagged.LastIndexOf('.') + 1)..]));
        Assert.Null(_binding.Untag("issues", "support-agent", "alice", ""));
    }

    [Theory]
    [InlineData("séss")]
    [InlineData("sess 1")]
    [InlineData("sess\t1")]
    [InlineData("")]
    public void A_server_session_id_that_is_not_visible_ascii_is_not_tagged(string sessionId)
    {
        Assert.Null(_binding.Tag("issues", "support-agent", "alice", sessionId));
    }

    [Fact]
    public void A_presented_id_that_is_not_visible_ascii_is_refused()
    {
        var tagged = _binding.Tag("issues", "support-agent", "alice", "sess-1")!;

        Assert.Null(_binding.Untag("issues", "support-agent", "alice", "sé" + tagged));
    }

    [Fact]
    public void An_identity_with_a_nul_gets_no_tag_that_verifies()
    {
        var tagged = _binding.Tag("issues", "support-agent", "al\0ice", "sess-1")!;

        Assert.Null(_binding.Untag("issues", "support-agent", "al\0ice", tagged));
    }
}
