using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;

namespace Tessera.Client.AI;

/// <summary>How <c>UseTesseraApprovals</c> asks for approvals.</summary>
public sealed class TesseraApprovalOptions
{
    /// <summary>The <c>reason</c> an approver reads with the request (at most 512 characters); none when null or when it returns null.</summary>
    public Func<FunctionCallContent, string?>? Reason { get; set; }

    /// <summary>Called once Tessera has opened an approval for a call (to tell the user who must decide, or to record its <c>auth_req_id</c>).</summary>
    public Action<ApprovalRequest, FunctionCallContent>? ApprovalRequested { get; set; }

    /// <summary>
    /// For an <see cref="ApprovalRequiredAIFunction"/> over a plain <see cref="McpClientTool"/> (not a
    /// <see cref="TesseraGatedMcpTool"/>): the Tessera tool and the approval-gated scopes that allow calling
    /// it, as a <see cref="TesseraGatedMcpTool"/> (<c>t =&gt; t.Name.StartsWith("delete_") ? new(t, "issues", "issues:admin") : null</c>),
    /// or null to leave its approval to the application.
    /// </summary>
    public Func<McpClientTool, TesseraGatedMcpTool?>? Gate { get; set; }

    /// <summary>How many rounds of approvals one chat call may go through before the last response is returned as it is (default 8).</summary>
    public int MaximumRounds { get; set; } = 8;
}
