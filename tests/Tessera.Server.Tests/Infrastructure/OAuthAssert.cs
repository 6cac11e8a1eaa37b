namespace Tessera.Server.Tests.Infrastructure;

/// <summary>Checks the exact RFC 6749 §5.2 error on the wire: status code, JSON body, <c>error</c> value.</summary>
public static class OAuthAssert
{
    /// <summary>Asserts the status and the <c>error</c> member, and returns the raw body for further checks.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status} {error}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(error, json.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("error_description").GetString()));
        if (status == HttpStatusCode.Unauthorized)
        {
            Assert.NotEmpty(response.Headers.WwwAuthenticate);
        }

        return body;
    }

    /// <summary>Asserts a 200 token response and returns the access token.</summary>
    public static async Task<string> TokenAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"expected 200, got {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        var token = json.RootElement.GetProperty("access_token").GetString();
        Assert.False(string.IsNullOrEmpty(token));
        return token!;
    }

    /// <summary>Asserts that an introspection answer is exactly <c>{"active":false}</c>, byte for byte.</summary>
    public static async Task InactiveAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"active\":false}", await response.Content.ReadAsStringAsync());
    }
}
