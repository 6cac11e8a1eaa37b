namespace Tessera.Storage.Postgres;

/// <summary>
/// Versioned schema. Each entry moves the schema one version up and is applied once, in its own
/// transaction, recorded in <c>schema_migrations</c>. Never edit a released migration: add one.
/// Times are Unix milliseconds in <c>bigint</c>, as in the SQLite store, so both hold the same values
/// and a copy between them is exact.
/// </summary>
internal static class PostgresMigrations
{
    public static readonly string[] Steps =
    [
        // 1: everything the SQLite store holds, in one step (this store starts at the SQLite schema's
        // version 7).
        //
        // The audit log is one hash chain per node: (node, seq) is the key, so several nodes append
        // without a global lock or a global sequence, each continuing its own chain, and a second
        // writer on one node's chain (two processes configured with the same node id) fails on the
        // key instead of forking the chain.
        //
        // used_assertions is a logged table, not UNLOGGED: an unlogged table is emptied after a crash
        // and not replicated to a standby, so a crash or failover would reopen the replay window of
        // every assertion still valid; and the row is written in the transaction of its audit event,
        // which is logged and flushed anyway, so unlogging it would save only its few bytes of WAL.
        """
        CREATE TABLE audit_events (
            node       text NOT NULL,
            seq        bigint NOT NULL,
            time_ms    bigint NOT NULL,
            type       text NOT NULL,
            agent      text,
            principal  text,
            mission    text,
            tool       text,
            json       bytea NOT NULL,
            hash       text NOT NULL,
            PRIMARY KEY (node, seq)
        );
        CREATE INDEX audit_events_agent ON audit_events (agent, node, seq) WHERE agent IS NOT NULL;
        CREATE INDEX audit_events_principal ON audit_events (principal, node, seq) WHERE principal IS NOT NULL;
        CREATE INDEX audit_events_mission ON audit_events (mission, node, seq) WHERE mission IS NOT NULL;
        CREATE INDEX audit_events_tool ON audit_events (tool, node, seq) WHERE tool IS NOT NULL;
        CREATE INDEX audit_events_time ON audit_events (time_ms);
        CREATE INDEX audit_events_secret_versions ON audit_events (node, seq) WHERE type IN ('secret.put', 'secret.rotated');

        CREATE TABLE revocations (
            kind        integer NOT NULL,
            id          text NOT NULL,
            revoked_at  bigint NOT NULL,
            expires_at  bigint NOT NULL,
            PRIMARY KEY (kind, id)
        );
        CREATE INDEX revocations_expiry ON revocations (expires_at);

        CREATE TABLE signing_keys (
            kid           text PRIMARY KEY,
            alg           text NOT NULL,
            sealed        bytea NOT NULL,
            created_at    bigint NOT NULL,
            activates_at  bigint NOT NULL
        );

        CREATE TABLE missions (
            id           text PRIMARY KEY,
            principal    text NOT NULL,
            idp          text NOT NULL,
            actor_chain  text NOT NULL,
            purpose      text,
            started_at   bigint NOT NULL,
            expires_at   bigint NOT NULL
        );
        CREATE INDEX missions_started ON missions (started_at);

        CREATE TABLE agent_suspensions (
            agent_id      text PRIMARY KEY,
            suspended_at  bigint NOT NULL
        );

        CREATE TABLE used_assertions (
            key         text PRIMARY KEY,
            expires_at  bigint NOT NULL
        );
        CREATE INDEX used_assertions_expiry ON used_assertions (expires_at);

        CREATE TABLE vault_keys (
            id          text PRIMARY KEY,
            salt        bytea NOT NULL,
            created_at  bigint NOT NULL
        );
        CREATE TABLE secret_versions (
            name           text NOT NULL,
            version        integer NOT NULL,
            created_at     bigint NOT NULL,
            key_id         text,
            wrapped_key    bytea,
            ciphertext     bytea,
            retired_at     bigint,
            destroy_after  bigint,
            destroyed_at   bigint,
            PRIMARY KEY (name, version)
        );

        CREATE TABLE token_uses (
            jti         text PRIMARY KEY,
            used        integer NOT NULL,
            max_uses    integer NOT NULL,
            expires_at  bigint NOT NULL
        );
        CREATE INDEX token_uses_expiry ON token_uses (expires_at);

        CREATE TABLE approvals (
            id          text PRIMARY KEY,
            status      text NOT NULL,
            client_id   text NOT NULL,
            created_at  bigint NOT NULL,
            expires_at  bigint NOT NULL,
            json        text NOT NULL
        );
        CREATE INDEX approvals_status ON approvals (status, created_at);
        """,

        // 2: the change log that nodes read to apply each other's state changes (ClusterSync). An
        // entry is inserted in the transaction of the state change it announces, under a
        // transaction-scoped advisory lock, so ids become visible in ascending order: a reader that
        // saw id n never later finds a smaller id committed (a bigserial alone does not promise
        // that: two transactions may commit in the other order than they drew their ids).
        """
        CREATE TABLE changes (
            id          bigserial PRIMARY KEY,
            kind        integer NOT NULL,
            key         text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );

        -- The highest id ever pruned: a node whose last applied id is below it missed entries.
        CREATE TABLE changes_pruned (
            one      boolean PRIMARY KEY DEFAULT true CHECK (one),
            through  bigint NOT NULL
        );
        INSERT INTO changes_pruned (through) VALUES (0);
        """,

        // 3: the posture report's usage counters, written with the audit events they count. One row
        // per node, so nodes never wait on each other's row locks; a report takes the latest. scope ''
        // is the agent's last token of any scope (a real scope is never empty).
        """
        CREATE TABLE agent_usage (
            agent    text NOT NULL,
            scope    text NOT NULL,
            node     text NOT NULL,
            last_at  bigint NOT NULL,
            PRIMARY KEY (agent, scope, node)
        );
        CREATE TABLE rule_usage (
            scope    text NOT NULL,
            rule     text NOT NULL,
            node     text NOT NULL,
            last_at  bigint NOT NULL,
            PRIMARY KEY (scope, rule, node)
        );
        """,

        // 4: database leases, as the SQLite store's migration 9: a lease is recorded (status 0,
        // issuing) before its role exists; later steps ride with their audit events. The partial
        // indexes hold the leases not ended (status 3) and the ended ones pruning looks for. A claim
        // (claimed_by until claimed_until) is the node ending the lease, so one node ends each.
        """
        CREATE TABLE leases (
            id               text PRIMARY KEY,
            tool             text NOT NULL,
            username         text NOT NULL,
            status           integer NOT NULL,
            agent            text NOT NULL,
            principal        text,
            actor_chain      text NOT NULL,
            mission          text,
            purpose          text,
            jti              text NOT NULL,
            lineage          text NOT NULL,
            token_iat        bigint NOT NULL,
            scopes           text NOT NULL,
            created_at       bigint NOT NULL,
            expires_at       bigint NOT NULL,
            ended_at         bigint,
            end_reason       text,
            attempts         integer NOT NULL DEFAULT 0,
            next_attempt_at  bigint,
            last_error       text,
            node             text,
            claimed_by       text,
            claimed_until    bigint
        );
        CREATE INDEX leases_live ON leases (created_at) WHERE status <> 3;
        CREATE INDEX leases_ended ON leases (ended_at) WHERE status = 3;
        """,

        // 5: which configuration each node runs (NodeStatus): one row per node, replaced at each of
        // its reports (every 30 s and after a reload). A node that stopped keeps its last row, which
        // readers leave out once it is older than NodeStatus.Gone. The embedded store has no such
        // table (one node by construction), so a copy brings none.
        """
        CREATE TABLE node_status (
            node         text PRIMARY KEY,
            config_hash  text NOT NULL,
            loaded_at    bigint NOT NULL,
            seen_at      bigint NOT NULL
        );
        """,
    ];
}
