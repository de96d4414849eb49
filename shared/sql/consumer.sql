-- Consumer-side mechanism tables (shared/consumer.py): inbox, per-stream order,
-- held events and the errors of messages that went to the DLQ (DESIGN §5).
CREATE TABLE IF NOT EXISTS inbox (
    event_id     uuid PRIMARY KEY,
    source       text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS stream_state (
    source        text NOT NULL,
    stream_id     text NOT NULL,
    last_sequence integer NOT NULL DEFAULT 0,
    PRIMARY KEY (source, stream_id)
);

CREATE TABLE IF NOT EXISTS held_events (
    source     text NOT NULL,
    stream_id  text NOT NULL,
    sequence   integer NOT NULL,
    body       jsonb NOT NULL,
    held_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, stream_id, sequence)
);

CREATE TABLE IF NOT EXISTS message_errors (
    message_id   text PRIMARY KEY,
    queue        text NOT NULL,
    routing_key  text,
    error        text NOT NULL,
    permanent    boolean NOT NULL,
    attempts     integer NOT NULL DEFAULT 1,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now()
);

-- How far a consumer has read the producer's history feed at start-up
-- (shared/consumer.py catch_up): events that went out before this consumer's
-- queue existed are read from the feed instead of being lost.
CREATE TABLE IF NOT EXISTS catchup_checkpoints (
    source     text PRIMARY KEY,
    epoch      text NOT NULL,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
