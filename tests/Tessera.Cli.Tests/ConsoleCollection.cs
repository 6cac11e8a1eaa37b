namespace Tessera.Cli.Tests;

/// <summary>Tests that redirect <see cref="Console"/> run one at a time: the console is process-wide.</summary>
[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;
