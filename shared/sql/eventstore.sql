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

-- Appends a batch of commands in one transaction. Each command runs in its own
-- subtransaction (the EXCEPTION block is a savepoint), so a conflict fails only
-- that command. The advisory lock, held until commit, makes commit order equal
-- position order: a follower reading "everything after P" can never see P+1
-- while P is still uncommitted (DESIGN §3). One NOTIFY per batch.
CREATE OR REPLACE FUNCTION simalik_append(batch jsonb, channel text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    cmd       jsonb;
    ev        jsonb;
    results   jsonb := '[]'::jsonb;
    current_v integer;
    next_v    integer;
    pos       bigint;
    positions bigint[];
    ts        timestamptz;
    appended  boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(7134001);
    ts := clock_timestamp();
    FOR cmd IN SELECT value FROM jsonb_array_elements(batch) LOOP
        current_v := NULL;
        BEGIN
            IF jsonb_typeof(cmd->'idempotency') = 'object' THEN
                INSERT INTO idempotency_keys (key, request_hash, status, response)
                VALUES (cmd->'idempotency'->>'key', cmd->'idempotency'->>'request_hash',
                        (cmd->'idempotency'->>'status')::integer, cmd->'idempotency'->'response')
                ON CONFLICT (key) DO NOTHING;
                IF NOT FOUND THEN
                    results := results || jsonb_build_array(jsonb_build_object('status', 'idempotent'));
                    CONTINUE;
                END IF;
            END IF;

            SELECT coalesce(max(version), 0) INTO current_v FROM events WHERE stream_id = cmd->>'stream_id';
            IF current_v <> (cmd->>'expected_version')::integer THEN
                -- Only on this path can it be a re-append of stored events; checking
                -- here keeps the common path to two index look-ups.
                IF simalik_all_stored(cmd->'events') THEN
                    results := results || jsonb_build_array(jsonb_build_object('status', 'duplicate'));
                    CONTINUE;
                END IF;
                RAISE EXCEPTION 'version conflict' USING ERRCODE = 'SM409';
            END IF;

            next_v := current_v;
            positions := '{}';
            FOR ev IN SELECT value FROM jsonb_array_elements(cmd->'events') LOOP
                next_v := next_v + 1;
                INSERT INTO events (stream_id, version, event_id, type, schema_version, recorded_at, data, metadata)
                VALUES (cmd->>'stream_id', next_v, (ev->>'event_id')::uuid, ev->>'type',
                        (ev->>'schema_version')::integer, ts, ev->'data', ev->'metadata')
                RETURNING position INTO pos;
                positions := positions || pos;
            END LOOP;
            results := results || jsonb_build_array(jsonb_build_object(
                'status', 'ok', 'version', next_v, 'positions', to_jsonb(positions), 'recorded_at', ts));
            appended := true;
        EXCEPTION
            WHEN SQLSTATE 'SM409' THEN
                results := results || jsonb_build_array(jsonb_build_object('status', 'conflict', 'actual', current_v));
            WHEN unique_violation THEN
                -- The same event ids, appended to another stream or at a matching version.
                IF simalik_all_stored(cmd->'events') THEN
                    results := results || jsonb_build_array(jsonb_build_object('status', 'duplicate'));
                ELSE
                    results := results || jsonb_build_array(jsonb_build_object('status', 'conflict', 'actual', current_v));
                END IF;
        END;
    END LOOP;
    IF appended AND channel IS NOT NULL THEN
        PERFORM pg_notify(channel, '');
    END IF;
    RETURN results;
END;
$$;
