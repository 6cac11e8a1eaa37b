using System.Buffers;
using System.Text;
using System.Text.Json;
using Tessera.Core.Protocol;

namespace Tessera.Cli;

/// <summary>
/// What client commands show a person. Answers from the server carry text that callers chose (an
/// unauthenticated <c>client_id</c> in the audit log, a principal's <c>sub</c>, an id echoed in an
/// error), so every human-readable line goes through <see cref="DisplayText.Escape"/>: a newline or
/// an ESC sequence in it cannot forge a line or drive the terminal, and a bidi override cannot
/// reorder what is shown. <c>serve</c> and <c>init</c> print only local facts and write directly.
/// </summary>
internal static class Terminal
{
    public static void WriteLine(string line) => Console.WriteLine(DisplayText.Escape(line));

    public static Task WriteErrorLineAsync(string line) => Console.Error.WriteLineAsync(DisplayText.Escape(line));

    /// <summary>One JSON value on one line, for <c>--json</c>.</summary>
    public static void WriteJson(JsonElement value) => Console.WriteLine(Json(value));

    /// <summary>
    /// The value re-encoded rather than passed through as received: System.Text.Json's default
    /// encoder writes control characters, and everything outside ASCII (format characters included),
    /// as <c>\uXXXX</c>, so the line is exact JSON and shows nothing hidden, whatever the server sent.
    /// </summary>
    internal static string Json(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            value.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
