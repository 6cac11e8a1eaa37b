namespace Tessera.Fuzz.Targets;

/// <summary>
/// One fuzz target: feeds <paramref name="input"/> to the code under test and returns normally for every
/// outcome the code documents (a result, a refusal, its documented exception). Anything it lets escape is
/// a finding: an undocumented exception, and (seen by the fuzzer) a hang or a stack overflow.
/// </summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);
