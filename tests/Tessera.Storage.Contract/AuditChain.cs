using System.Security.Cryptography;
using Tessera.Core.Audit;

namespace Tessera.Storage.Contract;

/// <summary>Builds correctly chained events by hand, so the store is tested without the audit writer.</summary>
internal sealed class AuditChain
{
    private long _seq;
    private string _hash = AuditEvent.GenesisHash;

    /// <summary>The last event built (seq 0 and the genesis hash before the first).</summary>
    public Tessera.Core.Storage.AuditHead Head => new(_seq, _hash);

    public AuditEvent Next(AuditRecord record, DateTimeOffset time)
    {
        var seq = _seq + 1;
        var json = AuditEvent.Serialize(seq, time, record, _hash);
        var hash = Convert.ToHexStringLower(SHA256.HashData(json));
        var e = new AuditEvent { Seq = seq, Time = time, Record = record, PrevHash = _hash, Hash = hash, Json = json };
        _seq = seq;
        _hash = hash;
        return e;
    }
}
