using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Tessera.Core.Protocol;

namespace Tessera.Benchmarks;

/// <summary>
/// <see cref="JsonCanonical"/> on a typical MCP tool call's <c>arguments</c> (ten members, a nested
/// object and an array of objects, non-ASCII text and escapes, ~500 bytes), as an exact-call approval
/// hashes it once per call: <c>Canonicalize</c> writes the canonical form into a reused buffer,
/// <c>Sha256Hex</c> is the whole <c>arguments_sha256</c>, <c>ParseAndSha256Hex</c> adds the parse.
/// </summary>
[MemoryDiagnoser]
public class JsonCanonicalBenchmarks
{
    private const string Arguments = """
        {
          "to": "customer-4711@example.com",
          "subject": "Your refund of \u20ac 120.50 \u2014 r\u00e9f. 2026/11",
          "body": "Hello Ana,\n\nyour refund has been approved.\n\t\"Thanks\" for waiting.\n",
          "priority": 3,
          "amount": 120.5,
          "currency": "EUR",
          "send_at": null,
          "draft": false,
          "recipient": { "name": "Ana Garc\u00eda", "locale": "es-ES", "customer_id": 4711, "tier": "gold" },
          "attachments": [
            { "name": "invoice-2026-11.pdf", "size": 48213, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" },
            { "name": "terms.txt", "size": 1203, "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }
          ]
        }
        """;

    private JsonDocument _document = null!;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);

    [GlobalSetup]
    public void Setup() => _document = JsonDocument.Parse(Arguments);

    [GlobalCleanup]
    public void Cleanup() => _document.Dispose();

    [Benchmark]
    public int Canonicalize()
    {
        _buffer.ResetWrittenCount();
        JsonCanonical.TryWrite(_document.RootElement, _buffer, out _);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public string Sha256Hex() => JsonCanonical.Sha256Hex(_document.RootElement);

    [Benchmark]
    public string ParseAndSha256Hex()
    {
        using var document = JsonDocument.Parse(Arguments);
        return JsonCanonical.Sha256Hex(document.RootElement);
    }
}
