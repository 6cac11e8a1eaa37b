using Tessera.Client;
using Tessera.Client.AI;

namespace Microsoft.Extensions.AI;

/// <summary>Adds Tessera's exact-call approvals to a chat client pipeline.</summary>
public static class TesseraChatClientBuilderExtensions
{
    /// <summary>
    /// Answers tool approval requests for <see cref="TesseraGatedMcpTool"/>s with Tessera
    /// approvals bound to the exact call: for each call the model makes to such a tool, an approval of its
    /// gated scopes with <c>authorization_details</c> <c>tessera_mcp_call</c> (the tool, the name and the
    /// SHA-256 of the RFC 8785 canonical arguments, with the arguments for the approver to read); then it
    /// waits for the decision (polling at the server's interval) and answers the function-invoking client:
    /// approved, the call runs with the token issued for exactly it; denied or expired, it is rejected
    /// with the reason and never reaches the tool. Add it before (outside) <c>UseFunctionInvocation</c>:
    /// <code>builder.UseTesseraApprovals(tessera).UseFunctionInvocation()</code>
    /// </summary>
    /// <param name="builder">The chat client builder.</param>
    /// <param name="tessera">The agent (from <c>AddTesseraAgent</c>).</param>
    /// <param name="configure">Sets the reason shown to approvers, a callback when an approval opens, the rounds allowed.</param>
    public static ChatClientBuilder UseTesseraApprovals(this ChatClientBuilder builder, ITesseraAgent tessera, Action<TesseraApprovalOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var agent = tessera as TesseraAgent ?? throw new ArgumentException("The agent must be the one AddTesseraAgent registers.", nameof(tessera));
        var options = new TesseraApprovalOptions();
        configure?.Invoke(options);
        return builder.Use(inner => new TesseraApprovalChatClient(inner, new McpCallApprover(agent, options), options));
    }
}
