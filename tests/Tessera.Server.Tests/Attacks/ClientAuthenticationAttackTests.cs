namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Attacks on client authentication at the token endpoint: probing for client ids, expired
/// registrations, mixing methods, and malformed or oversized credentials.
/// </summary>
public sealed class ClientAuthenticationAttackTests
{
    private static Task<HttpResponseMessage> PostSecretAsync(TestBroker broker, string clientId, string secret) =>
        broker.PostFormAsync("/oauth/token",
        [
            new("grant_type", "client_credentials"),
            new("scope", "crm:read"),
            new("client_id", clientId),
            new("client_secret", secret),
        ]);

    private static async Task<HttpResponseMessage> SendWithRawAuthorizationAsync(TestBroker broker, string authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]),
        };
        Assert.True(request.Headers.TryAddWithoutValidation("Authorization", authorization));
        return await broker.Client.SendAsync(request);
    }

    private static string WwwAuthenticate(HttpResponseMessage response) => string.Join(", ", response.Headers.WwwAuthenticate);

    [Fact]
    public async Task Unknown_client_and_wrong_secret_get_identical_bodies()
    {
        await using var broker = await TestBroker.StartAsync();

        using var unknown = await broker.ClientCredentialsAsync("no-such-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
        using var wrongSecret = await broker.ClientCredentialsAsync("support-agent", "not-the-secret", ("scope", "crm:read"));

        var unknownBody = await OAuthAssert.ErrorAsync(unknown, HttpStatusCode.Unauthorized, "invalid_client");
        var wrongSecretBody = await OAuthAssert.ErrorAsync(wrongSecret, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(unknownBody, wrongSecretBody);
        Assert.Equal(WwwAuthenticate(unknown), WwwAuthenticate(wrongSecret));
        Assert.Equal(unknown.Content.Headers.ContentType?.ToString(), wrongSecret.Content.Headers.ContentType?.ToString());
        Assert.DoesNotContain("no-such-agent", unknownBody, StringComparison.Ordinal);
        Assert.DoesNotContain("support-agent", wrongSecretBody, StringComparison.Ordinal);

        // Identical on the wire, told apart in the audit log.
        Assert.Equal("no-such-agent", (await AuditAssert.RefusedOnceAsync(broker, "token.denied", RefusalCodes.ClientUnknown)).Record.Agent);
        Assert.Equal("support-agent", (await AuditAssert.RefusedOnceAsync(broker, "token.denied", RefusalCodes.ClientWrongSecret)).Record.Agent);
    }

    [Fact]
    public async Task Unknown_client_and_wrong_secret_get_identical_bodies_at_introspection()
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();

        using var unknown = await broker.PostFormAsync("/oauth/introspect", [new("token", token)], TestBroker.Basic("no-such-agent", "whatever"));
        using var wrongSecret = await broker.PostFormAsync("/oauth/introspect", [new("token", token)], TestBroker.Basic("support-agent", "whatever"));

        var unknownBody = await OAuthAssert.ErrorAsync(unknown, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(unknownBody, await OAuthAssert.ErrorAsync(wrongSecret, HttpStatusCode.Unauthorized, "invalid_client"));
        Assert.Equal(WwwAuthenticate(unknown), WwwAuthenticate(wrongSecret));
        await AuditAssert.RefusedOnceAsync(broker, "introspection.denied", RefusalCodes.ClientUnknown);
        await AuditAssert.RefusedOnceAsync(broker, "introspection.denied", RefusalCodes.ClientWrongSecret);
    }

    [Fact]
    public async Task Expired_agent_with_its_correct_secret_is_refused_as_invalid_client()
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await broker.ClientCredentialsAsync("expired-agent", TestBroker.ExpiredSecret, ("scope", "crm:read"));

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        await AuditAssert.RefusedOnceAsync(broker, "token.denied", RefusalCodes.ClientRegistrationExpired);
    }

    [Fact]
    public async Task Expired_agent_is_refused_by_client_secret_post_too()
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await PostSecretAsync(broker, "expired-agent", TestBroker.ExpiredSecret);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Client_secret_post_authenticates_the_agent()
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await PostSecretAsync(broker, "support-agent", TestBroker.SupportSecret);

        await OAuthAssert.TokenAsync(response);
    }

    [Fact]
    public async Task Wrong_post_secret_is_refused_exactly_like_a_wrong_basic_secret_or_an_unknown_client()
    {
        await using var broker = await TestBroker.StartAsync();

        using var wrongPost = await PostSecretAsync(broker, "support-agent", "not-the-secret");
        using var unknownPost = await PostSecretAsync(broker, "no-such-agent", "not-the-secret");
        using var wrongBasic = await broker.ClientCredentialsAsync("support-agent", "not-the-secret", ("scope", "crm:read"));

        var wrongPostBody = await OAuthAssert.ErrorAsync(wrongPost, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(wrongPostBody, await OAuthAssert.ErrorAsync(unknownPost, HttpStatusCode.Unauthorized, "invalid_client"));
        Assert.Equal(wrongPostBody, await OAuthAssert.ErrorAsync(wrongBasic, HttpStatusCode.Unauthorized, "invalid_client"));
        Assert.Equal(WwwAuthenticate(wrongBasic), WwwAuthenticate(wrongPost));
        Assert.Equal(WwwAuthenticate(wrongBasic), WwwAuthenticate(unknownPost));
    }

    [Fact]
    public async Task Basic_header_and_form_secret_together_are_invalid_request_even_when_both_are_correct() =>
        await AssertBasicWithFormRefusedAsync(RefusalCodes.ClientSeveralMethods, ("client_id", "support-agent"), ("client_secret", TestBroker.SupportSecret));

    [Fact]
    public async Task Basic_header_and_client_assertion_together_are_invalid_request() =>
        await AssertBasicWithFormRefusedAsync(RefusalCodes.ClientSeveralMethods,
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"));

    [Fact]
    public async Task Basic_header_naming_another_client_than_the_form_client_id_is_invalid_request() =>
        await AssertBasicWithFormRefusedAsync(RefusalCodes.ClientIdMismatch, ("client_id", "expired-agent"));

    /// <summary>
    /// Asks for a crm:read token with support-agent's correct Basic header and <paramref name="form"/> besides;
    /// asserts <c>invalid_request</c> and the one audited refusal with <paramref name="code"/>.
    /// </summary>
    private static async Task AssertBasicWithFormRefusedAsync(string code, params (string Name, string Value)[] form)
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await broker.PostFormAsync("/oauth/token",
            [new("grant_type", "client_credentials"), new("scope", "crm:read"), .. form.Select(p => KeyValuePair.Create(p.Name, p.Value))],
            TestBroker.Basic("support-agent", TestBroker.SupportSecret));

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        await AuditAssert.RefusedOnceAsync(broker, "token.denied", code);
    }

    public static TheoryData<string> MalformedBasicHeaders()
    {
        static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        return new TheoryData<string>
        {
            "Basic !!!not-base64!!!",
            "Basic c3VwcG9ydC1hZ2VudA",                           // truncated base64 (no padding)
            "Basic " + B64("support-agent"),                      // no colon
            "Basic " + B64(":"),                                  // empty id and secret
            "Basic " + B64(":" + TestBroker.SupportSecret),       // empty id, real secret
            "Basic " + B64("support-agent:%zz%"),                 // broken percent-escapes
            "Basic " + B64("%00%ff%c0%af:%ed%a0%80"),             // escapes of NUL and invalid UTF-8
            "Basic " + Convert.ToBase64String([0xff, 0xfe, 0x3a, 0xc0, 0xaf]), // invalid UTF-8 around the colon
            "Basic ====",
            "Basic",
            "basic " + B64("support-agent:wrong"),                // scheme is case-insensitive; still just a wrong secret
            "Basic " + B64("support-agent:wrong") + " trailing-garbage",
            "Bearer not-a-token",                                 // not a client authentication at all
        };
    }

    [Theory]
    [MemberData(nameof(MalformedBasicHeaders))]
    public async Task Malformed_basic_header_is_invalid_client_never_a_server_error(string authorization)
    {
        await using var broker = await TestBroker.StartAsync();
        using var reference = await broker.ClientCredentialsAsync("no-such-agent", "whatever", ("scope", "crm:read"));
        var referenceBody = await OAuthAssert.ErrorAsync(reference, HttpStatusCode.Unauthorized, "invalid_client");

        using var response = await SendWithRawAuthorizationAsync(broker, authorization);

        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(referenceBody, body);
        Assert.Equal(WwwAuthenticate(reference), WwwAuthenticate(response));
    }

    [Theory]
    [InlineData(513)]
    [InlineData(4_096)]
    [InlineData(12_000)]
    public async Task Oversized_client_id_or_secret_is_invalid_client_not_a_server_error(int length)
    {
        await using var broker = await TestBroker.StartAsync();
        var huge = new string('a', length);

        using var hugeIdBasic = await broker.ClientCredentialsAsync(huge, TestBroker.SupportSecret, ("scope", "crm:read"));
        using var hugeSecretBasic = await broker.ClientCredentialsAsync("support-agent", huge, ("scope", "crm:read"));
        using var hugeIdPost = await PostSecretAsync(broker, huge, TestBroker.SupportSecret);
        using var hugeSecretPost = await PostSecretAsync(broker, "support-agent", huge);

        var expected = await OAuthAssert.ErrorAsync(hugeIdBasic, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(expected, await OAuthAssert.ErrorAsync(hugeSecretBasic, HttpStatusCode.Unauthorized, "invalid_client"));
        Assert.Equal(expected, await OAuthAssert.ErrorAsync(hugeIdPost, HttpStatusCode.Unauthorized, "invalid_client"));
        Assert.Equal(expected, await OAuthAssert.ErrorAsync(hugeSecretPost, HttpStatusCode.Unauthorized, "invalid_client"));
        Assert.Equal(4, (await broker.AuditEventsAsync()).Count(e => e.Record.ReasonCode == RefusalCodes.ClientMalformedCredentials));
    }

    [Fact]
    public async Task Secret_with_a_correct_prefix_or_different_case_is_refused()
    {
        await using var broker = await TestBroker.StartAsync();

        foreach (var secret in new[] { TestBroker.SupportSecret[..^1], TestBroker.SupportSecret + "x", TestBroker.SupportSecret.ToUpperInvariant(), TestBroker.SupportSecret + "\0" })
        {
            using var response = await broker.ClientCredentialsAsync("support-agent", secret, ("scope", "crm:read"));
            await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        }
    }

    [Fact]
    public async Task Request_without_any_client_authentication_is_invalid_client()
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await broker.PostFormAsync("/oauth/token",
            [new("grant_type", "client_credentials"), new("scope", "crm:read"), new("client_id", "support-agent")]);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        await AuditAssert.RefusedOnceAsync(broker, "token.denied", RefusalCodes.ClientNone);
    }
}
