using CsCheck;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Tessera.Server.OAuth;

namespace Tessera.Server.Tests.OAuth;

/// <summary>
/// The byte-level form parser reads every body exactly as the <c>FormReader</c>-based reader it
/// replaced: same parameters, same refusals with the same messages.
/// </summary>
public sealed class OAuthFormTests
{
    [Theory]
    [InlineData("grant_type=client_credentials&scope=crm%3Aread")]
    [InlineData("grant_type=client_credentials&scope=crm%3Aread&resource=a&audience=b&resource=c")]
    [InlineData("")]
    [InlineData("&")]
    [InlineData("=")]
    [InlineData("==")]
    [InlineData("a")]
    [InlineData("a=")]
    [InlineData("a=&b=1")]
    [InlineData("a=1&")]
    [InlineData("a=1&&b=2")]
    [InlineData("a&b=c")]
    [InlineData("a==b")]
    [InlineData("=x")]
    [InlineData("a=1&b")]
    [InlineData("scope=crm%3Aread+crm%3Aexport&grant_type=client%5Fcredentials")]
    [InlineData("a=%2B+%2b&b=%zG%&c=%ff%c0%af&d=%e2%82&e=%f0%9f%98%80")]
    [InlineData("Grant_Type=client_credentials&grant_type=client_credentials")]
    [InlineData("grant_type=a&GRANT_TYPE=b")]
    [InlineData("Resource=a&resource=b")]
    [InlineData("resource=a&RESOURCE=b&resource=&resource=c")]
    [InlineData("resource=&audience=")]
    [InlineData("grant_type=&scope=x")]
    [InlineData("grant_type=client_credentials&grant_type=")]
    [InlineData("gr%61nt_type=x&grant_type=y")]
    [InlineData("\ufeffgrant_type=x")]
    [InlineData("é=ü&ü=é&😀=😀")]
    public void Reads_like_FormReader(string body) => AssertSame(Encoding.UTF8.GetBytes(body));

    [Fact]
    public void Limits_are_the_same_at_their_edges()
    {
        string Pairs(int n) => string.Join('&', Enumerable.Range(0, n).Select(i => $"k{i}=v"));

        AssertSame(Encoding.UTF8.GetBytes(Pairs(64)));
        AssertSame(Encoding.UTF8.GetBytes(Pairs(65)));
        AssertSame(Encoding.UTF8.GetBytes(Pairs(64) + "&x"));
        AssertSame(Encoding.UTF8.GetBytes(Pairs(64) + "&x="));
        AssertSame(Encoding.UTF8.GetBytes(Pairs(64) + "&"));
        foreach (var length in new[] { 127, 128, 129 })
        {
            AssertSame(Encoding.UTF8.GetBytes(new string('k', length) + "=v"));
            AssertSame(Encoding.UTF8.GetBytes("a=1&" + new string('k', length)));
            AssertSame(Encoding.UTF8.GetBytes(new string('é', length) + "=v"));
            AssertSame(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("😀", length / 2)) + (length % 2 == 1 ? "k" : "") + "=v"));
        }

        foreach (var length in new[] { 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1 })
        {
            AssertSame(Encoding.UTF8.GetBytes("k=" + new string('v', length)));
            AssertSame(Encoding.UTF8.GetBytes("k=" + new string('ü', length) + "&a=b"));
        }
    }

    [Fact]
    public void Invalid_utf8_is_refused_before_anything_else()
    {
        AssertSame([.. "grant_type=client_credentials&scope="u8, 0xff, 0xfe]);
        AssertSame([.. "grant_type=client_"u8, 0xed, 0xa0, 0x80, .. "credentials"u8]);
        AssertSame([.. "a=1&a=2&x="u8, 0xe2, 0x82]);
        AssertSame([.. Encoding.ASCII.GetBytes(string.Join('&', Enumerable.Range(0, 80).Select(i => $"k{i}=v"))), 0xc3]);
    }

    [Fact]
    public void Random_bodies_read_the_same()
    {
        // Separators, escapes (well-formed, broken, of invalid UTF-8), case variants of the names that matter, non-ASCII.
        string[] pieces =
        [
            "=", "&", "&", "=", "+", "%", "%2", "%41", "%3D", "%26", "%2B", "%ff", "%c3%a9", "%e2%82", "%zG", "a", "b", "A", "x1",
            "resource", "Resource", "audience", "grant_type", "GRANT_TYPE", "scope", "client_id", "token", "é", "😀", " ", "\t",
        ];
        Gen.Int[0, pieces.Length - 1].Array[0, 60]
            .Select(indices => Encoding.UTF8.GetBytes(string.Concat(indices.Select(i => pieces[i]))))
            .Sample(AssertSame, iter: 5000);
    }

    private static void AssertSame(byte[] body)
    {
        var (expected, expectedError) = Reference(body);
        var (form, error) = OAuthForm.Parse(body);
        Assert.Equal(expectedError, error?.Error.Description);
        if (expected is null)
        {
            Assert.Null(form);
            return;
        }

        Assert.NotNull(form);
        Assert.Equal(expected.Value.Single.OrderBy(p => p.Key, StringComparer.Ordinal), form.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(expected.Value.Multi.GetValueOrDefault("resource") ?? [], form.GetAll("resource"));
        Assert.Equal(expected.Value.Multi.GetValueOrDefault("audience") ?? [], form.GetAll("audience"));
    }

    /// <summary>The reader this parser replaced: the body decoded to a string, FormReader, then the OAuth rules.</summary>
    private static ((Dictionary<string, string> Single, Dictionary<string, List<string>> Multi)? Form, string? Error) Reference(byte[] body)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return (null, "The request body is not valid UTF-8.");
        }

        Dictionary<string, StringValues> fields;
        try
        {
            using var reader = new FormReader(text) { ValueCountLimit = 64, KeyLengthLimit = 128, ValueLengthLimit = 16 * 1024 };
            fields = reader.ReadForm();
        }
        catch (InvalidDataException)
        {
            return (null, "The form has too many or too long parameters.");
        }

        var single = new Dictionary<string, string>(StringComparer.Ordinal);
        var multi = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (key, values) in fields)
        {
            if (key is "resource" or "audience")
            {
                multi[key] = [.. values.Where(v => !string.IsNullOrEmpty(v)).Select(v => v!)];
                continue;
            }

            if (values.Count > 1)
            {
                return (null, $"The parameter '{(key.Length > 64 ? key[..64] + "…" : key)}' is included more than once.");
            }

            if (!string.IsNullOrEmpty(values[0]))
            {
                single[key] = values[0]!;
            }
        }

        return ((single, multi), null);
    }
}
