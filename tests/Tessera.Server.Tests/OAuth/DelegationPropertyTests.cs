using CsCheck;
using Tessera.Core.Tokens;

namespace Tessera.Server.Tests.OAuth;

/// <summary>
/// Random sequences of exchanges by random agents on random subject tokens, with random scopes,
/// targets and time steps: no issued token is ever wider — in scope, audience, depth or lifetime —
/// than its subject token allows, and no request ever gets a 5xx.
/// </summary>
public sealed class DelegationPropertyTests
{
    private static readonly string[] Universe = ["crm:read", "crm:export", "crm:delete", "github:repo.read", "github:pr.write"];
    private static readonly ScopeSet AliceCeiling = ScopeSet.Parse("crm:read crm:export github:repo.read");

    private static readonly Dictionary<string, (ScopeSet Allowed, long MaxTtl)> AgentRules = new()
    {
        ["agent-a"] = (ScopeSet.Parse("crm:read crm:export github:repo.read github:pr.write"), 1200),
        ["agent-b"] = (ScopeSet.Parse("crm:read crm:export"), 600),
        ["agent-c"] = (ScopeSet.Parse("crm:read crm:export crm:delete"), 300),
        ["agent-d"] = (ScopeSet.Parse("crm:read"), 300),
        ["agent-x"] = (ScopeSet.Parse("crm:read"), 300),
    };

    private static readonly (string? Resource, string? ToolId, string? Audience)[] Targets =
    [
        (null, null, null),
        ("urn:tessera:tool:crm", "crm", "urn:tessera:tool:crm"),
        ("https://api.github.com", "github", "https://api.github.com"),
    ];

    [Fact]
    public async Task No_sequence_of_exchanges_yields_a_token_wider_than_its_subject_allows()
    {
        var (broker, idp) = await DelegationBroker.StartAsync(maxDepth: 3);
        await using var owner = broker;
        var step = Gen.Select(Gen.Int[0, 4], Gen.Int[0, 1000], Gen.Int[0, 31], Gen.Int[0, 2], Gen.Int[0, 90]);
        var scenario = Gen.Select(Gen.Int[0, 31], Gen.Int[60, 3600], step.Array[1, 8]);
        var exchanges = 0;

        await scenario.SampleAsync(async (aliceMask, aliceLifetime, steps) =>
        {
            var alice = idp.Mint("alice", broker.Time.GetUtcNow(), scope: Scopes(aliceMask).ToString(), lifetime: TimeSpan.FromSeconds(aliceLifetime));
            var aliceExp = broker.Time.GetUtcNow().ToUnixTimeSeconds() + aliceLifetime;
            var pool = new List<Subject> { new(alice, "urn:ietf:params:oauth:token-type:jwt", Scopes(aliceMask).Intersect(AliceCeiling), [], aliceExp) };
            foreach (var (agentIndex, subjectIndex, scopeMask, targetIndex, advance) in steps)
            {
                broker.Time.Advance(TimeSpan.FromSeconds(advance));
                var agent = DelegationBroker.Agents[agentIndex];
                var subject = pool[subjectIndex % pool.Count];
                var requested = Scopes(scopeMask);
                var target = Targets[targetIndex];
                using var response = await broker.ExchangeAsync(agent, subject.Token, target.Resource, requested.IsEmpty ? null : requested.ToString(),
                    subjectTokenType: subject.Type);
                Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    continue;
                }

                exchanges++;
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var token = json.RootElement.GetProperty("access_token").GetString()!;
                var c = DelegationBroker.Claims(token);
                var granted = ScopeSet.Parse(c.GetProperty("scope").GetString());
                var (allowed, maxTtl) = AgentRules[agent];

                // Scope only narrows.
                Assert.True(granted.IsSubsetOf(subject.Scope), $"{granted} ⊄ subject {subject.Scope}");
                Assert.True(granted.IsSubsetOf(allowed), $"{granted} ⊄ {agent} allowed {allowed}");
                Assert.True(requested.IsEmpty || granted.IsSubsetOf(requested), $"{granted} ⊄ requested {requested}");
                Assert.False(granted.IsEmpty);

                // Audience is the named tool, or the issuer for a mission token; a tool token holds only that tool's scopes.
                Assert.Equal(target.Audience ?? TestBroker.Issuer, c.GetProperty("aud").GetString());
                if (target.ToolId is { } toolId)
                {
                    Assert.True(granted.IsSubsetOf(granted.ForTool(toolId)));
                }

                // Depth: the holder keeps it, anyone else adds exactly one level, never beyond the maximum.
                var chain = Chain(c);
                Assert.True(chain.Count <= 3);
                Assert.Equal(agent, chain[^1]);
                Assert.True(chain.SequenceEqual(subject.Chain) || chain.SequenceEqual([.. subject.Chain, agent]), $"[{string.Join(",", chain)}] from [{string.Join(",", subject.Chain)}]");
                Assert.Equal("alice", c.GetProperty("sub").GetString());

                // Lifetime: never past the subject's, never longer than the agent may hold.
                var exp = c.GetProperty("exp").GetInt64();
                Assert.True(exp <= subject.Exp, $"exp {exp} > subject exp {subject.Exp}");
                Assert.True(exp - c.GetProperty("iat").GetInt64() <= maxTtl);

                if (target.ToolId is null)
                {
                    pool.Add(new Subject(token, "urn:ietf:params:oauth:token-type:access_token", granted, chain, exp));
                }
            }
        }, iter: 60, threads: 1);

        // The property is only meaningful if exchanges succeeded along the way.
        Assert.True(exchanges > 20, $"only {exchanges} exchanges succeeded");
    }

    private static ScopeSet Scopes(int mask) => ScopeSet.Of(Universe.Where((_, i) => (mask & (1 << i)) != 0));

    private static List<string> Chain(JsonElement claims)
    {
        var chain = new List<string>();
        var current = claims;
        while (current.TryGetProperty("act", out var act))
        {
            chain.Add(act.GetProperty("sub").GetString()!);
            current = act;
        }

        chain.Reverse();
        return chain;
    }

    private sealed record Subject(string Token, string Type, ScopeSet Scope, IReadOnlyList<string> Chain, long Exp);
}
