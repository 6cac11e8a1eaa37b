namespace Tessera.Client.AspNetCore.Tests.Infrastructure;

/// <summary>A broker and a tool validating its tokens (default options: Bearer or DPoP, no introspection), fresh for every test.</summary>
public abstract class ToolTestBase : IAsyncLifetime
{
    private ToolBroker? _broker;
    private TestTool? _tool;

    protected ToolBroker Broker => _broker!;
    protected TestTool Tool => _tool!;

    public async ValueTask InitializeAsync()
    {
        _broker = await ToolBroker.StartAsync();
        _tool = await TestTool.StartAsync(_broker);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_tool is not null)
        {
            await _tool.DisposeAsync();
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>The claims of a token, decoded without validation.</summary>
    protected static JsonElement Claims(string token) =>
        JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1])).RootElement.Clone();

    /// <summary>Asserts a 401 whose challenge carries <paramref name="scheme"/> and <paramref name="error"/>; returns the challenge.</summary>
    protected static string AssertUnauthorized(HttpResponseMessage response, string scheme, string error)
    {
        var challenge = TestTool.Challenge(response);
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"expected 401, got {(int)response.StatusCode}: {challenge}");
        Assert.StartsWith($"{scheme} error=\"{error}\"", challenge, StringComparison.Ordinal);
        return challenge;
    }
}
