-- Kiln schema, version 1. Runs unchanged on PostgreSQL 15 and on PGlite.

CREATE TABLE kiln_schema (
    version      integer     NOT NULL,
    kiln_version text        NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now()
);

-- Master-wide switches such as "paused".
CREATE TABLE settings (
    key   text PRIMARY KEY,
    value jsonb NOT NULL
);

-- A build or test configuration, declared by the workers that can serve it.
CREATE TABLE targets (
    name       text PRIMARY KEY,
    ecosystem  text        NOT NULL,
    facts      jsonb       NOT NULL DEFAULT '{}',
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE packages (
    id           serial PRIMARY KEY,
    ecosystem    text        NOT NULL,
    name         text        NOT NULL,
    display_name text        NOT NULL,
    summary      text,
    skip         text,
    meta         jsonb       NOT NULL DEFAULT '{}',
    added_at     timestamptz NOT NULL DEFAULT now(),
    synced_at    timestamptz,
    sync_error   text,
    UNIQUE (ecosystem, name)
);

CREATE TABLE versions (
    id         serial PRIMARY KEY,
    package_id integer     NOT NULL REFERENCES packages ON DELETE CASCADE,
    version    text        NOT NULL,
    released   timestamptz NOT NULL,
    skip       text,
    yanked     boolean     NOT NULL DEFAULT false,
    meta       jsonb       NOT NULL DEFAULT '{}',
    UNIQUE (package_id, version)
);

-- Why a version is not built for one target (for example engines excludes it).
CREATE TABLE target_skips (
    version_id integer NOT NULL REFERENCES versions ON DELETE CASCADE,
    target     text    NOT NULL REFERENCES targets ON DELETE CASCADE,
    reason     text    NOT NULL,
    PRIMARY KEY (version_id, target)
);

-- The queue: what each target still owes, maintained as sources, results and skips change.
CREATE TABLE pending (
    target     text        NOT NULL REFERENCES targets ON DELETE CASCADE,
    version_id integer     NOT NULL REFERENCES versions ON DELETE CASCADE,
    released   timestamptz NOT NULL,
    PRIMARY KEY (target, version_id)
);
CREATE INDEX pending_order ON pending (target, released DESC);

CREATE TABLE worker_tokens (
    id           serial PRIMARY KEY,
    name         text        NOT NULL UNIQUE,
    token_hash   text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE TABLE workers (
    id           serial PRIMARY KEY,
    token_id     integer     NOT NULL REFERENCES worker_tokens ON DELETE CASCADE,
    name         text        NOT NULL,
    kiln_version text        NOT NULL,
    facts        jsonb       NOT NULL DEFAULT '{}',
    targets      text[]      NOT NULL DEFAULT '{}',
    labels       text[]      NOT NULL DEFAULT '{}',
    connected_at timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (token_id, name)
);

CREATE TABLE builds (
    id               bigserial PRIMARY KEY,
    version_id       integer     NOT NULL REFERENCES versions ON DELETE CASCADE,
    target           text        NOT NULL REFERENCES targets ON DELETE CASCADE,
    status           text        NOT NULL
        CHECK (status IN ('running', 'passed', 'failed', 'untestable', 'cancelled', 'expired')),
    worker_id        integer     REFERENCES workers ON DELETE SET NULL,
    lease_expires    timestamptz,
    cancel_requested boolean     NOT NULL DEFAULT false,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    duration_ms      integer,
    failure_reason   text,
    log_size         bigint      NOT NULL DEFAULT 0
);
CREATE INDEX builds_version_target ON builds (version_id, target);
CREATE INDEX builds_running_lease ON builds (lease_expires) WHERE status = 'running';
-- A (version, target) pair is built by at most one worker at a time.
CREATE UNIQUE INDEX builds_one_running ON builds (version_id, target) WHERE status = 'running';

CREATE TABLE artifacts (
    id          bigserial PRIMARY KEY,
    build_id    bigint      NOT NULL REFERENCES builds ON DELETE CASCADE,
    filename    text        NOT NULL,
    size        bigint      NOT NULL,
    sha256      text        NOT NULL,
    tags        jsonb       NOT NULL DEFAULT '{}',
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (build_id, filename)
);
