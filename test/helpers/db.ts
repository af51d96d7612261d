import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { openDb, type Db } from '../../src/db/connect.ts';
import { migrate } from '../../src/db/migrate.ts';
import { templatePath } from './template-path.ts';

/** Whether this run uses real PostgreSQL (`KILN_TEST_DSN` set) instead of PGlite. */
export const usingPostgres = !!process.env.KILN_TEST_DSN;

/**
 * A fresh, migrated database for one test file. On PostgreSQL
 * (`KILN_TEST_DSN=postgres://…/postgres`) a new database is created and
 * dropped on close; on PGlite the template from global-setup is loaded.
 */
export async function testDb(opts: { migrated?: boolean } = {}): Promise<Db> {
  const migrated = opts.migrated ?? true;
  const dsn = process.env.KILN_TEST_DSN;
  if (dsn) {
    const name = `kiln_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: dsn });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(dsn);
    url.pathname = `/${name}`;
    const db = await openDb({ dsn: url.toString() });
    if (migrated) await migrate(db);
    const close = db.close.bind(db);
    return {
      ...db,
      query: db.query.bind(db),
      tx: db.tx.bind(db),
      async close() {
        await close();
        const a = new pg.Client({ connectionString: dsn });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
      },
    };
  }
  if (!migrated) return openDb({ memory: true });
  const template = templatePath();
  return openDb({ memory: true, loadDataDir: new Blob([readFileSync(template)]) });
}
