import { readdirSync, readFileSync } from 'node:fs';
import { SchemaVersionError } from '../errors.ts';
import { KILN_VERSION, SCHEMA_VERSION } from '../version.ts';
import type { Db, Queryable } from './connect.ts';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/** One numbered migration file, `NNN_name.sql`. */
export interface Migration {
  /** The number at the start of the file name. */
  version: number;
  /** The file name. */
  file: string;
  /** The SQL text. */
  sql: string;
}

/** The migrations shipped with this Kiln, in ascending order. */
export function listMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number.parseInt(file, 10),
      file,
      sql: readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8'),
    }));
}

/** The schema version recorded in the database, or 0 for an empty database. */
export async function schemaVersion(q: Queryable): Promise<number> {
  const exists = await q.query<{ t: string | null }>(`SELECT to_regclass('kiln_schema')::text AS t`);
  if (!exists[0]?.t) return 0;
  const rows = await q.query<{ v: number | null }>('SELECT max(version) AS v FROM kiln_schema');
  return rows[0]?.v ?? 0;
}

/**
 * Create or upgrade the schema (`kiln initdb`). Each migration runs in its
 * own transaction together with the row that records it, so a crash leaves
 * the schema at a recorded version.
 *
 * @returns the versions before and after.
 * @throws SchemaVersionError when the database is newer than this Kiln.
 */
export async function migrate(db: Db): Promise<{ from: number; to: number }> {
  const from = await schemaVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new SchemaVersionError(
      `database schema is version ${from}, newer than this Kiln (${KILN_VERSION}, schema ${SCHEMA_VERSION}); upgrade Kiln`,
    );
  }
  for (const m of listMigrations()) {
    if (m.version <= from) continue;
    await db.tx(async (q) => {
      await q.query(m.sql);
      await q.query('INSERT INTO kiln_schema (version, kiln_version) VALUES ($1, $2)', [m.version, KILN_VERSION]);
    });
  }
  return { from, to: await schemaVersion(db) };
}

/**
 * Refuse to run against a schema other than this Kiln's own.
 * @throws SchemaVersionError naming the fix: `kiln initdb` for an older (or
 *   missing) schema, a newer Kiln for a newer one.
 */
export async function assertSchemaCurrent(db: Queryable): Promise<void> {
  const v = await schemaVersion(db);
  if (v < SCHEMA_VERSION) {
    throw new SchemaVersionError(
      v === 0
        ? 'the database has no Kiln schema; run kiln initdb'
        : `database schema is version ${v}, older than this Kiln's ${SCHEMA_VERSION}; run kiln initdb`,
    );
  }
  if (v > SCHEMA_VERSION) {
    throw new SchemaVersionError(
      `database schema is version ${v}, newer than this Kiln's ${SCHEMA_VERSION}; upgrade Kiln`,
    );
  }
}
