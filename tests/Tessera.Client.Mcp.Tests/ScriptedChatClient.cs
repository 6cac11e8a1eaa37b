using Microsoft.Extensions.AI;

namespace Tessera.Client.Mcp.Tests;

/// <summary>
/// A model with a fixed plan, no LLM: each turn answers from the conversation so far. It records every
/// conversation it was sent, so a test can see what the function-invoking client gave it back.
/// </summary>
public sealed class ScriptedChatClient(params Func<IReadOnlyList<ChatMessage>, ChatMessage>[] turns) : IChatClient
{
    private int _turn;

    public List<IReadOnlyList<ChatMessage>> Seen { get; } = [];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<ChatMessage> conversation = [.. messages];
        Seen.Add(conversation);
        var turn = turns[Math.Min(_turn++, turns.Length - 1)];
        return Task.FromResult(new ChatResponse(turn(conversation)));
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
