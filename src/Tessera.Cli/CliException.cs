namespace Tessera.Cli;

/// <summary>A refusal or failure to report on stderr with exit code 1; the message is for a person.</summary>
internal sealed class CliException(string message) : Exception(message);
