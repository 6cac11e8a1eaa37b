using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;
using Tessera.Client.Mcp;

namespace Tessera.Client.AI;

/// <summary>
/// Sits outside <see cref="FunctionInvokingChatClient"/>. When a response asks for approval of calls
/// to <see cref="TesseraGatedMcpTool"/>s (wrapped in an <see cref="ApprovalRequiredAIFunction"/>, or named by <see cref="TesseraApprovalOptions.Gate"/>), it asks Tessera for an approval bound to each exact
/// call, waits for the approvers, and answers the function-invoking client: approved calls run (each
/// with the token issued for exactly it, and only it), the others are rejected with the reason. A
/// response that also asks about other functions is returned as it is: the application decides those,
/// and Tessera's own (it answers nothing it cannot answer whole).
/// </summary>
internal sealed class TesseraApprovalChatClient(IChatClient inner, McpCallApprover approver, TesseraApprovalOptions options) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        var history = messages as List<ChatMessage> ?? [.. messages];
        var owned = !ReferenceEquals(history, messages);
        IDisposable? approved = null;
        try
        {
            for (var round = 0; ; round++)
            {
                var response = await base.GetResponseAsync(history, chatOptions, cancellationToken).ConfigureAwait(false);
                approved?.Dispose();
                approved = null;
                var requests = response.Messages.SelectMany(m => m.Contents).OfType<ToolApprovalRequestContent>().ToList();
                if (requests.Count == 0 || round >= options.MaximumRounds || Gated(requests, chatOptions) is not { } gated)
                {
                    return response;
                }

                var (answers, calls) = await DecideAsync(gated, cancellationToken).ConfigureAwait(false);
                if (!owned)
                {
                    history = [.. history];
                    owned = true;
                }

                history.AddRange(response.Messages);
                history.Add(new ChatMessage(ChatRole.User, answers));
                approved = ApprovedMcpCalls.Enter(calls);
            }
        }
        finally
        {
            approved?.Dispose();
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<ChatMessage> history = [.. messages];
        ApprovedMcpCalls? approved = null;
        for (var round = 0; ; round++)
        {
            // Tessera's approval requests are held back (the caller cannot answer them); everything else streams as it comes.
            var held = new List<ToolApprovalRequestContent>();
            var others = false;
            var updates = new List<ChatResponseUpdate>();
            var inner = base.GetStreamingResponseAsync(history, chatOptions, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    // Entered for each step: an AsyncLocal set in an async iterator does not outlive a yield,
                    // and the approved call is made inside some step of the inner enumerator.
                    bool more;
                    using (approved is null ? null : ApprovedMcpCalls.Enter(approved))
                    {
                        more = await inner.MoveNextAsync().ConfigureAwait(false);
                    }

                    if (!more)
                    {
                        break;
                    }

                    var update = inner.Current;
                    updates.Add(update);
                    var requests = update.Contents.OfType<ToolApprovalRequestContent>().ToList();
                    var mine = requests.Where(r => FunctionOf(r, chatOptions) is not null).ToList();
                    others |= requests.Count > mine.Count;
                    if (mine.Count == 0)
                    {
                        yield return update;
                        continue;
                    }

                    held.AddRange(mine);
                    var rest = update.Contents.Where(c => !mine.Contains(c)).ToList();
                    if (rest.Count > 0)
                    {
                        yield return new ChatResponseUpdate(update.Role, rest) { MessageId = update.MessageId, ResponseId = update.ResponseId, ConversationId = update.ConversationId };
                    }
                }
            }
            finally
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }

            approved = null;
            if (held.Count == 0)
            {
                yield break;
            }

            if (others || round >= options.MaximumRounds)
            {
                // Not answered here: handed to the caller with the rest.
                yield return new ChatResponseUpdate(ChatRole.Assistant, [.. held]);
                yield break;
            }

            var (answers, calls) = await DecideAsync([.. held.Select(r => (r, FunctionOf(r, chatOptions)!))], cancellationToken).ConfigureAwait(false);
            history.AddRange(updates.ToChatResponse().Messages);
            history.Add(new ChatMessage(ChatRole.User, answers));
            approved = ApprovedMcpCalls.Create(calls);
        }
    }

    /// <summary>Each request with its Tessera function, or null when any request is for another function.</summary>
    private List<(ToolApprovalRequestContent Request, TesseraGatedMcpTool Function)>? Gated(List<ToolApprovalRequestContent> requests, ChatOptions? chatOptions)
    {
        var gated = new List<(ToolApprovalRequestContent, TesseraGatedMcpTool)>(requests.Count);
        foreach (var request in requests)
        {
            if (FunctionOf(request, chatOptions) is not { } function)
            {
                return null;
            }

            gated.Add((request, function));
        }

        return gated;
    }

    /// <summary>
    /// The Tessera gate of the function a request is for: a <see cref="TesseraGatedMcpTool"/> in its chain, or
    /// what <see cref="TesseraApprovalOptions.Gate"/> makes of the <see cref="McpClientTool"/> in it; null when
    /// the function is not Tessera's to approve.
    /// </summary>
    private TesseraGatedMcpTool? FunctionOf(ToolApprovalRequestContent request, ChatOptions? chatOptions)
    {
        if (request.ToolCall is not FunctionCallContent call || chatOptions?.Tools is not { } tools)
        {
            return null;
        }

        foreach (var function in tools.OfType<AIFunction>())
        {
            if (function.Name != call.Name || function.GetService<ApprovalRequiredAIFunction>() is null)
            {
                continue;
            }

            if (function.GetService<TesseraGatedMcpTool>() is { } gated)
            {
                return gated;
            }

            if (options.Gate is { } gate && function.GetService<McpClientTool>() is { } mcpTool)
            {
                return gate(mcpTool);
            }
        }

        return null;
    }

    /// <summary>Asks for every approval at once (each waits for a person) and answers each request.</summary>
    private async Task<(List<AIContent> Answers, List<ApprovedMcpCall> Calls)> DecideAsync(
        List<(ToolApprovalRequestContent Request, TesseraGatedMcpTool Function)> gated, CancellationToken cancellationToken)
    {
        var decisions = await Task.WhenAll(gated.Select(g => approver.ApproveAsync(g.Function, (FunctionCallContent)g.Request.ToolCall, cancellationToken))).ConfigureAwait(false);
        var answers = new List<AIContent>(gated.Count);
        var calls = new List<ApprovedMcpCall>(gated.Count);
        for (var i = 0; i < gated.Count; i++)
        {
            var (call, reason) = decisions[i];
            if (call is not null)
            {
                calls.Add(call);
                answers.Add(gated[i].Request.CreateResponse(approved: true, reason: "approved in Tessera"));
            }
            else
            {
                answers.Add(gated[i].Request.CreateResponse(approved: false, reason: "Tessera: " + reason));
            }
        }

        return (answers, calls);
    }
}
