using Npgsql;
using Tessera.Core.Approvals;
using Tessera.Core.Identity;
using Tessera.Core.Leases;
using Tessera.Core.Missions;
using Tessera.Core.Posture;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;

namespace Tessera.Storage.Postgres;

/// <summary>
/// Writes each kind of <see cref="StateChange"/> to its table, inside the transaction in which
/// <see cref="PostgresAuditStore"/> appends the audit events that record them. The same SQL text
/// every time, so Npgsql's automatic preparation serves the frequent ones from a prepared statement.
/// </summary>
internal sealed class PostgresStateChanges(string nodeId) : IStateChangeApplier<NpgsqlTransaction>
{
    public Task RevokeAsync(RevocationEntry change, NpgsqlTransaction tx, CancellationToken cancellationToken) =>
        ExecuteAsync(tx, """
            INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES (@kind, @id, @at, @exp)
            ON CONFLICT (kind, id) DO UPDATE SET revoked_at = GREATEST(revocations.revoked_at, excluded.revoked_at),
                                                 expires_at = GREATEST(revocations.expires_at, excluded.expires_at)
            """, cancellationToken,
            Sql.Int("kind", (int)change.Kind), Sql.Text("id", change.Id), Sql.Ms("at", change.RevokedAt), Sql.Ms("exp", change.ExpiresAt));

    public Task AddSigningKeyAsync(SigningKeyAdded change, NpgsqlTransaction tx, CancellationToken cancellationToken) =>
        ExecuteAsync(tx, "INSERT INTO signing_keys (kid, alg, sealed, created_at, activates_at) VALUES (@kid, @alg, @sealed, @created, @activates)", cancellationToken,
            Sql.Text("kid", change.Key.Kid), Sql.Text("alg", change.Key.Algorithm), Sql.Bytes("sealed", change.Key.SealedPrivateKey),
            Sql.Ms("created", change.Key.CreatedAt), Sql.Ms("activates", change.Key.ActivatesAt));

    public Task RetireSigningKeyAsync(SigningKeyRetired change, NpgsqlTransaction tx, CancellationToken cancellationToken) =>
        ExecuteAsync(tx, "DELETE FROM signing_keys WHERE kid = @kid", cancellationToken, Sql.Text("kid", change.Kid));

    public Task StartMissionAsync(MissionStarted change, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        var mission = change.Mission;
        return ExecuteAsync(tx, """
            INSERT INTO missions (id, principal, idp, actor_chain, purpose, started_at, expires_at)
            VALUES (@id, @principal, @idp, @chain, @purpose, @started, @expires)
            """, cancellationToken,
            Sql.Text("id", mission.Id), Sql.Text("principal", mission.Principal), Sql.Text("idp", mission.Idp),
            Sql.Text("chain", System.Text.Json.JsonSerializer.Serialize(mission.ActorChain)), Sql.Text("purpose", mission.Purpose),
            Sql.Ms("started", mission.StartedAt), Sql.Ms("expires", mission.ExpiresAt));
    }

    public Task UseAssertionAsync(AssertionUsed change, NpgsqlTransaction tx, CancellationToken cancellationToken) =>
        ExecuteAsync(tx, "INSERT INTO used_assertions (key, expires_at) VALUES (@key, @exp) ON CONFLICT (key) DO NOTHING", cancellationToken,
            Sql.Text("key", change.Key), Sql.Ms("exp", change.ExpiresAt));

    public Task SuspendAgentAsync(AgentSuspension change, NpgsqlTransaction tx, CancellationToken cancellationToken) =>
        change.Suspended
            ? ExecuteAsync(tx, "INSERT INTO agent_suspensions (agent_id, suspended_at) VALUES (@id, @at) ON CONFLICT (agent_id) DO NOTHING", cancellationToken,
                Sql.Text("id", change.AgentId), Sql.Ms("at", change.At))
            : ExecuteAsync(tx, "DELETE FROM agent_suspensions WHERE agent_id = @id", cancellationToken, Sql.Text("id", change.AgentId));

    public async Task AddSecretVersionAsync(SecretVersionAdded change, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        var version = change.Version;
        if (change.Retires is { } retired)
        {
            await ExecuteAsync(tx, "UPDATE secret_versions SET retired_at = @at, destroy_after = @destroy WHERE name = @name AND version = @version", cancellationToken,
                Sql.Ms("at", version.CreatedAt), Sql.Ms("destroy", change.DestroyAfter!.Value), Sql.Text("name", version.Name), Sql.Int("version", retired));
        }

        await ExecuteAsync(tx, """
            INSERT INTO secret_versions (name, version, created_at, key_id, wrapped_key, ciphertext)
            VALUES (@name, @version, @created, @key, @wrapped, @ciphertext)
            """, cancellationToken,
            Sql.Text("name", version.Name), Sql.Int("version", version.Version), Sql.Ms("created", version.CreatedAt), Sql.Text("key", version.KeyId),
            Sql.Bytes("wrapped", version.WrappedKey), Sql.Bytes("ciphertext", version.Ciphertext));
    }

    public async Task ChangeVaultKeyAsync(VaultKeyChanged change, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        await ExecuteAsync(tx, "INSERT INTO vault_keys (id, salt, created_at) VALUES (@id, @salt, @created)", cancellationToken,
            Sql.Text("id", change.Key.Id), Sql.Bytes("salt", change.Key.Salt), Sql.Ms("created", change.Key.CreatedAt));
        foreach (var r in change.Rewrapped)
        {
            await ExecuteAsync(tx, "UPDATE secret_versions SET key_id = @key, wrapped_key = @wrapped WHERE name = @name AND version = @version AND destroyed_at IS NULL", cancellationToken,
                Sql.Text("key", change.Key.Id), Sql.Bytes("wrapped", r.WrappedKey), Sql.Text("name", r.Version.Name), Sql.Int("version", r.Version.Version));
        }

        foreach (var id in change.RemovedKeyIds)
        {
            await ExecuteAsync(tx, "DELETE FROM vault_keys WHERE id = @id", cancellationToken, Sql.Text("id", id));
        }

        // Fail closed: a rekey that left a data key under a deleted key must not commit.
        await using var check = new NpgsqlCommand(
            "SELECT COUNT(*) FROM secret_versions WHERE destroyed_at IS NULL AND key_id NOT IN (SELECT id FROM vault_keys)", tx.Connection, tx);
        if ((long)(await check.ExecuteScalarAsync(cancellationToken))! != 0)
        {
            throw new InvalidOperationException("the rekey would leave data keys wrapped by a removed key");
        }
    }

    public async Task DestroySecretVersionsAsync(SecretVersionsDestroyed change, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        foreach (var v in change.Versions)
        {
            await ExecuteAsync(tx, """
                UPDATE secret_versions SET ciphertext = NULL, wrapped_key = NULL, key_id = NULL, destroyed_at = @at
                WHERE name = @name AND version = @version
                """, cancellationToken,
                Sql.Ms("at", change.At), Sql.Text("name", v.Name), Sql.Int("version", v.Version));
        }
    }

    public Task RequestApprovalAsync(ApprovalRequested change, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        var approval = change.Approval;
        return ExecuteAsync(tx, """
            INSERT INTO approvals (id, status, client_id, created_at, expires_at, json)
            VALUES (@id, @status, @client, @created, @expires, @json)
            """, cancellationToken,
            Sql.Text("id", approval.Id), Sql.Text("status", approval.Status), Sql.Text("client", approval.ClientId),
            Sql.Ms("created", approval.CreatedAt), Sql.Ms("expires", approval.ExpiresAt), Sql.Text("json", PostgresApprovalStore.Serialize(approval)));
    }

    public async Task StepApprovalAsync(ApprovalChange change, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        var approval = change.Approval;
        var updated = await ExecuteAsync(tx, "UPDATE approvals SET status = @status, expires_at = @expires, json = @json WHERE id = @id AND status = @previous", cancellationToken,
            Sql.Text("status", approval.Status), Sql.Ms("expires", approval.ExpiresAt), Sql.Text("json", PostgresApprovalStore.Serialize(approval)),
            Sql.Text("id", approval.Id), Sql.Text("previous", change.PreviousStatus));

        // Fail closed: a step from a state the approval is no longer in must not commit (a second
        // decision, a second token). Two nodes stepping at once: the row lock makes the second
        // update see the first one's status, match nothing, and fail here.
        if (updated != 1)
        {
            throw new InvalidOperationException($"approval step to '{approval.Status}' from '{change.PreviousStatus}' does not match the stored state");
        }
    }

    /// <summary>
    /// An ended lease stays ended (status 3): a late step from a slower node matches no row and
    /// changes nothing, without failing the batch. The claim is released with every step. Under
    /// concurrent steps the row lock makes the second re-check the status the first left.
    /// </summary>
    public Task StepLeaseAsync(LeaseStep change, NpgsqlTransaction tx, CancellationToken cancellationToken) =>
        ExecuteAsync(tx, """
            UPDATE leases SET status = @status, attempts = @attempts, next_attempt_at = @next, last_error = @error,
                end_reason = COALESCE(@reason, end_reason), ended_at = CASE WHEN @status = 3 THEN @at ELSE ended_at END,
                claimed_by = NULL, claimed_until = NULL
            WHERE id = @id AND status <> 3
            """, cancellationToken,
            Sql.Int("status", (int)change.Status), Sql.Int("attempts", change.Attempts),
            change.NextAttemptAt is { } next ? Sql.Ms("next", next) : Sql.NullLong("next"),
            Sql.Text("error", change.LastError), Sql.Text("reason", change.EndReason), Sql.Ms("at", change.At), Sql.Text("id", change.LeaseId));

    /// <summary>Each counter table in one statement (arrays unnested), this node's rows only.</summary>
    public async Task ObserveUsageAsync(UsageObserved change, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(tx.Connection, tx);
        foreach (var command in UsageCommands(change))
        {
            batch.BatchCommands.Add(command);
        }

        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The statements of a usage update, for a batch of their own or for the audit events' batch:
    /// a group commit of tokens (events and their usage, nothing else) stays one round trip.
    /// </summary>
    public IEnumerable<NpgsqlBatchCommand> UsageCommands(UsageObserved change)
    {
        var count = change.Tokens.Count + change.Scopes.Count;
        if (count > 0)
        {
            var (agents, scopes, times) = (new string[count], new string[count], new long[count]);
            var i = 0;
            foreach (var (agent, at) in change.Tokens)
            {
                (agents[i], scopes[i], times[i++]) = (agent, "", at.ToUnixTimeMilliseconds());
            }

            foreach (var (key, at) in change.Scopes)
            {
                (agents[i], scopes[i], times[i++]) = (key.Agent, key.Scope, at.ToUnixTimeMilliseconds());
            }

            yield return new NpgsqlBatchCommand("""
                INSERT INTO agent_usage (agent, scope, node, last_at) SELECT a, s, @node, t FROM unnest(@first, @second, @times) AS u(a, s, t)
                ON CONFLICT (agent, scope, node) DO UPDATE SET last_at = GREATEST(agent_usage.last_at, excluded.last_at)
                """)
            {
                Parameters = { Sql.Text("node", nodeId), Sql.TextArray("first", agents), Sql.TextArray("second", scopes), Sql.LongArray("times", times) },
            };
        }

        if (change.Rules.Count > 0)
        {
            var (ruleScopes, rules, times) = (new string[change.Rules.Count], new string[change.Rules.Count], new long[change.Rules.Count]);
            var i = 0;
            foreach (var (key, at) in change.Rules)
            {
                (ruleScopes[i], rules[i], times[i++]) = (key.Scope, key.Rule, at.ToUnixTimeMilliseconds());
            }

            yield return new NpgsqlBatchCommand("""
                INSERT INTO rule_usage (scope, rule, node, last_at) SELECT s, r, @node, t FROM unnest(@first, @second, @times) AS u(s, r, t)
                ON CONFLICT (scope, rule, node) DO UPDATE SET last_at = GREATEST(rule_usage.last_at, excluded.last_at)
                """)
            {
                Parameters = { Sql.Text("node", nodeId), Sql.TextArray("first", ruleScopes), Sql.TextArray("second", rules), Sql.LongArray("times", times) },
            };
        }
    }

    private static async Task<int> ExecuteAsync(NpgsqlTransaction tx, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, tx.Connection, tx);
        command.Parameters.AddRange(parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
