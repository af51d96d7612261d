-- Every spelling of a package's name seen upstream, as piwheels' package_names:
-- the one seen last is the package's display name, and the others are aliases
-- that the site links to the package's own folders. `kiln add --alias` adds
-- spellings never seen upstream, with seen = 1970 so that they never become the
-- display name. Runs unchanged on PostgreSQL 15 and on PGlite.
CREATE TABLE package_names (
    package_id integer     NOT NULL REFERENCES packages ON DELETE CASCADE,
    name       text        NOT NULL,
    seen       timestamptz NOT NULL DEFAULT '1970-01-01 00:00:00+00',
    PRIMARY KEY (package_id, name)
);

-- What a database already knows: each package's display name, seen at its last sync.
INSERT INTO package_names (package_id, name, seen)
SELECT id, display_name, COALESCE(synced_at, added_at) FROM packages;
