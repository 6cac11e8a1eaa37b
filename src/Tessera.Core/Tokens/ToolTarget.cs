using Tessera.Core.Tools;

namespace Tessera.Core.Tokens;

/// <summary>
/// The tool a token request is for (<see cref="ToolCatalog.Resolve"/>): the tool, none when the
/// request names none and none could be inferred, or the refusal.
/// </summary>
internal readonly record struct ToolTarget(Tool? Tool, Protocol.Refusal? Refusal);
