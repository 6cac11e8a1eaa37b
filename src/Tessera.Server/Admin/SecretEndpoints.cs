using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;
using Tessera.Core.Vault;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>
/// The vault's admin API: store and rotate secrets, list their metadata, rekey. No route returns a
/// value: a secret goes in and is only ever injected by the proxy.
/// </summary>
internal static class SecretEndpoints
{
    /// <summary>A JSON body holds one value of at most <see cref="SecretVault.MaxValueBytes"/>, escaped at worst 6×.</summary>
    private const int MaxBodyBytes = SecretVault.MaxValueBytes * 6 + 1024;

    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapGet("/secrets", ListAsync);
        var body = new AdminBody(MaxBodyBytes);
        admin.MapPut("/secrets/{name}", (HttpContext c, string name, SecretVault v) => ChangeAsync(c, name, rotate: false, v)).WithMetadata(body);
        admin.MapPost("/secrets/{name}/rotate", (HttpContext c, string name, SecretVault v) => ChangeAsync(c, name, rotate: true, v)).WithMetadata(body);
        admin.MapPost("/vault/rekey", RekeyAsync);
    }

    private static async Task<JsonHttpResult<SecretList>> ListAsync(HttpContext context, SecretVault vault, AdminAudit audit, TimeProvider time)
    {
        await audit.RecordReadAsync(context);
        var now = time.GetUtcNow();
        return TypedResults.Json(new SecretList([.. vault.List().Select(s => View(s, now))], vault.MissingSecrets()), AdminJson.Options);
    }

    private static async Task<Results<JsonHttpResult<SecretView>, ProblemHttpResult>> ChangeAsync(HttpContext context, string name, bool rotate, SecretVault vault)
    {
        var who = AdminCaller.Of(context).Name;
        var buffer = ArrayPool<byte>.Shared.Rent(MaxBodyBytes + 1);
        var value = ArrayPool<byte>.Shared.Rent(SecretVault.MaxValueBytes + 1);
        try
        {
            var (length, tooLarge) = await AdminBody.ReadAsync(context, buffer, MaxBodyBytes);
            if (tooLarge is not null)
            {
                return tooLarge;
            }

            var valueLength = ReadValue(buffer.AsSpan(0, length), value);
            if (valueLength < 0)
            {
                return AdminProblem.BadRequest(context, RefusalCodes.AdminBodyInvalid, $"Send JSON {{\"value\": \"...\"}} with a string of 1 to {SecretVault.MaxValueBytes} bytes; the value is never returned.");
            }

            var result = rotate
                ? await vault.RotateAsync(name, value.AsMemory(0, valueLength), who, context.TraceIdentifier, context.RequestAborted)
                : await vault.PutAsync(name, value.AsMemory(0, valueLength), who, context.TraceIdentifier, context.RequestAborted);
            if (result.Error is { } error)
            {
                TesseraMetrics.AdminRequests.WithLabels("denied").Inc();
                return error.Kind switch
                {
                    // On record already (secret.denied, with the code), as Core refused it.
                    VaultErrorKind.NotFound => AdminProblem.NotFound(context, error.Code, error.Message, audited: true),
                    VaultErrorKind.Conflict => AdminProblem.Conflict(context, error.Code, error.Message, audited: true),
                    _ => AdminProblem.Refuse(context, 400, "Bad request", error.Code, error.Message, audited: true),
                };
            }

            TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
            var view = View(result.Secret!, result.Secret!.CreatedAt);
            return rotate ? TypedResults.Json(view, AdminJson.Options) : TypedResults.Json(view, AdminJson.Options, statusCode: 201);
        }
        finally
        {
            // The request body and the value held the secret: clear both before they return to the pool.
            CryptographicOperations.ZeroMemory(buffer);
            CryptographicOperations.ZeroMemory(value);
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(value);
        }
    }

    private static async Task<Results<JsonHttpResult<RekeyView>, ProblemHttpResult>> RekeyAsync(HttpContext context, SecretVault vault)
    {
        RekeyOutcome outcome;
        try
        {
            outcome = await vault.RekeyAsync(AdminCaller.Of(context).Name, context.TraceIdentifier, context.RequestAborted);
        }
        catch (VaultIntegrityException ex)
        {
            TesseraMetrics.AdminRequests.WithLabels("denied").Inc();
            return AdminProblem.Conflict(context, RefusalCodes.VaultRekeyBroken, $"Nothing was changed: {ex.Message}.");
        }

        TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
        return TypedResults.Json(new RekeyView(outcome.KeyId, outcome.Rewrapped, outcome.RemovedKeyIds), AdminJson.Options);
    }

    /// <summary>
    /// Copies the unescaped UTF-8 bytes of <c>value</c> into <paramref name="destination"/> without
    /// creating a string, so the secret exists only in buffers we clear. Returns -1 when the body is
    /// not <c>{"value": "..."}</c> or the value is too long.
    /// </summary>
    private static int ReadValue(ReadOnlySpan<byte> json, byte[] destination)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 2 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return -1;
            }

            var length = -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isValue = reader.ValueTextEquals("value"u8);
                if (!reader.Read())
                {
                    return -1;
                }

                if (!isValue || length >= 0 || reader.TokenType != JsonTokenType.String)
                {
                    return -1;
                }

                var size = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
                if (size > destination.Length)
                {
                    return -1;
                }

                length = reader.CopyString(destination);
            }

            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? length : -1;
        }
        catch (JsonException)
        {
            return -1;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }

    private static SecretView View(SecretInfo s, DateTimeOffset now) => new(
        s.Name,
        s.Version,
        AuditEvent.FormatTime(s.CreatedAt),
        (long)s.AgeAt(now).TotalSeconds,
        s.KeyId,
        [.. s.Retired.Select(r => new RetiredView(r.Version, AuditEvent.FormatTime(r.RetiredAt), AuditEvent.FormatTime(r.DestroyAfter)))],
        s.UsedBy,
        s.RotateEvery is { } every ? Durations.Format(every) : null,
        s.IsOverdueAt(now));
}

internal sealed record SecretView(string Name, int Version, string CreatedAt, long AgeSeconds, string KeyId,
    IReadOnlyList<RetiredView> Retired, IReadOnlyList<string> UsedBy, string? RotateEvery, bool Overdue);

internal sealed record RetiredView(int Version, string RetiredAt, string DestroyAfter);

internal sealed record SecretList(IReadOnlyList<SecretView> Secrets, IReadOnlyList<string> Missing);

internal sealed record RekeyView(string KeyId, int Rewrapped, IReadOnlyList<string> Removed);
