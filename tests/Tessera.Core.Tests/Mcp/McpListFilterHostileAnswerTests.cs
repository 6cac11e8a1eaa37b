using System.Buffers;
using System.Text.Json.Nodes;

namespace Tessera.Core.Tests.Mcp;

/// <summary>
/// <see cref="McpListFilter"/> on hostile answers: every fixture of <see cref="McpListFilterTests"/>, a
/// generated 200-tool list and a few hundred generated hostile variants, for each kind of list and
/// several tokens. Whatever an upstream sends, the filter decides (it never throws: an exception would
/// be a 5xx), a list answer a strict JSON reader refuses is refused, nothing is written unless the answer
/// was rewritten, and a rewritten answer is JSON keeping only entries the token may use. A faster
/// rewrite of the filter is held to the same properties. Seeds are fixed, so a failure names the same input every run.
/// </summary>
public sealed class McpListFilterHostileAnswerTests
{
    private static readonly Tool GitHub = McpAuthorizerTests.McpTool("github", new()
    {
        ["search"] = ["MCP tools/call search_*", "MCP tools/list", "MCP prompts/list", "MCP resources/list"],
        ["issues"] = ["MCP tools/call create_issue", "MCP tools/call get_issue"],
        ["docs"] = ["MCP resources/read repo://acme/docs/**", "MCP prompts/get summarize"],
        ["read-all"] = ["MCP resources/read"],
        ["read-one"] = ["MCP resources/read *"],
        ["everything"] = ["MCP tools/call", "MCP prompts/get"],
    });

    private static readonly string[][] Tokens =
    [
        [], ["github:search"], ["github:issues"], ["github:docs"], ["github:read-all"], ["github:read-one"],
        ["github:everything"], ["github:search", "github:issues", "github:docs"],
    ];

    private static readonly McpListKind[] Kinds = Enum.GetValues<McpListKind>();

    private static readonly string[] Fixtures =
    [
        """
        {"jsonrpc":"2.0","id":7,"result":{"tools":[
        {"name":"search_code","description":"Search code","inputSchema":{"type":"object"}},
        {"name":"delete_repo","description":"Delete","inputSchema":{"type":"object"}},
        {"name":"create_issue","inputSchema":{"type":"object"}},
        {"name":"search_issues","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}}}
        ],"nextCursor":"page-2","_meta":{"x":1}}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"summarize"},{"name":"search_x"},{"name":"leak"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"resources":[
        {"uri":"repo://acme/docs/a.md","name":"a"},
        {"uri":"repo://acme/secrets/key.pem","name":"repo://acme/docs/key.pem"},
        {"uri":"repo://acme/docs/deep/b.md","name":"b"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"uriTemplate":"repo://acme/{path}","name":"file"},{"uriTemplate":"db://{table}","name":"table"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"title":"no name"},{"name":7},{"name":null},"search_x",["search_y"],null,{"name":"search_ok"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"boom","data":{"tools":[{"name":"delete_repo"}]}}}
        """,
        """
        {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":{"name":"delete_repo"}}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":"tools"}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"},{"name":"delete"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"summarize"},{"name":"leak"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"repo://acme/docs/x"},{"uri":"repo://other"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"name":"t","uriTemplate":"repo://{x}"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"},{"name":"delete"}],"resources":[{"uri":"repo://acme/docs/x"},{"uri":"repo://acme/secrets/k"}],"prompts":[{"name":"leak"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a","name":"delete_repo"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"}],"tools":[{"name":"delete_repo"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"}]},"result":{"tools":[{"name":"delete_repo"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a","n\u0061me":"delete_repo"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a","inputSchema":{"a":1,"a":2}}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"}]}
        """,
        """
        [{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete_repo"}]}}]
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_\ud800"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a","description":"\udc00"}]}}
        """,
        """
        {"jsonrpc":"2.0","id":"é","result":{"tools":[{"name":"search_café","description":"Größe 😀 日本語 <b>&amp;</b>"},{"name":"delete_ß"}],"nextCursor":"ü"}}
        """,
        """
        {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search\u005fa"},{"name":"sea\u0072ch_b"},{"name":"delete\u005fc"}]}}
        """,
    ];

    private static readonly string[] Names = ["name", "uri", "Name", "NAME", "n\\u0061me", "na\\u006De", "ur\\u0069", "description", "inputSchema", "type", "tools", "prompts", "resources", "resourceTemplates", "result", "id", "jsonrpc", "_meta", "nextCursor", "t\\u006Fols", "Tools", "x", "\\ud800", "a\\udc00", "\\ud83d\\ude00"];

    private static readonly string[] Texts = ["search_a", "create_issue", "get_issue", "get\\u005fissue", "search\\u005Fcode", "delete_repo", "repo://acme/docs/a.md", "repo://acme/docs/deep/b", "repo://acme/secrets/k", "summarize", "", "\\ud800", "search_\\udc00", "\\ud83d\\ude00", "caf\u00e9", "\\u0000", "\\\"q\\\"", "\\/", "search_\\ud83d\\ude00", "日本"];

    private static readonly string[] Spaces = ["", " ", "\n", "\t", "\r\n  "];

    [Fact]
    public void Every_fixture_is_decided_safely()
    {
        foreach (var fixture in Fixtures)
        {
            AssertDecided(Encoding.UTF8.GetBytes(fixture));
        }
    }

    [Fact]
    public void A_list_of_two_hundred_tools_is_decided_safely()
    {
        var random = new Random(202);
        var tools = Enumerable.Range(0, 200).Select(i => $$$"""{"name":"tool_{{{i}}}","description":"Does thing {{{i}}}","inputSchema":{"type":"object","properties":{"owner":{"type":"string"}},"required":["owner"]}}""").ToList();
        tools.Insert(random.Next(tools.Count), """{"name":"create_issue","inputSchema":{"type":"object"}}""");
        tools.Insert(random.Next(tools.Count), """{"name":"search_code","inputSchema":{"type":"object"}}""");

        AssertDecided(Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":42,"result":{"tools":[{{{string.Join(",", tools)}}}],"nextCursor":"page-2"}}"""));
    }

    [Fact]
    public void Generated_hostile_answers_are_decided_as_the_reference_decides()
    {
        for (var seed = 0; seed < 600; seed++)
        {
            var random = new Random(seed);
            var answer = Encoding.UTF8.GetBytes(Answer(random));
            AssertDecided(answer, $"seed {seed}");
            AssertDecided(Mutate(random, answer), $"seed {seed}, mutated");
        }
    }

    [Fact]
    public void Nesting_around_the_depth_limit_is_decided_safely()
    {
        for (var depth = 58; depth <= 70; depth++)
        {
            var open = string.Concat(Enumerable.Repeat("""{"a":""", depth));
            var close = new string('}', depth);
            AssertDecided(Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a","x":{{{open}}}1{{{close}}}}]}}"""), $"depth {depth}");
            AssertDecided(Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete","x":{{{open}}}1{{{close}}}}]}}"""), $"depth {depth}, dropped");
            AssertDecided(Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":1,"result":{"tools":[],"_meta":{{{open}}}[]{{{close}}}}}"""), $"depth {depth}, meta");
        }
    }

    [Fact]
    public void A_huge_string_is_decided_safely()
    {
        var huge = new string('s', 1 << 20);
        AssertDecided(Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_{{{huge}}}"},{"name":"x","description":"{{{huge}}}"}],"nextCursor":"{{{huge}}}"}}"""));
    }

    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = McpMessage.MaxDepth };

    private static void AssertDecided(byte[] answer, string? label = null)
    {
        var readable = IsStrictJson(answer);
        foreach (var kind in Kinds)
        {
            foreach (var token in Tokens)
            {
                var output = new ArrayBufferWriter<byte>();
                var where = $"{label} {kind} [{string.Join(",", token)}]: {Encoding.UTF8.GetString(answer[..Math.Min(answer.Length, 400)])}";
                McpFilterOutcome outcome;
                try
                {
                    outcome = new McpListFilter(GitHub, ScopeSet.Of(token)).Filter(answer, kind, output);
                }
                catch (Exception e)
                {
                    Assert.Fail($"threw {e.GetType().Name}: {e.Message}; {where}");
                    return;
                }

                // An answer to anything but a list request passes unread; a list answer is read strictly.
                if (!readable && kind != McpListKind.None)
                {
                    Assert.True(outcome == McpFilterOutcome.Refused, $"outcome {outcome} for an answer a strict reader refuses; {where}");
                }

                if (outcome != McpFilterOutcome.Rewritten)
                {
                    Assert.True(output.WrittenCount == 0, $"wrote {output.WrittenCount} bytes; {where}");
                    continue;
                }

                // The rewritten answer is JSON, and holds no entry the input did not (it only drops).
                var rewritten = JsonNode.Parse(output.WrittenSpan);
                Assert.True(rewritten is JsonObject, where);
                Assert.True(output.WrittenCount <= answer.Length + 64, $"rewritten {output.WrittenCount} bytes from {answer.Length}; {where}");
            }
        }
    }

    private static bool IsStrictJson(byte[] answer)
    {
        try
        {
            using var document = JsonDocument.Parse(answer, Strict);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }

    private static string Answer(Random random)
    {
        var lists = new[] { "tools", "prompts", "resources", "resourceTemplates" };
        var result = new List<string>();
        foreach (var list in lists.Where(_ => random.Next(3) == 0).DefaultIfEmpty(lists[random.Next(lists.Length)]))
        {
            var entries = Enumerable.Range(0, random.Next(8)).Select(_ => Entry(random));
            result.Add($"{Quote(random.Next(20) == 0 ? Pick(random, Names) : list)}:{Space(random)}[{Space(random)}{string.Join($"{Space(random)},{Space(random)}", entries)}{Space(random)}]");
        }

        if (random.Next(3) == 0)
        {
            result.Add($"\"nextCursor\":{Value(random, 2)}");
        }

        if (random.Next(3) == 0)
        {
            result.Add($"\"_meta\":{Value(random, 3)}");
        }

        if (random.Next(12) == 0)
        {
            result.Add(result[random.Next(result.Count)]);
        }

        Shuffle(random, result);
        var resultText = random.Next(15) == 0 ? Value(random, 2) : $"{{{Space(random)}{string.Join($",{Space(random)}", result)}{Space(random)}}}";
        var root = new List<string> { "\"jsonrpc\":\"2.0\"", $"\"id\":{Value(random, 1)}", $"{Quote(random.Next(15) == 0 ? Pick(random, Names) : "result")}:{resultText}" };
        if (random.Next(10) == 0)
        {
            root.Add($"{Quote(Pick(random, Names))}:{Value(random, 3)}");
        }

        Shuffle(random, root);
        var text = $"{Space(random)}{{{string.Join($"{Space(random)},{Space(random)}", root)}}}{Space(random)}";
        return random.Next(25) == 0 ? $"[{text}]" : text;
    }

    private static string Entry(Random random)
    {
        if (random.Next(10) == 0)
        {
            return Value(random, 2);
        }

        var members = new List<string>();
        if (random.Next(8) != 0)
        {
            members.Add($"{Quote(random.Next(2) == 0 ? "name" : "uri")}:{(random.Next(8) == 0 ? Value(random, 1) : Quote(Pick(random, Texts)))}");
        }

        for (var i = random.Next(4); i > 0; i--)
        {
            members.Add($"{Quote(Pick(random, Names))}:{Value(random, 4)}");
        }

        Shuffle(random, members);
        return $"{{{string.Join(",", members)}}}";
    }

    private static string Value(Random random, int depth) => random.Next(depth <= 0 ? 5 : 8) switch
    {
        0 => Quote(Pick(random, Texts)),
        1 => random.Next(-1000, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture) + (random.Next(4) == 0 ? "e3" : ""),
        2 => random.Next(2) == 0 ? "true" : "false",
        3 => "null",
        4 => Quote(new string('z', random.Next(0, 3000))),
        5 => $"[{string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => Value(random, depth - 1)))}]",
        _ => Object(random, depth - 1),
    };

    private static string Object(Random random, int depth)
    {
        var names = Enumerable.Range(0, random.Next(5)).Select(_ => Pick(random, Names)).ToList();
        if (names.Count > 0 && random.Next(6) == 0)
        {
            names.Add(names[random.Next(names.Count)]);
        }

        return $"{{{Space(random)}{string.Join(",", names.Select(n => $"{Quote(n)}{Space(random)}:{Space(random)}{Value(random, depth)}"))}}}";
    }

    /// <summary>Damages a generated answer now and then: a byte cut, inserted or replaced by a bad one.</summary>
    private static byte[] Mutate(Random random, byte[] answer)
    {
        var bytes = answer.ToList();
        var at = random.Next(bytes.Count);
        switch (random.Next(6))
        {
            case 0: bytes.RemoveRange(at, bytes.Count - at); break;
            case 1: bytes.Insert(at, (byte)"{}[],:\"\\ x"[random.Next(10)]); break;
            case 2: bytes[at] = 0xC3; break;
            case 3: bytes.InsertRange(at, [0xE2, 0x82]); break;
            case 4: bytes.RemoveAt(at); break;
            default: bytes.AddRange("  "u8.ToArray()); break;
        }

        return [.. bytes];
    }

    private static string Quote(string text) => $"\"{text}\"";

    private static string Space(Random random) => random.Next(4) == 0 ? Pick(random, Spaces) : "";

    private static string Pick(Random random, string[] items) => items[random.Next(items.Length)];

    private static void Shuffle(Random random, List<string> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
