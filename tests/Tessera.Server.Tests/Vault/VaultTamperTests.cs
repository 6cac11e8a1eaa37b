using Microsoft.Data.Sqlite;

namespace Tessera.Server.Tests.Vault;

/// <summary>
/// The vault over its real SQLite file. Editing or swapping what is stored fails
/// authenticated decryption, so the proxy answers 503 naming the integrity failure and forwards
/// nothing; a rekey leaves every secret usable and the old key-encryption key gone, across a restart.
/// The vault reads storage at start, so every tampering is followed by a restart (same master key).
/// </summary>
public sealed class VaultTamperTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private ProxyBroker _proxy = null!;
    private string _crm = null!;
    private string _github = null!;

    public async ValueTask InitializeAsync()
    {
        _proxy = await ProxyBroker.StartAsync(configure: _logs.AddTo);
        _crm = await _proxy.TokenAsync();
        _github = await _proxy.TokenAsync("github:repo.read");
    }

    public async ValueTask DisposeAsync() => await _proxy.DisposeAsync();

    public static TheoryData<string, int> Flips() => new()
    {
        // The nonce, the encrypted bytes and the tag of each column (positions from the end when negative).
        { "ciphertext", 0 },
        { "ciphertext", 12 },
        { "ciphertext", 20 },
        { "ciphertext", -1 },
        { "wrapped_key", 0 },
        { "wrapped_key", 12 },
        { "wrapped_key", 43 },
        { "wrapped_key", -1 },
    };

    [Theory]
    [MemberData(nameof(Flips))]
    public async Task Flipping_a_byte_of_a_stored_secret_makes_the_proxy_refuse_with_503_and_forward_nothing(string column, int position)
    {
        var stored = Read(_proxy, column, "crm-key");
        var index = position < 0 ? stored.Length + position : position;
        stored[index] ^= 0x01;
        Write(_proxy, column, "crm-key", stored);
        await _proxy.RestartAsync();

        var (status, detail) = await GetAsync("/proxy/crm/contacts/1", _crm);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("the credential of tool 'crm' failed its integrity check", detail);
        Assert.Empty(_proxy.Upstream.Received);
        await AuditAssert.LastRefusalAsync(_proxy.Broker, "proxy.denied", RefusalCodes.ProxyCredentialTampered);
        Assert.Contains(_logs.Lines, l => l.Contains("Secret crm-key v1 fails its integrity check", StringComparison.Ordinal));
        Assert.DoesNotContain(ProxyBroker.CrmKey, _logs.All, StringComparison.Ordinal);

        // The other secret, untouched, still works.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/proxy/github/repos/acme/widgets", _github)).Status);
    }

    [Fact]
    public async Task Swapping_the_stored_ciphertexts_of_two_secrets_breaks_both()
    {
        var crmCipher = Read(_proxy, "ciphertext", "crm-key");
        var crmWrapped = Read(_proxy, "wrapped_key", "crm-key");
        Write(_proxy, "ciphertext", "crm-key", Read(_proxy, "ciphertext", "gh-token"));
        Write(_proxy, "wrapped_key", "crm-key", Read(_proxy, "wrapped_key", "gh-token"));
        Write(_proxy, "ciphertext", "gh-token", crmCipher);
        Write(_proxy, "wrapped_key", "gh-token", crmWrapped);
        await _proxy.RestartAsync();

        var crm = await GetAsync("/proxy/crm/contacts/1", _crm);
        var github = await GetAsync("/proxy/github/repos/acme/widgets", _github);

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "the credential of tool 'crm' failed its integrity check"), crm);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "the credential of tool 'github' failed its integrity check"), github);
        Assert.Empty(_proxy.Upstream.Received);
        Assert.DoesNotContain(ProxyBroker.CrmKey, _logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(ProxyBroker.GithubToken, _logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Moving_a_wrapped_key_under_another_key_id_breaks_it()
    {
        await _proxy.RotateSecretAsync("crm-key", "crm-rotated-value-1");
        using (var rekey = await _proxy.AdminAsync(HttpMethod.Post, "/admin/v1/vault/rekey", new { }))
        {
            Assert.Equal(HttpStatusCode.OK, rekey.StatusCode);
        }

        // A second key-encryption key row that the version is then said to be wrapped by.
        Update(_proxy, "INSERT INTO vault_keys (id, salt, created_at) SELECT 'kek-other', salt, created_at - 1 FROM vault_keys");
        Update(_proxy, "UPDATE secret_versions SET key_id = 'kek-other' WHERE name = 'crm-key' AND destroyed_at IS NULL");
        await _proxy.RestartAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await GetAsync("/proxy/crm/contacts/1", _crm)).Status);
        Assert.Empty(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task Rolling_a_secret_back_to_its_retired_version_in_storage_is_refused()
    {
        await _proxy.RotateSecretAsync("crm-key", "crm-rotated-value-2");
        var old = Read(_proxy, "ciphertext", "crm-key", version: 1);
        var oldWrapped = Read(_proxy, "wrapped_key", "crm-key", version: 1);
        Write(_proxy, "ciphertext", "crm-key", old, version: 2);
        Write(_proxy, "wrapped_key", "crm-key", oldWrapped, version: 2);
        await _proxy.RestartAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await GetAsync("/proxy/crm/contacts/1", _crm)).Status);
        Assert.Empty(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task A_rekey_over_a_tampered_data_key_changes_nothing_and_is_on_record_as_refused()
    {
        var stored = Read(_proxy, "wrapped_key", "crm-key");
        stored[12] ^= 0x01;
        Write(_proxy, "wrapped_key", "crm-key", stored);
        await _proxy.RestartAsync();

        using var rekey = await _proxy.AdminAsync(HttpMethod.Post, "/admin/v1/vault/rekey", new { });

        Assert.Equal(HttpStatusCode.Conflict, rekey.StatusCode);
        await AuditAssert.LastRefusalAsync(_proxy.Broker, "admin.denied", RefusalCodes.VaultRekeyBroken);
        Assert.Empty(await _proxy.Broker.Store.Audit.QueryAsync(new Tessera.Core.Audit.AuditQuery { Type = "vault.rekeyed" }, CancellationToken.None));
    }

    [Fact]
    public async Task Deleting_the_newest_version_row_makes_the_proxy_refuse_with_503_instead_of_injecting_the_retired_one()
    {
        await _proxy.RotateSecretAsync("crm-key", "crm-rotated-value-4");
        Update(_proxy, "DELETE FROM secret_versions WHERE name = 'crm-key' AND version = 2");
        await _proxy.RestartAsync();

        var (status, _) = await GetAsync("/proxy/crm/contacts/1", _crm);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Empty(_proxy.Upstream.Received);
        Assert.Contains(_logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal)
            && l.Contains("Secret crm-key was rolled back: the newest stored version is v1, the audit log records v2", StringComparison.Ordinal));
        var events = await _proxy.Broker.Store.Audit.QueryAsync(new Tessera.Core.Audit.AuditQuery { Type = "secret.rolled_back" }, CancellationToken.None);
        Assert.Equal("crm-key", Assert.Single(events).Record.Secret);

        // The other secret, untouched, still works; rotating the rolled-back one restores it.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/proxy/github/repos/acme/widgets", _github)).Status);
        await _proxy.RotateSecretAsync("crm-key", "crm-rotated-value-5");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/proxy/crm/contacts/1", _crm)).Status);
        Assert.Equal("crm-rotated-value-5", _proxy.Upstream.Received.Last(r => r.Headers.ContainsKey("X-Api-Key")).Headers["X-Api-Key"]);
    }

    [Fact]
    public async Task After_a_rekey_every_secret_still_works_and_the_old_key_is_gone_also_after_a_restart()
    {
        await _proxy.RotateSecretAsync("crm-key", "crm-rotated-value-3");
        var before = Keys(_proxy);
        Assert.Single(before);

        using var rekey = await _proxy.AdminAsync(HttpMethod.Post, "/admin/v1/vault/rekey", new { });
        Assert.Equal(HttpStatusCode.OK, rekey.StatusCode);
        using var answer = JsonDocument.Parse(await rekey.Content.ReadAsStringAsync());
        var newKey = answer.RootElement.GetProperty("key_id").GetString()!;
        Assert.Equal(3, answer.RootElement.GetProperty("rewrapped").GetInt32());
        Assert.Equal(before, answer.RootElement.GetProperty("removed").EnumerateArray().Select(e => e.GetString()!).ToList());

        Assert.Equal([newKey], Keys(_proxy));
        Assert.Equal([newKey], KeyIdsInUse(_proxy));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/proxy/crm/contacts/1", _crm)).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/proxy/github/repos/acme/widgets", _github)).Status);

        await _proxy.RestartAsync();

        Assert.Equal([newKey], Keys(_proxy));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/proxy/crm/contacts/2", _crm)).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/proxy/github/repos/acme/widgets", _github)).Status);
        Assert.Equal(["crm-rotated-value-3", "crm-rotated-value-3"], _proxy.Upstream.Received.Where(r => r.Headers.ContainsKey("X-Api-Key")).Select(r => r.Headers["X-Api-Key"]));
        Assert.Empty(_proxy.Broker.Service<Tessera.Core.Vault.SecretVault>().FindBroken());
        Assert.DoesNotContain(_logs.Lines, l => l.Contains("integrity", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_rekeys_in_a_row_leave_only_the_newest_key()
    {
        using (var first = await _proxy.AdminAsync(HttpMethod.Post, "/admin/v1/vault/rekey", new { }))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var second = await _proxy.AdminAsync(HttpMethod.Post, "/admin/v1/vault/rekey", new { });
        using var answer = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
        await _proxy.RestartAsync();

        Assert.Equal([answer.RootElement.GetProperty("key_id").GetString()!], Keys(_proxy));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/proxy/crm/contacts/1", _crm)).Status);
    }

    internal static void Update(ProxyBroker proxy, string sql)
    {
        using var connection = Open(proxy);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        Assert.True(command.ExecuteNonQuery() > 0, sql);
    }

    private async Task<(HttpStatusCode Status, string? Detail)> GetAsync(string path, string token)
    {
        using var response = await _proxy.SendAsync(HttpMethod.Get, path, token);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(ProxyBroker.CrmKey, body, StringComparison.Ordinal);
        Assert.DoesNotContain(ProxyBroker.GithubToken, body, StringComparison.Ordinal);
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return (response.StatusCode, null);
        }

        using var problem = JsonDocument.Parse(body);
        return (response.StatusCode, problem.RootElement.GetProperty("detail").GetString());
    }

    private static SqliteConnection Open(ProxyBroker proxy)
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(proxy.Broker.Directory, "data", "tessera.db")};Pooling=False");
        connection.Open();
        return connection;
    }

    private static byte[] Read(ProxyBroker proxy, string column, string name, int version = 1)
    {
        using var connection = Open(proxy);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {column} FROM secret_versions WHERE name = $name AND version = $version";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        return (byte[])command.ExecuteScalar()!;
    }

    private static void Write(ProxyBroker proxy, string column, string name, byte[] value, int version = 1)
    {
        using var connection = Open(proxy);
        using var command = connection.CreateCommand();
        command.CommandText = $"UPDATE secret_versions SET {column} = $value WHERE name = $name AND version = $version";
        command.Parameters.AddWithValue("$value", value);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    private static List<string> Keys(ProxyBroker proxy) => Strings(proxy, "SELECT id FROM vault_keys ORDER BY id");

    private static List<string> KeyIdsInUse(ProxyBroker proxy) => Strings(proxy, "SELECT DISTINCT key_id FROM secret_versions WHERE destroyed_at IS NULL");

    private static List<string> Strings(ProxyBroker proxy, string sql)
    {
        using var connection = Open(proxy);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
