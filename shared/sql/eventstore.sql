-- The event store: one append-only table per service database (DESIGN §3).
CREATE TABLE IF NOT EXISTS events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id       text        NOT NULL,
    version         integer     NOT NULL CHECK (version > 0),
    event_id        uuid        NOT NULL UNIQUE,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    recorded_at     timestamptz NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    UNIQUE (stream_id, version)
);

-- The epoch names this copy of the store; a restored backup must get a new one
-- (`python -m services.<name> new-epoch`), so followers reset instead of skipping.
CREATE TABLE IF NOT EXISTS store_meta (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    epoch      uuid        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO store_meta (epoch) VALUES (gen_random_uuid()) ON CONFLICT DO NOTHING;

-- First responses of POSTs sent with an Idempotency-Key, written in the same
-- transaction as the events they produced.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key           text PRIMARY KEY,
    request_hash  text        NOT NULL,
    status        integer     NOT NULL,
    response      jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS relay_checkpoints (
    name        text PRIMARY KEY,
    position    bigint      NOT NULL DEFAULT 0,
    epoch       uuid,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION simalik_all_stored(evs jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT count(*) = jsonb_array_length(evs) AND count(*) > 0 FROM events
     WHERE event_id = ANY (ARRAY(SELECT (e->>'event_id')::uuid FROM jsonb_array_elements(evs) e));
$$;

-- Appends one command at `ts`. A version conflict is found by looking, before
-- anything is written, so it needs no rollback; it returns a status instead.
CREATE OR REPLACE FUNCTION simalik_append_one(cmd jsonb, ts timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    current_v integer;
    next_v    integer;
    pos       bigint;
    positions bigint[] := '{}';
    ev        jsonb;
BEGIN
    -- A retried request (same Idempotency-Key) gets the first response, even when
    -- the first one has moved the stream past the version the retry expects.
    IF jsonb_typeof(cmd->'idempotency') = 'object' AND EXISTS (
            SELECT 1 FROM idempotency_keys WHERE key = cmd->'idempotency'->>'key') THEN
        RETURN jsonb_build_object('status', 'idempotent');
    END IF;
    SELECT coalesce(max(version), 0) INTO current_v FROM events WHERE stream_id = cmd->>'stream_id';
    IF current_v <> (cmd->>'expected_version')::integer THEN
        IF simalik_all_stored(cmd->'events') THEN
            RETURN jsonb_build_object('status', 'duplicate');
        END IF;
        RETURN jsonb_build_object('status', 'conflict', 'actual', current_v);
    END IF;
    IF jsonb_typeof(cmd->'idempotency') = 'object' THEN
        INSERT INTO idempotency_keys (key, request_hash, status, response)
        VALUES (cmd->'idempotency'->>'key', cmd->'idempotency'->>'request_hash',
                (cmd->'idempotency'->>'status')::integer, cmd->'idempotency'->'response')
        ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
            RETURN jsonb_build_object('status', 'idempotent');
        END IF;
    END IF;
    next_v := current_v;
    FOR ev IN SELECT value FROM jsonb_array_elements(cmd->'events') LOOP
        next_v := next_v + 1;
        INSERT INTO events (stream_id, version, event_id, type, schema_version, recorded_at, data, metadata)
        VALUES (cmd->>'stream_id', next_v, (ev->>'event_id')::uuid, ev->>'type',
                (ev->>'schema_version')::integer, ts, ev->'data', ev->'metadata')
        RETURNING position INTO pos;
        positions := positions || pos;
    END LOOP;
    RETURN jsonb_build_object('status', 'ok', 'version', next_v, 'positions', to_jsonb(positions),
                              'recorded_at', ts);
END;
$$;

-- The same inside its own savepoint (an EXCEPTION block is one), so a command
-- that fails on a constraint fails alone.
CREATE OR REPLACE FUNCTION simalik_append_one_isolated(cmd jsonb, ts timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN simalik_append_one(cmd, ts);
EXCEPTION WHEN unique_violation THEN
    IF simalik_all_stored(cmd->'events') THEN
        RETURN jsonb_build_object('status', 'duplicate');
    END IF;
    RETURN jsonb_build_object('status', 'conflict', 'actual',
        (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = cmd->>'stream_id'));
END;
$$;

CREATE OR REPLACE FUNCTION simalik_append_all(batch jsonb, ts timestamptz, isolated boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    cmd     jsonb;
    results jsonb := '[]'::jsonb;
BEGIN
    FOR cmd IN SELECT value FROM jsonb_array_elements(batch) LOOP
        IF isolated THEN
            results := results || jsonb_build_array(simalik_append_one_isolated(cmd, ts));
        ELSE
            results := results || jsonb_build_array(simalik_append_one(cmd, ts));
        END IF;
    END LOOP;
    RETURN results;
END;
$$;

-- The common case as one statement: every stream and idempotency key appears
-- once in the batch. Conflicts and duplicates are statuses, as above; the
-- events of all accepted commands go in with one INSERT, in batch order.
CREATE OR REPLACE FUNCTION simalik_append_set(batch jsonb, ts timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    results jsonb;
BEGIN
-- PL/pgSQL, not SQL: its statements keep their plans between calls.
WITH cmds AS (
    SELECT t.i, t.c, t.c->>'stream_id' AS sid, (t.c->>'expected_version')::integer AS expected,
           coalesce((SELECT max(e.version) FROM events e WHERE e.stream_id = t.c->>'stream_id'), 0)
               AS current_v
      FROM jsonb_array_elements(batch) WITH ORDINALITY AS t(c, i)
), keyed AS (
    INSERT INTO idempotency_keys (key, request_hash, status, response)
    SELECT c->'idempotency'->>'key', c->'idempotency'->>'request_hash',
           (c->'idempotency'->>'status')::integer, c->'idempotency'->'response'
      FROM cmds WHERE current_v = expected AND jsonb_typeof(c->'idempotency') = 'object'
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), accepted AS (
    SELECT * FROM cmds
     WHERE current_v = expected
       AND (jsonb_typeof(c->'idempotency') IS DISTINCT FROM 'object'
            OR c->'idempotency'->>'key' IN (SELECT key FROM keyed))
), inserted AS (
    INSERT INTO events (stream_id, version, event_id, type, schema_version, recorded_at, data, metadata)
    SELECT a.sid, a.current_v + e.n, (e.ev->>'event_id')::uuid, e.ev->>'type',
           (e.ev->>'schema_version')::integer, ts, e.ev->'data', e.ev->'metadata'
      FROM accepted a, jsonb_array_elements(a.c->'events') WITH ORDINALITY AS e(ev, n)
     ORDER BY a.i, e.n
    RETURNING position, stream_id, version
)
SELECT coalesce(jsonb_agg(
    CASE
        -- Keys stored before this statement (its own inserts are not visible here).
        WHEN jsonb_typeof(m.c->'idempotency') = 'object' AND EXISTS (
                SELECT 1 FROM idempotency_keys k WHERE k.key = m.c->'idempotency'->>'key') THEN
            jsonb_build_object('status', 'idempotent')
        WHEN m.current_v <> m.expected THEN
            CASE WHEN simalik_all_stored(m.c->'events') THEN jsonb_build_object('status', 'duplicate')
                 ELSE jsonb_build_object('status', 'conflict', 'actual', m.current_v) END
        WHEN m.i NOT IN (SELECT i FROM accepted) THEN jsonb_build_object('status', 'idempotent')
        ELSE jsonb_build_object(
            'status', 'ok', 'version', m.current_v + jsonb_array_length(m.c->'events'),
            'positions', (SELECT jsonb_agg(x.position ORDER BY x.version) FROM inserted x
                           WHERE x.stream_id = m.sid),
            'recorded_at', ts)
    END ORDER BY m.i), '[]'::jsonb)
  INTO results
  FROM cmds m;
RETURN results;
END;
$$;

CREATE OR REPLACE FUNCTION simalik_batch_is_set(batch jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT count(DISTINCT c->>'stream_id') = count(*)
       AND count(DISTINCT c->'idempotency'->>'key') = count(c->'idempotency'->>'key')
      FROM jsonb_array_elements(batch) c;
$$;

-- Appends a batch of commands in one transaction; a conflict fails only its own
-- command. The advisory lock, held until commit, makes commit order equal
-- position order: a follower reading "everything after P" can never see P+1
-- while P is still uncommitted (DESIGN §3). One NOTIFY per batch.
--
-- Version conflicts are found before writing, so the batch normally runs with
-- one savepoint in all, and as one INSERT when no stream or key repeats; only
-- when a constraint fails (an event id already stored under another stream) is
-- it redone with a savepoint per command.
-- docs/decisions/0004 has the measurements.
CREATE OR REPLACE FUNCTION simalik_append(batch jsonb, channel text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    ts      timestamptz;
    results jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock(7134001);
    ts := clock_timestamp();
    BEGIN
        -- Small batches are cheaper command by command (less planning work).
        IF jsonb_array_length(batch) >= 8 AND simalik_batch_is_set(batch) THEN
            results := simalik_append_set(batch, ts);
        ELSE
            results := simalik_append_all(batch, ts, false);
        END IF;
    EXCEPTION WHEN unique_violation THEN
        results := simalik_append_all(batch, ts, true);
    END;
    IF channel IS NOT NULL AND results @> '[{"status": "ok"}]' THEN
        PERFORM pg_notify(channel, '');
    END IF;
    RETURN results;
END;
$$;
