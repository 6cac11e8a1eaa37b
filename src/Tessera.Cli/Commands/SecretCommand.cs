using System.Buffers;
using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;

namespace Tessera.Cli.Commands;

/// <summary>
/// <c>tessera secret put|rotate|list</c>: values are read from stdin, never from argv (where any user
/// could read them in the process list), sent once, and never printed.
/// </summary>
internal static class SecretCommand
{
    /// <summary>Large enough for any accepted value plus a newline; the server enforces the real limit.</summary>
    private const int MaxInput = 64 * 1024;

    public static Command Create()
    {
        var put = Change("put", "Store a new secret; the value is read from stdin (one trailing newline is removed)", rotate: false);
        var rotate = Change("rotate", "Store a new version read from stdin; the next proxied request uses it, the old one is retired", rotate: true);

        var config = CliOptions.Config();
        var json = new Option<bool>("--json") { Description = "Print the JSON answer" };
        var list = new Command("list", "List secrets: names, versions, ages and rotation status; never values") { config, json };
        list.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var result = await client.GetAsync("/admin/v1/secrets", ct);
            if (parse.GetValue(json))
            {
                Terminal.WriteJson(result.RootElement);
                return ExitCodes.Success;
            }

            Terminal.WriteLine($"{"NAME",-24} {"VERSION",7}  {"AGE",-8} {"ROTATE",-8} {"STATUS",-8} USED BY");
            foreach (var s in result.RootElement.GetProperty("secrets").EnumerateArray())
            {
                var age = TimeSpan.FromSeconds(s.GetProperty("age_seconds").GetInt64());
                var every = s.TryGetProperty("rotate_every", out var r) ? r.GetString() : "-";
                var status = s.GetProperty("overdue").GetBoolean() ? "OVERDUE" : "ok";
                var usedBy = string.Join(",", s.GetProperty("used_by").EnumerateArray().Select(u => u.GetString()));
                Terminal.WriteLine($"{s.GetProperty("name").GetString(),-24} {s.GetProperty("version").GetInt32(),7}  {FormatAge(age),-8} {every,-8} {status,-8} {(usedBy.Length == 0 ? "-" : usedBy)}");
                foreach (var old in s.GetProperty("retired").EnumerateArray())
                {
                    Terminal.WriteLine($"{"",-24} {old.GetProperty("version").GetInt32(),7}  retired, destroyed after {old.GetProperty("destroy_after").GetString()}");
                }
            }

            foreach (var missing in result.RootElement.GetProperty("missing").EnumerateArray())
            {
                Terminal.WriteLine($"{missing.GetString(),-24} {"-",7}  {"-",-8} {"-",-8} {"MISSING",-8} a tool needs it: tessera secret put {missing.GetString()}");
            }

            return ExitCodes.Success;
        }));

        return new Command("secret", "Upstream secrets in the vault (values go in, never come out)") { put, rotate, list };
    }

    private static Command Change(string name, string description, bool rotate)
    {
        var config = CliOptions.Config();
        var secretName = new Argument<string>("NAME") { Description = "The secret's name, as tools name it in credential.secret" };
        var command = new Command(name, description) { secretName, config };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            var input = ArrayPool<byte>.Shared.Rent(MaxInput + 1);
            var body = ArrayPool<byte>.Shared.Rent(MaxInput * 6 + 64);
            try
            {
                var length = await ReadStdinAsync(input, ct);
                if (length > MaxInput)
                {
                    throw new CliException($"The value on stdin is larger than {MaxInput} bytes.");
                }

                length = StripOneNewline(input.AsSpan(0, length));
                if (length == 0)
                {
                    throw new CliException("No value on stdin: pipe it in, for example  tessera secret put NAME < file");
                }

                var bodyLength = WriteBody(input.AsSpan(0, length), body);
                var id = parse.GetValue(secretName)!;
                var path = "/admin/v1/secrets/" + Uri.EscapeDataString(id) + (rotate ? "/rotate" : "");
                using var result = await client.SendJsonAsync(rotate ? HttpMethod.Post : HttpMethod.Put, path, body.AsMemory(0, bodyLength), ct);
                var r = result.RootElement;
                Terminal.WriteLine(rotate
                    ? $"secret {r.GetProperty("name").GetString()} rotated to version {r.GetProperty("version").GetInt32()}; the previous version is retired"
                    : $"secret {r.GetProperty("name").GetString()} stored as version {r.GetProperty("version").GetInt32()}");
                return ExitCodes.Success;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(input);
                CryptographicOperations.ZeroMemory(body);
                ArrayPool<byte>.Shared.Return(input);
                ArrayPool<byte>.Shared.Return(body);
            }
        }));
        return command;
    }

    private static async Task<int> ReadStdinAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        if (!Console.IsInputRedirected)
        {
            await Console.Error.WriteLineAsync("Reading the value from stdin; end with Ctrl-D.");
        }

        await using var stdin = Console.OpenStandardInput();
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stdin.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        return length;
    }

    /// <summary>One trailing newline (LF or CRLF) is removed, as <c>echo</c> and editors add it.</summary>
    internal static int StripOneNewline(ReadOnlySpan<byte> value) =>
        value.EndsWith("\r\n"u8) ? value.Length - 2 : value.EndsWith("\n"u8) ? value.Length - 1 : value.Length;

    private static int WriteBody(ReadOnlySpan<byte> value, byte[] destination)
    {
        var writer = new ArrayBufferWriter<byte>(destination.Length);
        using (var json = new Utf8JsonWriter(writer))
        {
            json.WriteStartObject();
            json.WriteString("value", value);
            json.WriteEndObject();
        }

        writer.WrittenSpan.CopyTo(destination);
        var length = writer.WrittenCount;
        writer.Clear();
        return length;
    }

    private static string FormatAge(TimeSpan age) =>
        age.TotalDays >= 1 ? $"{(int)age.TotalDays}d" : age.TotalHours >= 1 ? $"{(int)age.TotalHours}h" : $"{(int)age.TotalMinutes}m";
}
