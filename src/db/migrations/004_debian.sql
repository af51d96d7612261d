-- Debian install testing (piuparts). Runs unchanged on PostgreSQL 15 and on PGlite.

-- The queue gains a priority: Debian hands out the packages most others wait
-- on first (piuparts' reserve order). Other ecosystems leave it at 0, so their
-- order (newest release first) is unchanged. The claim probes each target's
-- queue in exactly this order.
ALTER TABLE pending ADD COLUMN priority double precision NOT NULL DEFAULT 0;
DROP INDEX pending_order;
CREATE INDEX pending_order ON pending (target, priority DESC, released DESC, version_id DESC);

-- Marks on a Debian result (piuparts' recycle/ directory and its expiry):
-- `retest`: the result still counts, but the package is queued to be tested
-- again after every untested package; `expired`: the result no longer
-- counts (an old retest mark, an untestable result past
-- reschedule-untestable-days, an infrastructure failure).
CREATE TABLE debian_marks (
    build_id  bigint      PRIMARY KEY REFERENCES builds ON DELETE CASCADE,
    kind      text        NOT NULL CHECK (kind IN ('retest', 'expired')),
    reason    text        NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now()
);

-- State counts per section and day (piuparts-report's counts.txt).
CREATE TABLE debian_counts (
    section text  NOT NULL,
    day     date  NOT NULL,
    counts  jsonb NOT NULL,
    PRIMARY KEY (section, day)
);

-- Known problems found in a result's log, as the log arrived.
CREATE TABLE debian_log_problems (
    build_id bigint NOT NULL REFERENCES builds ON DELETE CASCADE,
    problem  text   NOT NULL,
    PRIMARY KEY (build_id, problem)
);
