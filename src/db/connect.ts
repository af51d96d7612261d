import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import type { PGlite } from '@electric-sql/pglite';
import { KilnError } from '../errors.ts';

// bigint ids and counts fit easily in a double; strings would leak into every caller.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** Anything that runs a parameterised SQL statement: the pool itself or a client inside a transaction. */
export interface Queryable {
  /**
   * Run one statement and return its rows.
   * @param sql PostgreSQL text with `$1`… placeholders.
   * @param params values for the placeholders.
   */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** A database handle: queries, transactions and shutdown. Same interface on PGlite and PostgreSQL. */
export interface Db extends Queryable {
  /** `"embedded"` for PGlite in a data directory, `"postgres"` for a server reached by DSN. */
  readonly kind: 'embedded' | 'postgres';
  /** Human-readable location: the data directory or the DSN without its password. */
  readonly where: string;
  /** Run `fn` inside BEGIN/COMMIT; rolls back and rethrows if it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Close the pool, and for PGlite the engine and the directory lock. */
  close(): Promise<void>;
}

/**
 * Where the database lives: a PostgreSQL DSN, a PGlite data directory, or an
 * in-memory PGlite (tests), optionally loaded from a `dumpDataDir()` tarball
 * so that each test skips PGlite's 3–4 s initdb.
 */
export type DbLocation =
  /** PostgreSQL; `pool` is the most connections to open (default 10). */
  | { dsn: string; pool?: number }
  | { dataDir: string }
  | { memory: true; loadDataDir?: Blob }
  /** An engine the caller owns and closes (close() leaves it open). */
  | { pglite: PGlite };

function wrap(pool: pg.Pool): Queryable & { tx: Db['tx'] } {
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
      const res = await pool.query(sql, params);
      return res.rows as T[];
    },
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      const q: Queryable = {
        async query<R>(sql: string, params?: unknown[]): Promise<R[]> {
          return (await client.query(sql, params)).rows as R[];
        },
      };
      try {
        await client.query('BEGIN');
        const out = await fn(q);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

/** Strip the password from a DSN so it can be logged. */
export function redactDsn(dsn: string): string {
  return dsn.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * Open the database. For an embedded data directory this creates it if
 * needed and takes an exclusive lock on it first: PGlite itself takes none,
 * and two processes writing one directory corrupt it.
 *
 * @throws KilnError when another Kiln process holds the data directory, or
 *   the server cannot be reached.
 */
export async function openDb(loc: DbLocation): Promise<Db> {
  if ('dsn' in loc) {
    const pool = new pg.Pool({ connectionString: loc.dsn, max: loc.pool ?? 10 });
    pool.on('error', () => undefined);
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new KilnError(`cannot connect to ${redactDsn(loc.dsn)}: ${(err as Error).message}`);
    }
    return { kind: 'postgres', where: redactDsn(loc.dsn), ...wrap(pool), close: () => pool.end() };
  }
  if ('pglite' in loc) {
    return embedded(loc.pglite, 'pglite://caller', async () => undefined, false);
  }
  if ('memory' in loc) {
    const { PGlite } = await import('@electric-sql/pglite');
    const engine = new PGlite(loc.loadDataDir ? { loadDataDir: loc.loadDataDir } : {});
    return embedded(engine, 'memory://', async () => undefined);
  }
  const dir = loc.dataDir;
  mkdirSync(dir, { recursive: true });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      lockfilePath: join(dir, 'kiln.lock'),
      stale: 15_000,
      update: 5_000,
      onCompromised: (err) => {
        // Losing the lock means another process may now write the directory;
        // stopping is the only way to avoid corrupting it.
        process.stderr.write(`kiln: lost the lock on ${dir}: ${err.message}; stopping\n`);
        process.exit(1);
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new KilnError(
        `the database directory ${dir} is in use by another Kiln process; stop it first, or use a different --data-dir`,
      );
    }
    throw err;
  }
  const { PGlite } = await import('@electric-sql/pglite');
  try {
    return await embedded(new PGlite(join(dir, 'pgdata')), dir, release);
  } catch (err) {
    await release();
    throw err;
  }
}

async function embedded(engine: PGlite, where: string, release: () => Promise<void>, ownEngine = true): Promise<Db> {
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  await engine.waitReady;
  const pool = new pg.Pool(createPgConfig(engine) as unknown as pg.PoolConfig);
  return {
    kind: 'embedded',
    where,
    ...wrap(pool),
    async close() {
      await pool.end();
      if (ownEngine) await engine.close();
      await release();
    },
  };
}
