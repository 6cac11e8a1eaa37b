namespace Tessera.Core.Tests.Proxy;

/// <summary>A request to the proxy as the server would hand it over, written field by field.</summary>
internal sealed class FakeProxyRequest : IProxyRequest
{
    public FakeProxyRequest(string method, string rawTarget)
    {
        Method = method;
        RawTarget = rawTarget;
    }

    public string? RawTarget { get; set; }

    public string Method { get; set; }

    public string RequestId { get; set; } = "req-1";

    public string? ContentType { get; set; }

    public long? ContentLength { get; set; }

    /// <summary>As a server tells it from the framing: a length above 0 or chunked.</summary>
    public bool HasBody => ContentLength > 0 || Has("Transfer-Encoding");

    public long? MaxBodySize { get; set; } = 1024 * 1024;

    public CancellationToken Aborted => TestContext.Current.CancellationToken;

    /// <summary>The headers, each with its values in order (names compared without case, as HTTP does).</summary>
    public Dictionary<string, string[]> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The body as sent.</summary>
    public byte[] Body { get; set; } = [];

    /// <summary>Set to make reading the body fail as the server fails it (413 over its limit, 400 malformed).</summary>
    public int? BodyRefusedWith { get; set; }

    /// <summary>How many times the body was read.</summary>
    public int BodyReads { get; private set; }

    public IEnumerable<string?> Connection => Headers.GetValueOrDefault("Connection") ?? [];

    public FakeProxyRequest With(string name, params string[] values)
    {
        Headers[name] = values;
        return this;
    }

    public int Header(string name, out string? first)
    {
        var values = Headers.GetValueOrDefault(name) ?? [];
        first = values.Length > 0 ? values[0] : null;
        return values.Length;
    }

    public bool Has(string name) => Headers.ContainsKey(name);

    public bool HasHeaderStartingWith(string prefix) => Headers.Keys.Any(k => k.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));

    public ValueTask<BodyDigest> HashBodyAsync()
    {
        BodyReads++;
        return ValueTask.FromResult(BodyRefusedWith is { } status ? BodyDigest.Refused(status) : BodyDigest.Of(SHA256.HashData(Body)));
    }

    public ValueTask<BufferedBody> ReadBodyAsync()
    {
        BodyReads++;
        return ValueTask.FromResult(BodyRefusedWith is { } status ? BufferedBody.Refused(status) : BufferedBody.Of(Body));
    }
}
