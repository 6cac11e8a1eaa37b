namespace Tessera.Server.Hosting;

/// <summary>Set once storage is migrated, keys and revocations are loaded, and the audit writer runs.</summary>
internal sealed class Readiness
{
    private volatile bool _ready;

    public bool IsReady => _ready;

    public void MarkReady() => _ready = true;
}
