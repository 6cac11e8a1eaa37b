namespace Tessera.Core.Mcp;

/// <summary>
/// The pattern of an MCP rule (docs/reference/configuration.md, "MCP rules"), matched against a
/// tool's or prompt's name or a resource's URI: <c>*</c> matches any run of characters without
/// <c>/</c>, <c>**</c> any run at all; every other character stands for itself, case-sensitive.
/// Written by hand because it is our policy language and runs on every MCP message.
/// </summary>
/// <remarks>
/// Matching walks the text once, carrying the set of pattern positions the text so far can stand at
/// (a small automaton), so it costs at most (pattern length + 1) × (text length) steps whatever the
/// text: a backtracking glob costs the text length to the power of the number of stars.
/// </remarks>
public sealed class McpPattern
{
    /// <summary>The longest pattern the configuration accepts.</summary>
    public const int MaxLength = 512;

    private const char One = '\uE000';
    private const char Any = '\uE001';

    /// <summary>The pattern as tokens: a literal character, <see cref="One"/> or <see cref="Any"/>.</summary>
    private readonly char[] _tokens;

    private McpPattern(string text, char[] tokens)
    {
        Text = text;
        _tokens = tokens;
    }

    public string Text { get; }

    /// <summary>Parses a pattern, or returns null and why it is not one.</summary>
    public static McpPattern? Parse(string text, out string? problem)
    {
        problem = text.Length switch
        {
            0 => "the pattern is empty",
            > MaxLength => $"the pattern is longer than {MaxLength} characters",
            _ => null,
        };
        if (problem is not null)
        {
            return null;
        }

        var tokens = new List<char>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c) || char.IsWhiteSpace(c) || c is One or Any)
            {
                problem = "the pattern holds a space or a control character";
                return null;
            }

            if (c != '*')
            {
                tokens.Add(c);
                continue;
            }

            if (i + 1 < text.Length && text[i + 1] == '*')
            {
                if (i + 2 < text.Length && text[i + 2] == '*')
                {
                    problem = "'***' is not a pattern: use * (no '/') or ** (anything)";
                    return null;
                }

                tokens.Add(Any);
                i++;
            }
            else
            {
                tokens.Add(One);
            }
        }

        return new McpPattern(text, [.. tokens]);
    }

    /// <summary>Whether the whole of <paramref name="text"/> matches.</summary>
    public bool Matches(ReadOnlySpan<char> text)
    {
        var n = _tokens.Length + 1;
        Span<bool> current = n <= 256 ? stackalloc bool[n] : new bool[n];
        Span<bool> next = n <= 256 ? stackalloc bool[n] : new bool[n];
        current[0] = true;
        Close(current);
        foreach (var c in text)
        {
            next.Clear();
            var any = false;
            for (var i = 0; i < _tokens.Length; i++)
            {
                if (!current[i])
                {
                    continue;
                }

                var token = _tokens[i];
                if (token == Any || (token == One && c != '/'))
                {
                    // A star consumes the character and may go on consuming.
                    next[i] = true;
                    any = true;
                }
                else if (token == c)
                {
                    next[i + 1] = true;
                    any = true;
                }
            }

            if (!any)
            {
                return false;
            }

            Close(next);
            var swap = current;
            current = next;
            next = swap;
        }

        return current[_tokens.Length];
    }

    /// <summary>Adds the positions reachable without reading a character: past every star (which may match nothing).</summary>
    private void Close(Span<bool> states)
    {
        for (var i = 0; i < _tokens.Length; i++)
        {
            if (states[i] && _tokens[i] is One or Any)
            {
                states[i + 1] = true;
            }
        }
    }

    public override string ToString() => Text;
}
