namespace Tessera.Server.Tests.Admin;

public sealed class SecretEndpointsTests : IAsyncLifetime
{
    private const string Value = "crm-live-key-5b1e0f9a77";
    private TestBroker _broker = null!;

    public async ValueTask InitializeAsync() => _broker = await TestBroker.StartAsync(TestBroker.DefaultYaml().Replace(
        """
          - id: crm
            scopes:
        """,
        """
          - id: crm
            upstream: http://127.0.0.1:9102
            credential: { secret: crm-key, header: X-Api-Key }
            rotate_every: 2h
            scopes:
        """, StringComparison.Ordinal));

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json = null, string? token = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? _broker.AdminToken);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return await _broker.Client.SendAsync(request);
    }

    private static string Body(string value) => JsonSerializer.Serialize(new { value });

    [Fact]
    public async Task Put_stores_version_1_and_answers_with_metadata_only()
    {
        using var response = await SendAsync(HttpMethod.Put, "/admin/v1/secrets/crm-key", Body(Value));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Value, text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(text);
        Assert.Equal("crm-key", json.RootElement.GetProperty("name").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("version").GetInt32());
        Assert.Equal("2026-11-29T12:00:00.000Z", json.RootElement.GetProperty("created_at").GetString());
        Assert.Equal(["crm"], json.RootElement.GetProperty("used_by").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("2h", json.RootElement.GetProperty("rotate_every").GetString());
    }

    [Fact]
    public async Task Put_over_an_existing_secret_is_409_and_rotate_of_a_missing_one_is_404()
    {
        (await SendAsync(HttpMethod.Put, "/admin/v1/secrets/crm-key", Body(Value))).Dispose();

        using var again = await SendAsync(HttpMethod.Put, "/admin/v1/secrets/crm-key", Body("other-value"));
        using var missing = await SendAsync(HttpMethod.Post, "/admin/v1/secrets/nope/rotate", Body("other-value"));

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("use rotate", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        // Core recorded both (secret.denied, with the code); the admin API does not record them twice.
        await AuditAssert.RefusedOnceAsync(_broker, "secret.denied", RefusalCodes.SecretExists);
        await AuditAssert.LastRefusalAsync(_broker, "secret.denied", RefusalCodes.SecretNotFound);
        Assert.DoesNotContain(await _broker.AuditEventsAsync(), e => e.Record.Type == "admin.denied");
    }

    [Fact]
    public async Task List_shows_versions_ages_retired_versions_overdue_and_missing_secrets_but_no_values()
    {
        using (await SendAsync(HttpMethod.Get, "/admin/v1/secrets"))
        {
        }

        using (var before = await SendAsync(HttpMethod.Get, "/admin/v1/secrets"))
        {
            using var json = JsonDocument.Parse(await before.Content.ReadAsStringAsync());
            Assert.Equal(["crm-key"], json.RootElement.GetProperty("missing").EnumerateArray().Select(e => e.GetString()));
        }

        (await SendAsync(HttpMethod.Put, "/admin/v1/secrets/crm-key", Body(Value))).Dispose();
        (await SendAsync(HttpMethod.Post, "/admin/v1/secrets/crm-key/rotate", Body(Value + "-2"))).Dispose();
        _broker.Time.Advance(TimeSpan.FromHours(1));

        using (var rotated = await SendAsync(HttpMethod.Get, "/admin/v1/secrets"))
        {
            var text = await rotated.Content.ReadAsStringAsync();
            Assert.DoesNotContain(Value, text, StringComparison.Ordinal);
            using var list = JsonDocument.Parse(text);
            var secret = Assert.Single(list.RootElement.GetProperty("secrets").EnumerateArray());
            Assert.Equal(2, secret.GetProperty("version").GetInt32());
            Assert.Equal(3600, secret.GetProperty("age_seconds").GetInt64());
            Assert.False(secret.GetProperty("overdue").GetBoolean());
            var retired = Assert.Single(secret.GetProperty("retired").EnumerateArray());
            Assert.Equal(1, retired.GetProperty("version").GetInt32());
            Assert.Equal("2026-11-30T12:00:00.000Z", retired.GetProperty("destroy_after").GetString());
            Assert.Empty(list.RootElement.GetProperty("missing").EnumerateArray());
        }

        // Past its tool's rotate_every (2h) the secret is flagged; the retired version stays for 24h.
        _broker.Time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        using var response = await SendAsync(HttpMethod.Get, "/admin/v1/secrets");
        using var later = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var aged = Assert.Single(later.RootElement.GetProperty("secrets").EnumerateArray());
        Assert.True(aged.GetProperty("overdue").GetBoolean());
        Assert.Single(aged.GetProperty("retired").EnumerateArray());
    }

    [Theory]
    [InlineData("", RefusalCodes.AdminBodyInvalid)]
    [InlineData("not json", RefusalCodes.AdminBodyInvalid)]
    [InlineData("{\"value\":42}", RefusalCodes.AdminBodyInvalid)]
    [InlineData("{\"value\":\"a\",\"value\":\"b\"}", RefusalCodes.AdminBodyInvalid)]
    [InlineData("{\"value\":\"a\",\"extra\":1}", RefusalCodes.AdminBodyInvalid)]
    [InlineData("[\"a\"]", RefusalCodes.AdminBodyInvalid)]
    [InlineData("{\"value\":\"\"}", RefusalCodes.SecretValueSize)]
    [InlineData("{\"value\":\"line\\nbreak\"}", RefusalCodes.SecretValueNotText)]
    public async Task Malformed_bodies_are_400_and_store_nothing(string body, string code)
    {
        using var response = await SendAsync(HttpMethod.Put, "/admin/v1/secrets/crm-key", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AuditAssert.RefusedOnceAsync(_broker, code.StartsWith("secret.", StringComparison.Ordinal) ? "secret.denied" : "admin.denied", code);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var list = await SendAsync(HttpMethod.Get, "/admin/v1/secrets");
        using var json = JsonDocument.Parse(await list.Content.ReadAsStringAsync());
        Assert.Empty(json.RootElement.GetProperty("secrets").EnumerateArray());
    }

    [Fact]
    public async Task An_oversized_value_is_refused()
    {
        using var response = await SendAsync(HttpMethod.Put, "/admin/v1/secrets/crm-key", Body(new string('k', 200_000)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AuditAssert.LastRefusalAsync(_broker, "admin.denied", RefusalCodes.AdminBodyTooLarge);
    }

    [Fact]
    public async Task A_secret_name_outside_the_rule_is_400_and_on_record_with_its_code()
    {
        using var response = await SendAsync(HttpMethod.Put, "/admin/v1/secrets/-starts-with-a-dash", Body(Value));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AuditAssert.LastRefusalAsync(_broker, "secret.denied", RefusalCodes.SecretNameInvalid);
    }

    [Fact]
    public async Task Without_an_admin_token_nothing_is_stored_or_listed()
    {
        using var put = await SendAsync(HttpMethod.Put, "/admin/v1/secrets/crm-key", Body(Value), token: "not-the-admin-token");
        using var list = await SendAsync(HttpMethod.Get, "/admin/v1/secrets", token: "not-the-admin-token");
        using var rekey = await SendAsync(HttpMethod.Post, "/admin/v1/vault/rekey", token: "not-the-admin-token");

        Assert.Equal(HttpStatusCode.Unauthorized, put.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, rekey.StatusCode);
        Assert.Equal(3, (await _broker.AuditEventsAsync()).Count(e => e.Record.ReasonCode == RefusalCodes.AdminTokenInvalid));
    }

    [Fact]
    public async Task Rekey_reports_the_new_key_and_what_it_replaced()
    {
        (await SendAsync(HttpMethod.Put, "/admin/v1/secrets/crm-key", Body(Value))).Dispose();
        using var list = await SendAsync(HttpMethod.Get, "/admin/v1/secrets");
        using var before = JsonDocument.Parse(await list.Content.ReadAsStringAsync());
        var oldKey = before.RootElement.GetProperty("secrets")[0].GetProperty("key_id").GetString();

        using var response = await SendAsync(HttpMethod.Post, "/admin/v1/vault/rekey");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(1, json.RootElement.GetProperty("rewrapped").GetInt32());
        Assert.Equal([oldKey], json.RootElement.GetProperty("removed").EnumerateArray().Select(e => e.GetString()));
        Assert.NotEqual(oldKey, json.RootElement.GetProperty("key_id").GetString());
    }
}
