namespace Tessera.Cli;

/// <summary>A refusal or failure to report on stderr with exit code 1; the message is for a person.</summary>
/// <param name="message">The line to print.</param>
/// <param name="status">The HTTP status when the server refused, for a command that tells its refusals apart (<c>reload</c>).</param>
/// <param name="detail">The problem's <c>detail</c> (or <c>title</c>) when the server refused.</param>
internal sealed class CliException(string message, int? status = null, string? detail = null) : Exception(message)
{
    public int? Status => status;

    public string? Detail => detail;
}
