using SharpFuzz;
using Tessera.Fuzz.Targets;

// libfuzzer-dotnet starts this program once and hands it input after input through shared memory;
// an exception escaping the target is reported to libFuzzer as a crash, with the input that caused it.
if (args.Length != 1 || !FuzzTargets.ByName.TryGetValue(args[0], out var target))
{
    await Console.Error.WriteLineAsync("usage: Tessera.Fuzz <target>   (targets: " + string.Join(", ", FuzzTargets.ByName.Keys) + ")");
    return 2;
}

Fuzzer.LibFuzzer.Run(span => target(span));
return 0;
