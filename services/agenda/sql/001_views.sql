-- The agenda's read models, written in the same transaction as the events
-- (services/agenda/projections.py), and its table of people.

-- Contact details are personal data (UU PDP 27/2022): they live here, where they
-- can be corrected and erased, and events carry only the id.
CREATE TABLE IF NOT EXISTS people (
    id         text PRIMARY KEY,
    name       text,
    phone      text,
    email      text,
    role       text NOT NULL,
    unit_code  text,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz
);

CREATE TABLE IF NOT EXISTS units_view (
    code            text PRIMARY KEY,
    name            text NOT NULL,
    kind            text NOT NULL,
    parent_code     text,
    active_from     date NOT NULL,
    active_until    date,
    pic_id          text,
    verifikator_id  text,
    deactivated     boolean NOT NULL DEFAULT false,
    version         integer NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS activities_view (
    activity_id       text PRIMARY KEY,
    unit_code         text NOT NULL,
    title             text NOT NULL,
    description       text NOT NULL,
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    location          text,
    category          text NOT NULL,
    visibility        text NOT NULL,
    leaders           text[] NOT NULL,
    contact_id        text,
    prognosis_item_id text,
    status            text NOT NULL,
    verified          boolean NOT NULL DEFAULT false,
    cancel_reason     text,
    documentation_links jsonb NOT NULL DEFAULT '[]',
    origin            text NOT NULL,
    version           integer NOT NULL,
    recorded_at       timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_view_unit_start ON activities_view (unit_code, starts_at);
CREATE INDEX IF NOT EXISTS activities_view_start ON activities_view (starts_at);

CREATE TABLE IF NOT EXISTS prognoses_view (
    unit_code     text NOT NULL,
    year          integer NOT NULL,
    revision      integer NOT NULL,
    items         jsonb NOT NULL,
    first_submitted_at timestamptz NOT NULL,
    submitted_at  timestamptz NOT NULL,
    version       integer NOT NULL,
    PRIMARY KEY (unit_code, year)
);
