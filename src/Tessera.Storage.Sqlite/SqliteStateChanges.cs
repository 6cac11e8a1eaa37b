using Microsoft.Data.Sqlite;
using Tessera.Core.Approvals;
using Tessera.Core.Identity;
using Tessera.Core.Leases;
using Tessera.Core.Missions;
using Tessera.Core.Posture;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;

namespace Tessera.Storage.Sqlite;

/// <summary>
/// Writes each kind of <see cref="StateChange"/> to its table, inside the transaction in which
/// <see cref="SqliteAuditStore"/> appends the audit events that record them. Runs on the single
/// writer connection; every statement is a prepared command kept across commits.
/// </summary>
internal sealed class SqliteStateChanges(SqliteTesseraStore store) : IStateChangeApplier<SqliteTransaction>
{
    public Task RevokeAsync(RevocationEntry change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        var command = Command(tx, """
            INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES ($kind, $id, $at, $exp)
            ON CONFLICT (kind, id) DO UPDATE SET revoked_at = MAX(revoked_at, excluded.revoked_at), expires_at = MAX(expires_at, excluded.expires_at)
            """);
        command.Parameters.AddWithValue("$kind", (int)change.Kind);
        command.Parameters.AddWithValue("$id", change.Id);
        command.Parameters.AddWithValue("$at", change.RevokedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$exp", change.ExpiresAt.ToUnixTimeMilliseconds());
        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task AddSigningKeyAsync(SigningKeyAdded change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        var command = Command(tx, "INSERT INTO signing_keys (kid, alg, sealed, created_at, activates_at) VALUES ($kid, $alg, $sealed, $created, $activates)");
        command.Parameters.AddWithValue("$kid", change.Key.Kid);
        command.Parameters.AddWithValue("$alg", change.Key.Algorithm);
        command.Parameters.AddWithValue("$sealed", change.Key.SealedPrivateKey);
        command.Parameters.AddWithValue("$created", change.Key.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$activates", change.Key.ActivatesAt.ToUnixTimeMilliseconds());
        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task RetireSigningKeyAsync(SigningKeyRetired change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        var command = Command(tx, "DELETE FROM signing_keys WHERE kid = $kid");
        command.Parameters.AddWithValue("$kid", change.Kid);
        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task StartMissionAsync(MissionStarted change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        var command = Command(tx, """
            INSERT INTO missions (id, principal, idp, actor_chain, purpose, started_at, expires_at)
            VALUES ($id, $principal, $idp, $chain, $purpose, $started, $expires)
            """);
        var mission = change.Mission;
        command.Parameters.AddWithValue("$id", mission.Id);
        command.Parameters.AddWithValue("$principal", mission.Principal);
        command.Parameters.AddWithValue("$idp", mission.Idp);
        command.Parameters.AddWithValue("$chain", System.Text.Json.JsonSerializer.Serialize(mission.ActorChain));
        command.Parameters.AddWithValue("$purpose", (object?)mission.Purpose ?? DBNull.Value);
        command.Parameters.AddWithValue("$started", mission.StartedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$expires", mission.ExpiresAt.ToUnixTimeMilliseconds());
        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task UseAssertionAsync(AssertionUsed change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        var command = Command(tx, "INSERT INTO used_assertions (key, expires_at) VALUES ($key, $exp) ON CONFLICT (key) DO NOTHING");
        command.Parameters.AddWithValue("$key", change.Key);
        command.Parameters.AddWithValue("$exp", change.ExpiresAt.ToUnixTimeMilliseconds());
        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task SuspendAgentAsync(AgentSuspension change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        SqliteCommand command;
        if (change.Suspended)
        {
            command = Command(tx, "INSERT INTO agent_suspensions (agent_id, suspended_at) VALUES ($id, $at) ON CONFLICT (agent_id) DO NOTHING");
            command.Parameters.AddWithValue("$id", change.AgentId);
            command.Parameters.AddWithValue("$at", change.At.ToUnixTimeMilliseconds());
        }
        else
        {
            command = Command(tx, "DELETE FROM agent_suspensions WHERE agent_id = $id");
            command.Parameters.AddWithValue("$id", change.AgentId);
        }

        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task AddSecretVersionAsync(SecretVersionAdded change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        SqliteCommand command;
        var version = change.Version;
        if (change.Retires is { } retired)
        {
            command = Command(tx, "UPDATE secret_versions SET retired_at = $at, destroy_after = $destroy WHERE name = $name AND version = $version");
            command.Parameters.AddWithValue("$at", version.CreatedAt.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$destroy", change.DestroyAfter!.Value.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$name", version.Name);
            command.Parameters.AddWithValue("$version", retired);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        command = Command(tx, """
            INSERT INTO secret_versions (name, version, created_at, key_id, wrapped_key, ciphertext)
            VALUES ($name, $version, $created, $key, $wrapped, $ciphertext)
            """);
        command.Parameters.AddWithValue("$name", version.Name);
        command.Parameters.AddWithValue("$version", version.Version);
        command.Parameters.AddWithValue("$created", version.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$key", version.KeyId);
        command.Parameters.AddWithValue("$wrapped", version.WrappedKey);
        command.Parameters.AddWithValue("$ciphertext", version.Ciphertext);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ChangeVaultKeyAsync(VaultKeyChanged change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        var command = Command(tx, "INSERT INTO vault_keys (id, salt, created_at) VALUES ($id, $salt, $created)");
        command.Parameters.AddWithValue("$id", change.Key.Id);
        command.Parameters.AddWithValue("$salt", change.Key.Salt);
        command.Parameters.AddWithValue("$created", change.Key.CreatedAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
        foreach (var r in change.Rewrapped)
        {
            command = Command(tx, "UPDATE secret_versions SET key_id = $key, wrapped_key = $wrapped WHERE name = $name AND version = $version AND destroyed_at IS NULL");
            command.Parameters.AddWithValue("$key", change.Key.Id);
            command.Parameters.AddWithValue("$wrapped", r.WrappedKey);
            command.Parameters.AddWithValue("$name", r.Version.Name);
            command.Parameters.AddWithValue("$version", r.Version.Version);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var id in change.RemovedKeyIds)
        {
            command = Command(tx, "DELETE FROM vault_keys WHERE id = $id");
            command.Parameters.AddWithValue("$id", id);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        // Fail closed: a rekey that left a data key under a deleted key must not commit.
        command = Command(tx, "SELECT COUNT(*) FROM secret_versions WHERE destroyed_at IS NULL AND key_id NOT IN (SELECT id FROM vault_keys)");
        if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) != 0)
        {
            throw new InvalidOperationException("the rekey would leave data keys wrapped by a removed key");
        }
    }

    public async Task DestroySecretVersionsAsync(SecretVersionsDestroyed change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        foreach (var v in change.Versions)
        {
            var command = Command(tx, """
                UPDATE secret_versions SET ciphertext = NULL, wrapped_key = NULL, key_id = NULL, destroyed_at = $at
                WHERE name = $name AND version = $version
                """);
            command.Parameters.AddWithValue("$at", change.At.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$name", v.Name);
            command.Parameters.AddWithValue("$version", v.Version);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public Task RequestApprovalAsync(ApprovalRequested change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        var command = Command(tx, """
            INSERT INTO approvals (id, status, client_id, created_at, expires_at, json)
            VALUES ($id, $status, $client, $created, $expires, $json)
            """);
        var approval = change.Approval;
        command.Parameters.AddWithValue("$id", approval.Id);
        command.Parameters.AddWithValue("$status", approval.Status);
        command.Parameters.AddWithValue("$client", approval.ClientId);
        command.Parameters.AddWithValue("$created", approval.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$expires", approval.ExpiresAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$json", SqliteApprovalStore.Serialize(approval));
        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task StepApprovalAsync(ApprovalChange change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        var command = Command(tx, "UPDATE approvals SET status = $status, expires_at = $expires, json = $json WHERE id = $id AND status = $previous");
        var approval = change.Approval;
        command.Parameters.AddWithValue("$id", approval.Id);
        command.Parameters.AddWithValue("$status", approval.Status);
        command.Parameters.AddWithValue("$expires", approval.ExpiresAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$json", SqliteApprovalStore.Serialize(approval));
        command.Parameters.AddWithValue("$previous", (object?)change.PreviousStatus ?? DBNull.Value);

        // Fail closed: a step from a state the approval is no longer in must not commit (a second decision, a second token).
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            throw new InvalidOperationException($"approval step to '{approval.Status}' from '{change.PreviousStatus}' does not match the stored state");
        }
    }

    public async Task ObserveUsageAsync(UsageObserved change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        const string Agent = "INSERT INTO agent_usage (agent, scope, last_at) VALUES ($agent, $scope, $at) ON CONFLICT (agent, scope) DO UPDATE SET last_at = MAX(last_at, excluded.last_at)";
        foreach (var (agent, at) in change.Tokens)
        {
            await UpsertAsync(tx, Agent, agent, "", at, cancellationToken);
        }

        foreach (var (key, at) in change.Scopes)
        {
            await UpsertAsync(tx, Agent, key.Agent, key.Scope, at, cancellationToken);
        }

        foreach (var (key, at) in change.Rules)
        {
            await UpsertAsync(tx, "INSERT INTO rule_usage (scope, rule, last_at) VALUES ($agent, $scope, $at) ON CONFLICT (scope, rule) DO UPDATE SET last_at = MAX(last_at, excluded.last_at)",
                key.Scope, key.Rule, at, cancellationToken);
        }
    }

    public Task StepLeaseAsync(LeaseStep change, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        // An ended lease stays ended (status 3): a late step from a slower node changes nothing. The claim is released with every step.
        var command = Command(tx, """
            UPDATE leases SET status = $status, attempts = $attempts, next_attempt_at = $next, last_error = $error,
                end_reason = COALESCE($reason, end_reason), ended_at = CASE WHEN $status = 3 THEN $at ELSE ended_at END,
                claimed_by = NULL, claimed_until = NULL
            WHERE id = $id AND status <> 3
            """);
        command.Parameters.AddWithValue("$status", (int)change.Status);
        command.Parameters.AddWithValue("$attempts", change.Attempts);
        command.Parameters.AddWithValue("$next", change.NextAttemptAt is { } next ? next.ToUnixTimeMilliseconds() : DBNull.Value);
        command.Parameters.AddWithValue("$error", (object?)change.LastError ?? DBNull.Value);
        command.Parameters.AddWithValue("$reason", (object?)change.EndReason ?? DBNull.Value);
        command.Parameters.AddWithValue("$at", change.At.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", change.LeaseId);
        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    private Task<int> UpsertAsync(SqliteTransaction tx, string sql, string first, string second, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var command = Command(tx, sql);
        command.Parameters.AddWithValue("$agent", first);
        command.Parameters.AddWithValue("$scope", second);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The writer's prepared command for <paramref name="sql"/>, enlisted in <paramref name="tx"/>, its parameters cleared for this change.</summary>
    private SqliteCommand Command(SqliteTransaction tx, string sql)
    {
        var command = store.WriterCommand(tx.Connection!, tx, sql);
        command.Parameters.Clear();
        return command;
    }
}
