namespace Tessera.Benchmarks;

/// <summary>
/// The scope algebra every issuance and exchange runs: parsing a requested scope string, then
/// intersecting it with what the agent may hold and checking the result stays within the subject's.
/// </summary>
[MemoryDiagnoser]
public class ScopeAlgebraBenchmarks
{
    private const string Requested = "crm:read crm:write mail:send calendar:read drive:read";

    private ScopeSet _requested = null!;
    private ScopeSet _allowed = null!;
    private ScopeSet _subject = null!;

    [GlobalSetup]
    public void Setup()
    {
        _requested = ScopeSet.Parse(Requested);
        // An agent allowed a dozen scopes across six tools, three of them among those requested.
        _allowed = ScopeSet.Parse("crm:read crm:export mail:send mail:read calendar:write calendar:admin drive:write github:read github:write jira:read jira:write slack:post");
        // A subject token's scopes, of which the grant must be a subset.
        _subject = ScopeSet.Parse("crm:read crm:write crm:export mail:send mail:read calendar:read drive:read drive:write");
    }

    [Benchmark]
    public ScopeSet Parse5() => ScopeSet.Parse(Requested);

    [Benchmark]
    public ScopeSet Intersect() => _requested.Intersect(_allowed);

    [Benchmark]
    public bool IsSubsetOf() => _requested.IsSubsetOf(_subject);
}
