using System.Globalization;

namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Hostile and malformed input on the OAuth endpoints: repeated parameters, oversized bodies,
/// wrong content types, broken encodings, unknown grants, wrong methods and random garbage.
/// Every refusal is an RFC 6749 error, never a 5xx. Introspection never leaks an inactive token.
/// </summary>
public sealed class MalformedRequestTests
{
    private const string Form = "application/x-www-form-urlencoded";

    public static TheoryData<string> Endpoints() => new() { "/oauth/token", "/oauth/introspect", "/oauth/revoke" };

    /// <summary>The audit event type of a refusal at <paramref name="path"/>.</summary>
    private static string DeniedType(string path) => path switch
    {
        "/oauth/token" => "token.denied",
        "/oauth/introspect" => "introspection.denied",
        _ => "revocation.denied",
    };

    private static AuthenticationHeaderValue SupportAuth => TestBroker.Basic("support-agent", TestBroker.SupportSecret);

    private static async Task<HttpResponseMessage> PostRawAsync(TestBroker broker, string path, HttpContent content, AuthenticationHeaderValue? auth = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Authorization = auth;
        return await broker.Client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> PostBytesAsync(TestBroker broker, string path, byte[] body, string contentType = Form, AuthenticationHeaderValue? auth = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return PostRawAsync(broker, path, content, auth);
    }

    private static Task<HttpResponseMessage> PostTextAsync(TestBroker broker, string path, string body, string contentType = Form, AuthenticationHeaderValue? auth = null) =>
        PostBytesAsync(broker, path, Encoding.UTF8.GetBytes(body), contentType, auth);

    /// <summary>A body the endpoint would accept, so that a refusal is due to the one thing a test breaks.</summary>
    private static string ValidBody(string path, string token) =>
        path == "/oauth/token" ? "grant_type=client_credentials&scope=crm%3Aread" : "token=" + Uri.EscapeDataString(token);

    private static Task<HttpResponseMessage> IntrospectAsync(TestBroker broker, string token, AuthenticationHeaderValue? auth = null) =>
        broker.PostFormAsync("/oauth/introspect", [new("token", token)], auth ?? SupportAuth);

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task The_valid_baseline_body_is_accepted_by_every_endpoint(string path)
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();

        using var response = await PostTextAsync(broker, path, ValidBody(path, token), auth: SupportAuth);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/oauth/token", "grant_type=client_credentials&grant_type=client_credentials&scope=crm%3Aread")]
    [InlineData("/oauth/token", "grant_type=client_credentials&grant_type=password&scope=crm%3Aread")]
    [InlineData("/oauth/token", "grant_type=client_credentials&scope=crm%3Aread&scope=crm%3Aexport")]
    [InlineData("/oauth/token", "grant_type=client_credentials&scope=crm%3Aread&scope=crm%3Aread")]
    [InlineData("/oauth/token", "grant_type=client_credentials&scope=crm%3Aread&client_id=support-agent&client_id=expired-agent")]
    [InlineData("/oauth/token", "grant_type=client_credentials&grant_type=&scope=crm%3Aread")]
    [InlineData("/oauth/introspect", "token={token}&token=garbage")]
    [InlineData("/oauth/introspect", "token={token}&token={token}")]
    [InlineData("/oauth/introspect", "token={token}&token_type_hint=access_token&token_type_hint=refresh_token")]
    [InlineData("/oauth/revoke", "token={token}&token=garbage")]
    [InlineData("/oauth/revoke", "token={token}&token={token}")]
    public async Task Repeated_parameter_is_invalid_request(string path, string body)
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();

        using var response = await PostTextAsync(broker, path, body.Replace("{token}", token, StringComparison.Ordinal), auth: SupportAuth);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        await AuditAssert.RefusedOnceAsync(broker, DeniedType(path), RefusalCodes.FormDuplicateParameter);
        if (path == "/oauth/revoke")
        {
            // The refused revocation did nothing.
            using var introspection = await IntrospectAsync(broker, token);
            using var json = await TestBroker.ReadJsonAsync(introspection);
            Assert.True(json.RootElement.GetProperty("active").GetBoolean());
        }
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Body_over_64_KiB_is_413_invalid_request(string path)
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        var body = Encoding.UTF8.GetBytes(ValidBody(path, token) + "&pad=" + new string('x', 64 * 1024));

        using var sized = await PostBytesAsync(broker, path, body, auth: SupportAuth);
        using var unsized = await PostRawAsync(broker, path, new UnsizedContent(body, Form), SupportAuth);

        await OAuthAssert.ErrorAsync(sized, HttpStatusCode.RequestEntityTooLarge, "invalid_request");
        await OAuthAssert.ErrorAsync(unsized, HttpStatusCode.RequestEntityTooLarge, "invalid_request");
        var refusals = (await broker.AuditEventsAsync()).Where(e => e.Record.ReasonCode == RefusalCodes.FormTooLarge).ToList();
        Assert.Equal(2, refusals.Count);
        Assert.All(refusals, e => Assert.Equal(DeniedType(path), e.Record.Type));
    }

    [Fact]
    public async Task Body_of_exactly_64_KiB_is_read_and_one_byte_more_is_413()
    {
        await using var broker = await TestBroker.StartAsync();
        var prefix = "grant_type=client_credentials&scope=crm%3Aread";
        var builder = new StringBuilder(prefix);
        for (var i = 0; builder.Length < 64 * 1024; i++)
        {
            var room = (64 * 1024) - builder.Length - $"&p{i}=".Length;
            builder.Append(CultureInfo.InvariantCulture, $"&p{i}=").Append('x', Math.Clamp(room, 0, 8 * 1024));
        }

        var exact = builder.ToString();
        Assert.Equal(64 * 1024, exact.Length);

        using var atLimit = await PostRawAsync(broker, "/oauth/token", new UnsizedContent(Encoding.ASCII.GetBytes(exact), Form), SupportAuth);
        using var overLimit = await PostRawAsync(broker, "/oauth/token", new UnsizedContent(Encoding.ASCII.GetBytes(exact + "x"), Form), SupportAuth);

        await OAuthAssert.TokenAsync(atLimit);
        await OAuthAssert.ErrorAsync(overLimit, HttpStatusCode.RequestEntityTooLarge, "invalid_request");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Json_body_is_invalid_request(string path)
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        var json = JsonSerializer.Serialize(new { grant_type = "client_credentials", scope = "crm:read", token });

        using var response = await PostTextAsync(broker, path, json, "application/json", SupportAuth);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        await AuditAssert.RefusedOnceAsync(broker, DeniedType(path), RefusalCodes.FormNotFormEncoded);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Form_body_declared_with_another_content_type_or_none_is_invalid_request(string path)
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        var body = Encoding.UTF8.GetBytes(ValidBody(path, token));

        using var textPlain = await PostBytesAsync(broker, path, body, "text/plain", SupportAuth);
        using var multipart = await PostBytesAsync(broker, path, body, "multipart/form-data; boundary=x", SupportAuth);
        using var none = await PostRawAsync(broker, path, new ByteArrayContent(body), SupportAuth);
        using var lookalike = await PostBytesAsync(broker, path, body, "application/x-www-form-urlencoded-extended", SupportAuth);

        await OAuthAssert.ErrorAsync(lookalike, HttpStatusCode.BadRequest, "invalid_request");
        await OAuthAssert.ErrorAsync(textPlain, HttpStatusCode.BadRequest, "invalid_request");
        await OAuthAssert.ErrorAsync(multipart, HttpStatusCode.BadRequest, "invalid_request");
        await OAuthAssert.ErrorAsync(none, HttpStatusCode.BadRequest, "invalid_request");
    }

    public static TheoryData<string, byte[]> InvalidUtf8() => new()
    {
        { "/oauth/token", [.. "grant_type=client_credentials&scope="u8, 0xff, 0xfe] },
        { "/oauth/token", [.. "grant_type=client_credentials&scope=crm"u8, 0xc0, 0xba, .. "read"u8] }, // overlong ':'
        { "/oauth/token", [.. "grant_type=client_"u8, 0xed, 0xa0, 0x80, .. "credentials"u8] },       // UTF-8 encoded surrogate
        { "/oauth/token", [.. "grant_type=client_credentials&scope=crm:read&x="u8, 0xe2, 0x82] },     // truncated sequence
        { "/oauth/introspect", [.. "token="u8, 0x80, 0x80, 0x80] },
        { "/oauth/introspect", [.. "tok"u8, 0xf8, 0x88, 0x80, 0x80, 0x80, .. "en=x"u8] },
        { "/oauth/revoke", [.. "token="u8, 0xfe, 0xff] },
        { "/oauth/revoke", [.. "token=abc"u8, 0xc3] },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public async Task Invalid_utf8_in_the_body_is_invalid_request(string path, byte[] body)
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await PostBytesAsync(broker, path, body, auth: SupportAuth);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        await AuditAssert.RefusedOnceAsync(broker, DeniedType(path), RefusalCodes.FormInvalidUtf8);
    }

    [Theory]
    [InlineData("scope=crm%3Aread")]
    [InlineData("grant_type=&scope=crm%3Aread")]
    [InlineData("Grant_Type=client_credentials&scope=crm%3Aread")]
    [InlineData("")]
    public async Task Missing_grant_type_is_invalid_request_once_the_client_is_authenticated(string body)
    {
        await using var broker = await TestBroker.StartAsync();

        using var authenticated = await PostTextAsync(broker, "/oauth/token", body, auth: SupportAuth);
        using var anonymous = await PostTextAsync(broker, "/oauth/token", body);

        await OAuthAssert.ErrorAsync(authenticated, HttpStatusCode.BadRequest, "invalid_request");
        await AuditAssert.RefusedOnceAsync(broker, "token.denied", RefusalCodes.GrantTypeMissing);

        // Anyone else is refused as unauthenticated first: a failed authentication, which the rate limits count.
        await OAuthAssert.ErrorAsync(anonymous, HttpStatusCode.Unauthorized, "invalid_client");
        await AuditAssert.LastRefusalAsync(broker, "token.denied", RefusalCodes.ClientNone);
    }

    [Theory]
    [InlineData("password")]
    [InlineData("authorization_code")]
    [InlineData("refresh_token")]
    [InlineData("implicit")]
    [InlineData("urn:ietf:params:oauth:grant-type:jwt-bearer")]
    [InlineData("urn:ietf:params:oauth:grant-type:device_code")]
    [InlineData("Client_Credentials")]
    [InlineData("client_credentials ")]
    public async Task Unsupported_grant_type_is_unsupported_grant_type(string grantType)
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await broker.PostFormAsync("/oauth/token",
            [new("grant_type", grantType), new("scope", "crm:read"), new("username", "alice"), new("password", "hunter2")], SupportAuth);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_grant_type");
        await AuditAssert.RefusedOnceAsync(broker, "token.denied", RefusalCodes.GrantTypeUnsupported);
    }

    [Theory]
    [InlineData("GET", "/oauth/token")]
    [InlineData("GET", "/oauth/introspect")]
    [InlineData("GET", "/oauth/revoke")]
    [InlineData("PUT", "/oauth/token")]
    [InlineData("DELETE", "/oauth/token")]
    [InlineData("PATCH", "/oauth/introspect")]
    [InlineData("HEAD", "/oauth/token")]
    [InlineData("OPTIONS", "/oauth/token")]
    public async Task Wrong_http_method_is_a_client_error_not_a_server_error(string method, string path)
    {
        await using var broker = await TestBroker.StartAsync();

        using var request = new HttpRequestMessage(new HttpMethod(method), path + "?grant_type=client_credentials&scope=crm%3Aread");
        request.Headers.Authorization = SupportAuth;
        using var response = await broker.Client.SendAsync(request);

        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{method} {path} answered {status}");
    }

    [Fact]
    public async Task Parameters_in_the_query_string_do_not_count()
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await PostTextAsync(broker, "/oauth/token?grant_type=client_credentials&scope=crm%3Aread", "", auth: SupportAuth);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        await AuditAssert.RefusedOnceAsync(broker, "token.denied", RefusalCodes.GrantTypeMissing);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Too_many_or_too_long_parameters_are_invalid_request(string path)
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        var valid = ValidBody(path, token);

        using var many = await PostTextAsync(broker, path, valid + string.Concat(Enumerable.Range(0, 100).Select(i => $"&k{i}=v")), auth: SupportAuth);
        using var longKey = await PostTextAsync(broker, path, valid + "&" + new string('k', 1000) + "=v", auth: SupportAuth);
        using var longValue = await PostTextAsync(broker, path, valid + "&k=" + new string('v', 20_000), auth: SupportAuth);

        await OAuthAssert.ErrorAsync(many, HttpStatusCode.BadRequest, "invalid_request");
        await OAuthAssert.ErrorAsync(longKey, HttpStatusCode.BadRequest, "invalid_request");
        await OAuthAssert.ErrorAsync(longValue, HttpStatusCode.BadRequest, "invalid_request");
        var refusals = (await broker.AuditEventsAsync()).Where(e => e.Record.ReasonCode == RefusalCodes.FormTooManyOrTooLong).ToList();
        Assert.Equal(3, refusals.Count);
        Assert.All(refusals, e => Assert.Equal(DeniedType(path), e.Record.Type));
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Random_garbage_bodies_never_produce_a_server_error(string path)
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        var random = new Random(7523 + path.Length);
        var failures = new List<string>();

        for (var i = 0; i < 100; i++)
        {
            // Every fourth body is a well-formed, authenticated request with hostile values, to get past the parser.
            var wellFormed = i % 4 == 3;
            var body = wellFormed ? Encoding.UTF8.GetBytes(HostileRequest(random, path, token)) : GarbageBody(random, i, token);
            var contentType = wellFormed ? Form : random.Next(10) switch
            {
                0 => "application/json",
                1 => Form + "; charset=utf-8",
                _ => Form,
            };
            var auth = wellFormed ? SupportAuth : random.Next(3) switch
            {
                0 => null,
                1 => SupportAuth,
                _ => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(RandomBytes(random, random.Next(0, 40)))),
            };

            using var response = await PostBytesAsync(broker, path, body, contentType, auth);
            var status = (int)response.StatusCode;
            if (status >= 500)
            {
                failures.Add($"#{i} {status} {Convert.ToBase64String(body)}: {await response.Content.ReadAsStringAsync()}");
            }
            else if (status != 200)
            {
                // Every refusal is an OAuth error object.
                using var json = await TestBroker.ReadJsonAsync(response);
                Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("error").GetString()));
            }
        }

        Assert.Empty(failures);

        // The broker survived: it still issues and still knows the earlier token.
        Assert.False(string.IsNullOrEmpty(await broker.IssueAsync()));
        using var ready = await broker.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    private static readonly string[] Keys =
    [
        "grant_type", "scope", "resource", "audience", "client_id", "client_secret", "client_assertion",
        "client_assertion_type", "token", "token_type_hint", "subject_token", "subject_token_type", "actor_token", "purpose",
    ];

    private static readonly string[] Values =
    [
        "client_credentials", "crm:read", "crm:export", "vault:read", "github:repo.read", "urn:tessera:tool:crm", "crm",
        "https://api.github.com", "support-agent", TestBroker.SupportSecret, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange", "eyJhbGciOiJub25lIn0.e30.", "eyJ.eyJ.", "..", ":", "crm:", ":read", "*",
    ];

    private static readonly string[] RequestKeys = ["scope", "resource", "audience", "token_type_hint", "subject_token", "subject_token_type", "purpose", "reason", "authorization_details"];

    /// <summary>
    /// A syntactically valid request (grant_type, or a token that looks like ours) whose other values
    /// are hostile: scopes and targets from the catalogue mixed with garbage, mangled tokens.
    /// </summary>
    private static string HostileRequest(Random random, string path, string token)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (path == "/oauth/token")
        {
            pairs.Add(new("grant_type", random.Next(5) == 0 ? Values[random.Next(Values.Length)] : "client_credentials"));
        }
        else
        {
            pairs.Add(new("token", MangledToken(random, token)));
        }

        foreach (var key in RequestKeys.Where(_ => random.Next(3) == 0))
        {
            var value = random.Next(3) switch
            {
                0 => RandomText(random, random.Next(1, 40)),
                1 => string.Join(' ', Enumerable.Range(0, random.Next(1, 6)).Select(_ => Values[random.Next(Values.Length)])),
                _ => Values[random.Next(Values.Length)] + RandomText(random, random.Next(0, 4)),
            };
            pairs.Add(new(key, value));
        }

        if (random.Next(4) == 0)
        {
            // The repeatable targets, several times.
            pairs.AddRange(Enumerable.Range(0, random.Next(2, 5)).Select(_ => KeyValuePair.Create(random.Next(2) == 0 ? "resource" : "audience", Values[random.Next(Values.Length)])));
        }

        return string.Join('&', pairs.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
    }

    private static string MangledToken(Random random, string token)
    {
        var parts = token.Split('.');
        return random.Next(7) switch
        {
            0 => token[..random.Next(token.Length)],
            1 => token.Remove(random.Next(token.Length), 1).Insert(random.Next(token.Length - 1), "A"),
            2 => parts[0] + "." + System.Buffers.Text.Base64Url.EncodeToString(RandomBytes(random, random.Next(0, 300))) + "." + parts[2],
            3 => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes("{\"alg\":\"ES256\",\"kid\":\"" + RandomText(random, 8).Replace("\"", "", StringComparison.Ordinal) + "\"}")) + "." + parts[1] + "." + parts[2],
            4 => parts[1] + "." + parts[0] + "." + parts[2],
            5 => token + "." + token,
            _ => token,
        };
    }

    /// <summary>Random bytes, random <c>k=v&amp;</c> strings with %-escapes, or plausible parameters with garbled values.</summary>
    private static byte[] GarbageBody(Random random, int round, string token) => (round % 3) switch
    {
        0 => RandomBytes(random, random.Next(0, 2048)),
        1 => Encoding.UTF8.GetBytes(RandomPairs(random, null, null)),
        _ => Encoding.UTF8.GetBytes(RandomPairs(random, Keys, [.. Values, token, token[..^3] + "abc"])),
    };

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string RandomPairs(Random random, string[]? keys, string[]? values)
    {
        var builder = new StringBuilder();
        var pairs = random.Next(0, 12);
        for (var p = 0; p < pairs; p++)
        {
            builder.Append(keys is not null && random.Next(4) > 0 ? keys[random.Next(keys.Length)] : RandomText(random, random.Next(0, 20)));
            if (random.Next(8) > 0)
            {
                builder.Append('=');
            }

            if (values is not null && random.Next(3) > 0)
            {
                var value = values[random.Next(values.Length)];
                builder.Append(random.Next(2) == 0 ? Uri.EscapeDataString(value) : value);
                if (random.Next(4) == 0)
                {
                    builder.Append(RandomText(random, random.Next(0, 8)));
                }
            }
            else
            {
                builder.Append(RandomText(random, random.Next(0, 64)));
            }

            builder.Append(random.Next(10) switch { 0 => "&&", 1 => ";", 2 => "", _ => "&" });
        }

        return builder.ToString();
    }

    /// <summary>Printable characters, separators, and well-formed or broken %-escapes (including of invalid UTF-8).</summary>
    private static string RandomText(Random random, int length)
    {
        const string alphabet = "abcxyzABC019-._~:/+ !*'()@$,;?#[]\"\\\t=&";
        var builder = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            switch (random.Next(10))
            {
                case 0:
                    builder.Append('%').Append(random.Next(256).ToString("X2", CultureInfo.InvariantCulture));
                    break;
                case 1:
                    builder.Append('%').Append("zG%"[random.Next(3)]);
                    break;
                case 2:
                    builder.Append((char)random.Next(0x80, 0x3000));
                    break;
                default:
                    builder.Append(alphabet[random.Next(alphabet.Length)]);
                    break;
            }
        }

        return builder.ToString();
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Request_without_any_authentication_is_refused_by_the_endpoint(string path)
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();

        using var response = await PostTextAsync(broker, path, ValidBody(path, token));

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        await AuditAssert.RefusedOnceAsync(broker, DeniedType(path), RefusalCodes.ClientNone);
    }

    [Fact]
    public async Task Introspection_without_authentication_is_401_and_reveals_nothing()
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();

        using var anonymous = await broker.PostFormAsync("/oauth/introspect", [new("token", token)]);
        using var clientIdOnly = await broker.PostFormAsync("/oauth/introspect", [new("token", token), new("client_id", "support-agent")]);
        using var badBearer = await broker.PostFormAsync("/oauth/introspect", [new("token", token)], new AuthenticationHeaderValue("Bearer", token));

        foreach (var response in new[] { anonymous, clientIdOnly, badBearer })
        {
            var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
            Assert.DoesNotContain("active", body, StringComparison.Ordinal);
            Assert.DoesNotContain("crm:read", body, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Identity provider tokens have no lifetime cap here (the provider decides), so a far-future
    /// <c>exp</c> or a far-past <c>nbf</c> may be honoured; what matters is that nothing throws.
    /// </summary>
    public static TheoryData<string, long, bool> AbsurdAdminTokenTimes() => new()
    {
        { "exp", long.MaxValue, false },
        { "exp", 253402300799L, false },   // 9999-12-31T23:59:59Z: adding the clock skew overflowed
        { "exp", long.MinValue, true },
        { "exp", -62135596800L, true },    // 0001-01-01: subtracting the clock skew would underflow
        { "nbf", long.MaxValue, true },
        { "nbf", 253402300799L, true },
        { "nbf", long.MinValue, false },
        { "nbf", -62135596800L, false },   // subtracting the clock skew underflowed
    };

    [Theory]
    [MemberData(nameof(AbsurdAdminTokenTimes))]
    public async Task Admin_bearer_with_an_absurd_time_claim_never_causes_a_server_error(string claim, long value, bool refused)
    {
        using var idpKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var directory = Path.Combine(Path.GetTempPath(), "tessera-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "idp.jwks.json"), HandSignedJwt.PublicJwks(idpKey, "idp-1"));
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml().Replace("tools:\n", """
            identity_providers:
              - id: corp
                issuer: https://idp.corp.example
                jwks_file: idp.jwks.json
                audience: tessera
            admins:
              - { idp: corp, sub: carol }
            tools:

            """.ReplaceLineEndings("\n"), StringComparison.Ordinal), directory);
        var token = await broker.IssueAsync();
        var now = broker.Time.GetUtcNow().ToUnixTimeSeconds();
        Dictionary<string, object> Claims() => new()
        {
            ["iss"] = "https://idp.corp.example", ["sub"] = "carol", ["aud"] = "tessera-admin", ["iat"] = now, ["nbf"] = now, ["exp"] = now + 300,
        };
        var absurd = Claims();
        absurd[claim] = value;

        using var sane = await IntrospectAsync(broker, token, new AuthenticationHeaderValue("Bearer", HandSignedJwt.Es256(idpKey, new { alg = "ES256", kid = "idp-1" }, Claims())));
        using var absurdResponse = await IntrospectAsync(broker, token, new AuthenticationHeaderValue("Bearer", HandSignedJwt.Es256(idpKey, new { alg = "ES256", kid = "idp-1" }, absurd)));

        using var saneJson = await TestBroker.ReadJsonAsync(sane);
        Assert.True(saneJson.RootElement.GetProperty("active").GetBoolean());
        if (refused)
        {
            await OAuthAssert.ErrorAsync(absurdResponse, HttpStatusCode.Unauthorized, "invalid_client");
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, absurdResponse.StatusCode);
        }
    }

    public static TheoryData<string> GarbageTokens() => new()
    {
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJhY3RpdmUiOnRydWV9.",
        "..",
        "x",
        new string('A', 9_000),
        "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJodHRwOi8vdGVzc2VyYS50ZXN0In0.AAAA",
    };

    [Theory]
    [MemberData(nameof(GarbageTokens))]
    public async Task Introspection_of_garbage_is_exactly_active_false(string garbage)
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await IntrospectAsync(broker, garbage);

        await OAuthAssert.InactiveAsync(response);
    }

    [Fact]
    public async Task Introspection_of_a_forged_token_is_exactly_active_false()
    {
        await using var broker = await TestBroker.StartAsync();
        var parts = (await broker.IssueAsync()).Split('.');
        using var payload = JsonDocument.Parse(Convert.FromBase64String(ToBase64(parts[1])));
        var widened = JsonSerializer.SerializeToUtf8Bytes(payload.RootElement.EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Name == "scope" ? JsonSerializer.SerializeToElement("crm:read crm:export") : p.Value.Clone()));
        var forged = parts[0] + "." + System.Buffers.Text.Base64Url.EncodeToString(widened) + "." + parts[2];
        var flipped = parts[0] + "." + parts[1] + "." + (parts[2][0] == 'A' ? 'B' : 'A') + parts[2][1..];
        var unsigned = parts[0] + "." + parts[1] + ".";

        foreach (var token in new[] { forged, flipped, unsigned })
        {
            using var response = await IntrospectAsync(broker, token);
            await OAuthAssert.InactiveAsync(response);
        }
    }

    private static string ToBase64(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }

    [Fact]
    public async Task Introspection_of_an_expired_token_is_exactly_active_false()
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        using var before = await IntrospectAsync(broker, token);
        using var beforeJson = await TestBroker.ReadJsonAsync(before);
        Assert.True(beforeJson.RootElement.GetProperty("active").GetBoolean());

        // support-agent tokens live 10 minutes; past that and any clock skew, the token is dead.
        broker.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(61));
        using var response = await IntrospectAsync(broker, token);

        await OAuthAssert.InactiveAsync(response);
    }

    [Fact]
    public async Task Introspection_of_a_revoked_token_is_exactly_active_false()
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        using var before = await IntrospectAsync(broker, token);
        using var beforeJson = await TestBroker.ReadJsonAsync(before);
        Assert.True(beforeJson.RootElement.GetProperty("active").GetBoolean());

        using var revoke = await broker.PostFormAsync("/oauth/revoke", [new("token", token)], SupportAuth);
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        using var byAgent = await IntrospectAsync(broker, token);
        using var byAdmin = await IntrospectAsync(broker, token, new AuthenticationHeaderValue("Bearer", broker.AdminToken));

        await OAuthAssert.InactiveAsync(byAgent);
        await OAuthAssert.InactiveAsync(byAdmin);
    }

    [Fact]
    public async Task Agent_introspecting_a_token_issued_to_another_agent_gets_exactly_active_false()
    {
        await using var broker = await StartWithNeighbourAsync();
        var token = await broker.IssueAsync();
        using var otherToken = await broker.ClientCredentialsAsync("other-agent", NeighbourSecret, ("scope", "crm:read"));
        await OAuthAssert.TokenAsync(otherToken);

        using var byOwner = await IntrospectAsync(broker, token);
        using var byOther = await IntrospectAsync(broker, token, TestBroker.Basic("other-agent", NeighbourSecret));

        using var ownerJson = await TestBroker.ReadJsonAsync(byOwner);
        Assert.True(ownerJson.RootElement.GetProperty("active").GetBoolean());
        await OAuthAssert.InactiveAsync(byOther);
    }

    [Theory]
    [InlineData("/oauth/introspect", "introspection.denied")]
    [InlineData("/oauth/revoke", "revocation.denied")]
    public async Task Missing_token_is_invalid_request_and_recorded_once(string path, string type)
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await broker.PostFormAsync(path, [new("token_type_hint", "access_token")], SupportAuth);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        var refusal = await AuditAssert.RefusedOnceAsync(broker, type, RefusalCodes.TokenMissing);
        Assert.Equal("support-agent", refusal.Record.Agent);
    }

    [Fact]
    public async Task Agent_cannot_revoke_a_token_issued_to_another_agent()
    {
        await using var broker = await StartWithNeighbourAsync();
        var token = await broker.IssueAsync();

        using var revoke = await broker.PostFormAsync("/oauth/revoke", [new("token", token)], TestBroker.Basic("other-agent", NeighbourSecret));

        await OAuthAssert.ErrorAsync(revoke, HttpStatusCode.BadRequest, "unauthorized_client");
        var refusal = await AuditAssert.RefusedOnceAsync(broker, "revocation.denied", RefusalCodes.RevocationNotYours);
        Assert.Equal("other-agent", refusal.Record.Agent);
        using var introspection = await IntrospectAsync(broker, token);
        using var json = await TestBroker.ReadJsonAsync(introspection);
        Assert.True(json.RootElement.GetProperty("active").GetBoolean());
    }

    private const string NeighbourSecret = "other-secret-0123456789abcdef";

    /// <summary>A broker with a second agent, other-agent, that must not read or revoke support-agent's tokens.</summary>
    private static Task<TestBroker> StartWithNeighbourAsync() => TestBroker.StartAsync(TestBroker.DefaultYaml($$"""
          - id: other-agent
            owner: other@corp.example
            purpose: A neighbour that must not read or revoke support-agent's tokens
            expires: 2027-06-30
            auth:
              client_secret_sha256: {{TestBroker.Sha256Hex(NeighbourSecret)}}
            allowed_scopes: [ "crm:read" ]
        """));
}
