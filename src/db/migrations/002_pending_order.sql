-- The claim probes each target's queue with ORDER BY released DESC,
-- version_id DESC LIMIT 1; an index in exactly that order makes each probe
-- one index step instead of a sort of the whole queue.
DROP INDEX pending_order;
CREATE INDEX pending_order ON pending (target, released DESC, version_id DESC);
