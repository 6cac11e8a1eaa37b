namespace Tessera.CrashTest;

/// <summary>An invariant that did not hold after the restart that followed kill <paramref name="Kill"/>.</summary>
internal sealed record Violation(int Kill, string What)
{
    public override string ToString() => $"kill {Kill}: {What}";
}
