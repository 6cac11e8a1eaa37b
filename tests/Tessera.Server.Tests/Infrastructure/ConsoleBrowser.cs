using System.Net;
using System.Text.RegularExpressions;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A browser's part in the console tests: keeps the cookies the broker sets (as a browser would, by
/// name), and posts forms with the antiforgery token of the page last read.
/// </summary>
public sealed partial class ConsoleBrowser(TestBroker broker)
{
    private readonly Dictionary<string, string> _cookies = [];

    /// <summary>The antiforgery field of the last page read, if it had a form.</summary>
    public string? FormToken { get; private set; }

    /// <summary>Every Set-Cookie header the broker has sent, in order.</summary>
    public List<string> SetCookies { get; } = [];

    public async Task<(HttpResponseMessage Response, string Body)> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await SendAsync(request);
    }

    /// <summary>Posts <paramref name="fields"/> as a form, with the last page's antiforgery token unless <paramref name="withFormToken"/> is false.</summary>
    public async Task<(HttpResponseMessage Response, string Body)> PostAsync(string path, IEnumerable<KeyValuePair<string, string>> fields, bool withFormToken = true)
    {
        List<KeyValuePair<string, string>> all = [.. fields];
        if (withFormToken && FormToken is not null)
        {
            all.Add(new("__form", FormToken));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(all) };
        return await SendAsync(request);
    }

    /// <summary>Reads the sign-in page and signs in with <paramref name="token"/>; returns the sign-in's response.</summary>
    public async Task<(HttpResponseMessage Response, string Body)> SignInAsync(string token)
    {
        await GetAsync("/console/sign-in");
        return await PostAsync("/console/sign-in", [new("token", token)]);
    }

    public bool HasCookie(string name) => _cookies.ContainsKey(name);

    /// <summary>The same browser (its cookies and the form of its last page) talking to <paramref name="other"/>: another node, or the broker after a restart.</summary>
    public ConsoleBrowser On(TestBroker other)
    {
        var moved = new ConsoleBrowser(other) { FormToken = FormToken };
        foreach (var (name, value) in _cookies)
        {
            moved._cookies[name] = value;
        }

        return moved;
    }

    private async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpRequestMessage request)
    {
        if (_cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(c => $"{c.Key}={c.Value}")));
        }

        var response = await broker.Client.SendAsync(request);
        if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var header in setCookies)
            {
                SetCookies.Add(header);
                var pair = header.Split(';')[0];
                var name = pair[..pair.IndexOf('=', StringComparison.Ordinal)];
                var value = pair[(name.Length + 1)..];
                if (value.Length == 0 || header.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase))
                {
                    _cookies.Remove(name);
                }
                else
                {
                    _cookies[name] = value;
                }
            }
        }

        var body = await response.Content.ReadAsStringAsync();
        if (FormTokenField().Match(body) is { Success: true } match)
        {
            FormToken = WebUtility.HtmlDecode(match.Groups[1].Value);
        }

        return (response, body);
    }

    [GeneratedRegex("name=\"__form\" value=\"([^\"]+)\"")]
    private static partial Regex FormTokenField();
}
