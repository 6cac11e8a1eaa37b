using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;

namespace Tessera.Storage.Contract;

/// <summary>
/// Signed checkpoints against an attacker with write access to the database: the real audit writer
/// fills the store and cuts a checkpoint every five events, the latest is exported as an investigator
/// would keep it, and then the database is cut short or rewritten behind Tessera's back. The chain's
/// own verification cannot see a rewrite whose hashes were all recomputed; the exported checkpoint
/// must, naming what happened.
/// </summary>
public abstract class AuditCheckpointContract(IStoreDatabase database) : StoreContract(database)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly SigningKey _key = SigningKey.Generate(T0, T0);
    private readonly SigningKey _foreign = SigningKey.Generate(T0, T0);

    /// <summary>The keys Tessera holds in these tests: none, so a checkpoint's key is known only from the log (a retired key).</summary>
    private static readonly HashSet<string> NoneHeld = [];

    /// <summary>
    /// 20 events and their checkpoints (seq 6, 12, 18 and 24; the last signs seq 23), exported, then 3
    /// events more (seq 25 to 27), as the log goes on after an export.
    /// </summary>
    private async Task<AuditCheckpointFile> FillAndExportAsync()
    {
        await AppendAsync(1, 20);
        var exported = await ExportAsync();
        await AppendAsync(21, 23);
        return exported;
    }

    private async Task AppendAsync(int from, int to)
    {
        var checkpointer = new AuditCheckpointer(new AuditCheckpointOptions(true, 5, TimeSpan.FromHours(1)));
        checkpointer.SignWith(_ => _key);
        await using var log = new AuditLog(Store.Audit, _time, NullLogger<AuditLog>.Instance, checkpointer);
        await log.StartAsync(Ct);
        for (var i = from; i <= to; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await log.AppendAsync(Record($"agent-{i % 3}", mission: $"m-{i}"), cancellationToken: Ct);
        }
    }

    private async Task<AuditCheckpointFile> ExportAsync()
    {
        var chains = await AuditVerifier.VerifyAllAsync(Store.Audit, Ct);
        var chain = Assert.Single(chains).Result;
        Assert.True(chain.IsIntact, chain.Problem);
        Assert.Equal(4, chain.Checkpoints);
        Assert.Equal(24, chain.LatestCheckpoint!.EventSeq);
        Assert.Equal(23, chain.LatestCheckpoint.Checkpoint.Seq);
        return AuditCheckpointFile.Of([chain.LatestCheckpoint], _time.GetUtcNow());
    }

    private async Task<(AuditVerification Chain, CheckpointVerdict Verdict)> VerifyAsync(AuditCheckpointFile file, IReadOnlySet<string>? held = null)
    {
        var chains = await AuditVerifier.VerifyAllAsync(Store.Audit, Ct);
        var verdict = Assert.Single(await AuditCheckpointVerifier.VerifyAsync(file, Store.Audit, chains, held ?? NoneHeld, Ct));
        return (Assert.Single(chains).Result, verdict);
    }

    [Fact]
    public async Task An_untouched_log_holds_its_exported_checkpoint_under_a_retired_key_recorded_in_the_log()
    {
        var file = await FillAndExportAsync();

        var (chain, verdict) = await VerifyAsync(file);

        Assert.True(chain.IsIntact, chain.Problem);
        Assert.True(verdict.Holds, verdict.Message);
        Assert.Equal($"{Label()} holds: the log has the signed hash at seq 23; signed at {AuditEvent.FormatTime(T0.AddSeconds(20))} with key {_key.Kid}, since retired; the log records this checkpoint at seq 24", verdict.Message);
    }

    [Fact]
    public async Task A_checkpoint_under_a_key_tessera_holds_holds_saying_so()
    {
        var file = await FillAndExportAsync();

        var (_, verdict) = await VerifyAsync(file, new HashSet<string> { _key.Kid });

        Assert.True(verdict.Holds, verdict.Message);
        Assert.EndsWith($"with key {_key.Kid}, which Tessera holds", verdict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Truncating_the_log_behind_an_exported_checkpoint_passes_the_chain_check_but_not_the_checkpoint()
    {
        var file = await FillAndExportAsync();

        await Database.ScalarAsync("DELETE FROM audit_events WHERE seq > 20", Ct);
        var (chain, verdict) = await VerifyAsync(file);

        // What is left is a valid chain: only the checkpoint kept elsewhere shows the loss.
        Assert.True(chain.IsIntact, chain.Problem);
        Assert.False(verdict.Holds);
        Assert.Equal($"{Label()}: the log ends at seq 20, before the checkpoint's seq 23: it was truncated behind the checkpoint", verdict.Message);
    }

    [Fact]
    public async Task Rewriting_an_event_behind_the_checkpoint_and_recomputing_every_later_hash_passes_the_chain_check_but_not_the_checkpoint()
    {
        var file = await FillAndExportAsync();

        // The attacker changes one event's agent, drops the checkpoint events they cannot re-sign, and re-chains the rest.
        await RewriteAsync(e => e.Record.Type == AuditTypes.AuditCheckpoint ? null : e.Seq == 3 ? e.Record with { Agent = "innocent-agent" } : e.Record);
        var (chain, verdict) = await VerifyAsync(file);

        Assert.True(chain.IsIntact, chain.Problem);
        Assert.Equal(23, chain.VerifiedCount);
        Assert.Equal(0, chain.Checkpoints);
        Assert.False(verdict.Holds);
        Assert.StartsWith($"{Label()}: the log's event at seq 23 has hash ", verdict.Message, StringComparison.Ordinal);
        Assert.EndsWith($", the checkpoint signed {file.Checkpoints[0].Checkpoint.HeadHash}: the log was rewritten at or before seq 23", verdict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rewriting_an_event_and_recomputing_the_hashes_but_keeping_the_checkpoint_events_breaks_the_chain_at_the_first_checkpoint()
    {
        await AppendAsync(1, 20);

        await RewriteAsync(e => e.Seq == 3 ? e.Record with { Agent = "innocent-agent" } : e.Record);
        var chain = Assert.Single(await AuditVerifier.VerifyAllAsync(Store.Audit, Ct)).Result;

        Assert.False(chain.IsIntact);
        Assert.Equal(6, chain.BrokenAtSeq);
        Assert.StartsWith("checkpoint signed seq 5 with hash ", chain.Problem, StringComparison.Ordinal);
        Assert.EndsWith("(events it covers were rewritten, removed or reordered)", chain.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_checkpoint_signature_fails()
    {
        var file = await FillAndExportAsync();
        var exported = file.Checkpoints[0];
        var parts = exported.Jws.Split('.');
        var otherHash = new string('0', 63) + "1";
        var payload = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1]))).Replace(exported.Checkpoint.HeadHash, otherHash, StringComparison.Ordinal);
        var forged = $"{parts[0]}.{System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";

        var (_, verdict) = await VerifyAsync(file with { Checkpoints = [exported with { Jws = forged, Checkpoint = exported.Checkpoint with { HeadHash = otherHash } }] });

        Assert.False(verdict.Holds);
        Assert.Equal($"{Label()}: checkpoint signature does not verify with key {_key.Kid} (forged or altered)", verdict.Message);
    }

    [Fact]
    public async Task A_file_whose_spelled_out_statement_was_edited_fails()
    {
        var file = await FillAndExportAsync();
        var exported = file.Checkpoints[0];

        var (_, verdict) = await VerifyAsync(file with { Checkpoints = [exported with { Checkpoint = exported.Checkpoint with { Seq = 22 } }] });

        Assert.False(verdict.Holds);
        Assert.EndsWith(": the file's node, seq, hash or time disagree with what the checkpoint signs (the file was altered)", verdict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_checkpoint_of_the_real_head_signed_by_another_key_fails()
    {
        var file = await FillAndExportAsync();
        var exported = file.Checkpoints[0];
        var jws = exported.Checkpoint.Sign(_foreign);
        var foreignFile = new AuditCheckpointFile(file.ExportedAt, [exported with { Jws = jws, Kid = _foreign.Kid }], [_foreign.PublicJwk]);

        var (_, verdict) = await VerifyAsync(foreignFile, new HashSet<string> { _key.Kid });

        Assert.False(verdict.Holds);
        Assert.Equal($"{Label()}: signed with key {_foreign.Kid}, which this Tessera does not hold and did not record this checkpoint with: not a checkpoint of this log", verdict.Message);
    }

    [Fact]
    public async Task A_checkpoint_verified_with_another_key_put_in_the_file_fails()
    {
        var file = await FillAndExportAsync();

        var (_, verdict) = await VerifyAsync(file with { Keys = [new Microsoft.IdentityModel.Tokens.JsonWebKey { Kty = "EC", Crv = "P-256", X = _foreign.PublicJwk.X, Y = _foreign.PublicJwk.Y, Kid = _key.Kid }] });

        Assert.False(verdict.Holds);
        Assert.Equal($"{Label()}: checkpoint is verified with a public key that is not its key {_key.Kid} (the key's thumbprint is not the kid)", verdict.Message);
    }

    private string Label() => Store.Audit.Node is { } node ? $"checkpoint of node {node} seq 23" : "checkpoint of seq 23";

    /// <summary>
    /// What an attacker with write access to the database can do: replace the chain with its events
    /// changed by <paramref name="rewrite"/> (null drops one), renumbered and re-hashed from the start,
    /// so that every link verifies again. Appended through a fresh store, as a separate tool would.
    /// </summary>
    private async Task RewriteAsync(Func<AuditEvent, AuditRecord?> rewrite)
    {
        var node = Store.Audit.Node;
        var original = new List<AuditEvent>();
        await foreach (var row in Store.Audit.ReadRowsAsync(1, Ct))
        {
            original.Add(AuditEvent.Parse(row.Json, row.Hash));
        }

        await Database.ScalarAsync("DELETE FROM audit_events", Ct);
        var rechained = new List<AuditEvent>();
        var prev = AuditEvent.GenesisHash;
        foreach (var e in original)
        {
            if (rewrite(e) is not { } record)
            {
                continue;
            }

            var seq = rechained.Count + 1L;
            var json = AuditEvent.Serialize(seq, e.Time, record, prev, node);
            var hash = Convert.ToHexStringLower(SHA256.HashData(json));
            rechained.Add(new AuditEvent { Seq = seq, Time = e.Time, Record = record, PrevHash = prev, Hash = hash, Json = json, Node = node });
            prev = hash;
        }

        await using var forger = await OpenMigratedAsync();
        await forger.Audit.AppendAsync(rechained, [], Ct);
    }

    private static string Pad(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }
}
