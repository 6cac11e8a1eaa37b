namespace Tessera.Storage.Sqlite;

/// <summary>
/// Versioned schema. Each entry moves the schema one version up and is applied once, in a
/// transaction, recorded in <c>schema_version</c>. Never edit a released migration: add one.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly string[] Steps =
    [
        // 1: audit chain, revocations, signing keys.
        """
        CREATE TABLE audit_events (
            seq        INTEGER PRIMARY KEY,
            time_ms    INTEGER NOT NULL,
            type       TEXT NOT NULL,
            agent      TEXT,
            principal  TEXT,
            mission    TEXT,
            tool       TEXT,
            json       BLOB NOT NULL,
            hash       TEXT NOT NULL
        );
        CREATE INDEX audit_events_agent ON audit_events(agent, seq) WHERE agent IS NOT NULL;
        CREATE INDEX audit_events_principal ON audit_events(principal, seq) WHERE principal IS NOT NULL;
        CREATE INDEX audit_events_mission ON audit_events(mission, seq) WHERE mission IS NOT NULL;
        CREATE INDEX audit_events_tool ON audit_events(tool, seq) WHERE tool IS NOT NULL;
        CREATE INDEX audit_events_time ON audit_events(time_ms);

        CREATE TABLE revocations (
            kind        INTEGER NOT NULL,
            id          TEXT NOT NULL,
            revoked_at  INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            PRIMARY KEY (kind, id)
        ) WITHOUT ROWID;
        CREATE INDEX revocations_expiry ON revocations(expires_at);

        CREATE TABLE signing_keys (
            kid           TEXT PRIMARY KEY,
            alg           TEXT NOT NULL,
            sealed        BLOB NOT NULL,
            created_at    INTEGER NOT NULL,
            activates_at  INTEGER NOT NULL
        );
        """,

        // 2: missions (the roots of delegation trees).
        """
        CREATE TABLE missions (
            id           TEXT PRIMARY KEY,
            principal    TEXT NOT NULL,
            idp          TEXT NOT NULL,
            actor_chain  TEXT NOT NULL,
            purpose      TEXT,
            started_at   INTEGER NOT NULL,
            expires_at   INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX missions_started ON missions(started_at);
        """,

        // 3: agent suspensions.
        """
        CREATE TABLE agent_suspensions (
            agent_id      TEXT PRIMARY KEY,
            suspended_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,

        // 4: spent client assertions, so a restart does not reopen a replay window.
        """
        CREATE TABLE used_assertions (
            key         TEXT PRIMARY KEY,
            expires_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,

        // 5: the vault (key-encryption key salts, sealed secret versions) and max_uses counters.
        """
        CREATE TABLE vault_keys (
            id          TEXT PRIMARY KEY,
            salt        BLOB NOT NULL,
            created_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE secret_versions (
            name           TEXT NOT NULL,
            version        INTEGER NOT NULL,
            created_at     INTEGER NOT NULL,
            key_id         TEXT,
            wrapped_key    BLOB,
            ciphertext     BLOB,
            retired_at     INTEGER,
            destroy_after  INTEGER,
            destroyed_at   INTEGER,
            PRIMARY KEY (name, version)
        ) WITHOUT ROWID;
        CREATE TABLE token_uses (
            jti         TEXT PRIMARY KEY,
            used        INTEGER NOT NULL,
            max_uses    INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX token_uses_expiry ON token_uses(expires_at);
        """,

        // 6: approval requests (human in the loop); json is the whole snapshot, the columns are for lookups.
        """
        CREATE TABLE approvals (
            id          TEXT PRIMARY KEY,
            status      TEXT NOT NULL,
            client_id   TEXT NOT NULL,
            created_at  INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            json        TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX approvals_status ON approvals(status, created_at);
        """,

        // 7: the audit events that add a secret version, read at every start to detect a version
        // removed from secret_versions (a rollback). Partial: costs nothing for other events.
        """
        CREATE INDEX audit_events_secret_versions ON audit_events(seq) WHERE type IN ('secret.put', 'secret.rotated');
        """,

        // 8: the posture report's usage counters, written with the audit events they count. scope ''
        // is the agent's last token of any scope (a real scope is never empty).
        """
        CREATE TABLE agent_usage (
            agent    TEXT NOT NULL,
            scope    TEXT NOT NULL,
            last_at  INTEGER NOT NULL,
            PRIMARY KEY (agent, scope)
        ) WITHOUT ROWID;
        CREATE TABLE rule_usage (
            scope    TEXT NOT NULL,
            rule     TEXT NOT NULL,
            last_at  INTEGER NOT NULL,
            PRIMARY KEY (scope, rule)
        ) WITHOUT ROWID;
        """,

        // 9: database leases. A lease is recorded (status 0, issuing) before its role exists; later
        // steps ride with their audit events. The partial index holds only leases not ended (status 3).
        """
        CREATE TABLE leases (
            id               TEXT PRIMARY KEY,
            tool             TEXT NOT NULL,
            username         TEXT NOT NULL,
            status           INTEGER NOT NULL,
            agent            TEXT NOT NULL,
            principal        TEXT,
            actor_chain      TEXT NOT NULL,
            mission          TEXT,
            purpose          TEXT,
            jti              TEXT NOT NULL,
            lineage          TEXT NOT NULL,
            token_iat        INTEGER NOT NULL,
            scopes           TEXT NOT NULL,
            created_at       INTEGER NOT NULL,
            expires_at       INTEGER NOT NULL,
            ended_at         INTEGER,
            end_reason       TEXT,
            attempts         INTEGER NOT NULL DEFAULT 0,
            next_attempt_at  INTEGER,
            last_error       TEXT,
            node             TEXT,
            claimed_by       TEXT,
            claimed_until    INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX leases_live ON leases(created_at) WHERE status <> 3;
        CREATE INDEX leases_ended ON leases(ended_at) WHERE status = 3;
        """,
    ];
}
