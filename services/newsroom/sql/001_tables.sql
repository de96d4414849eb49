-- The newsroom's own tables. `activities` is its record of each activity, folded
-- from agenda events by the consumer (in the inbox's transaction); `tasks_view`
-- is the read model of its own task events, written in the same transaction as
-- those events (services/newsroom/projections.py).

CREATE TABLE IF NOT EXISTS activities (
    activity_id   text PRIMARY KEY,
    unit_code     text NOT NULL,
    title         text NOT NULL,
    description   text NOT NULL,
    location      text,
    category      text NOT NULL,
    visibility    text NOT NULL,
    leaders       text[] NOT NULL,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    status        text NOT NULL,
    verified      boolean NOT NULL DEFAULT false,
    version       integer NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS tasks_view (
    task_id       text PRIMARY KEY,
    activity_id   text NOT NULL,
    unit_code     text NOT NULL,
    kind          text NOT NULL,
    channel       text NOT NULL,
    rule_id       text NOT NULL,
    public        boolean NOT NULL,
    title         text NOT NULL,
    brief         text NOT NULL,
    due_at        timestamptz NOT NULL,
    status        text NOT NULL,
    assignee_id   text,
    draft_text    text,
    draft_url     text,
    reviewer_id   text,
    reject_reason text,
    neutrality_override jsonb,
    published_url text,
    published_at  timestamptz,
    cancel_reason text,
    version       integer NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_view_activity ON tasks_view (activity_id);
CREATE INDEX IF NOT EXISTS tasks_view_due ON tasks_view (due_at, task_id);
CREATE INDEX IF NOT EXISTS tasks_view_status_due ON tasks_view (status, due_at);
CREATE INDEX IF NOT EXISTS tasks_view_unit_due ON tasks_view (unit_code, due_at);
