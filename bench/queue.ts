/**
 * Queue query time at scale, on PostgreSQL: bulk-load a synthetic database
 * (packages, versions with release times, 3 targets, builds for the versions
 * already built, pending rows for the rest) with `INSERT … SELECT
 * generate_series`, then time `claimBuild` (inside a transaction that is
 * rolled back, so every run sees the same data) and `peekQueue(target, 1000)`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db, type Queryable } from '../src/db/connect.ts';
import { migrate } from '../src/db/migrate.ts';
import { claimBuild } from '../src/db/queries/builds.ts';
import { peekQueue, queueLengths } from '../src/db/queries/pending.ts';
import { totals } from '../src/db/queries/stats.ts';
import { masterSchema } from '../src/config/schema.ts';
import { silentLogger } from '../src/log.ts';
import type { MasterContext } from '../src/master/context.ts';
import { publishHome } from '../src/master/publisher.ts';
import { createScratchDb, type ScratchDb } from './postgres.ts';
import { median, percentile, round } from './stats.ts';

/** Scale and repetition of the queue benchmark. */
export interface QueueOptions {
  /** `postgres` (a scratch database on `adminDsn`) or `pglite` (a data directory in a temp dir; opt-in, slow to load). */
  db: 'postgres' | 'pglite';
  /** Maintenance DSN of the PostgreSQL server (required for `postgres`). */
  adminDsn?: string;
  /** Packages (default 200 000). */
  packages: number;
  /** Versions per package (default 10). */
  versionsPerPackage: number;
  /** Percentage of (version, target) pairs not built yet, hence pending (default 15). */
  pendingPct: number;
  /** Timed runs per query (default 20), after 2 untimed warm-up runs. */
  runs: number;
  /**
   * Timed runs of the home-page work (totals, queueLengths, publishHome;
   * default 1, 0 to skip). totals and queueLengths get one warm-up run
   * first; publishHome (tens of seconds at full scale) none.
   */
  homeRuns: number;
}

/** Timings of one query, milliseconds. */
export interface QueryTiming {
  /** What was timed, e.g. `claim bench-t1` or `peekQueue(bench-t2, 1000)`. */
  query: string;
  /** Rows returned by the last run. */
  rows: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

/** Figures of the queue benchmark. */
export interface QueueResult {
  db: 'postgres' | 'pglite';
  /** Row counts actually loaded. */
  scale: { packages: number; versions: number; targets: number; builds: number; pending: number };
  /** Wall time of each load step and in all, seconds. */
  loadS: Record<string, number>;
  /** Whether FK triggers were skipped during the load (session_replication_role = replica needs a superuser). */
  fastLoad: boolean;
  /** Database size after the load, MB. */
  sizeMb: number;
  timings: QueryTiming[];
  /** Main lines of the claim's plan (EXPLAIN ANALYZE, rolled back), for a one-target and the all-targets claim. */
  plans: Record<string, string[]>;
}

/** The three synthetic targets of the queue benchmark. */
export const QUEUE_TARGETS = ['bench-t1', 'bench-t2', 'bench-t3'];

const ROLLBACK = Symbol('rollback');

/**
 * Kiln's claim before migration 2, kept to show what the per-target probe
 * bought: one `target = ANY(...)` scan, which PostgreSQL answers by reading
 * and sorting every pending row of those targets.
 */
export const PREVIOUS_CLAIM_SQL = `WITH next AS (
       SELECT target, version_id FROM pending
       WHERE target = ANY($2::text[])
       ORDER BY released DESC, version_id DESC
       LIMIT 1
       FOR UPDATE SKIP LOCKED
     ), taken AS (
       DELETE FROM pending p USING next
       WHERE p.target = next.target AND p.version_id = next.version_id
       RETURNING p.target, p.version_id
     )
     INSERT INTO builds (version_id, target, status, worker_id, lease_expires)
     SELECT version_id, target, 'running', $1, now() + make_interval(secs => $3) FROM taken
     RETURNING id`;

/** Run `fn` in a transaction that is always rolled back; @returns its value and the ms it took (BEGIN/ROLLBACK excluded). */
async function rolledBack<T>(db: Db, fn: (q: Queryable) => Promise<T>): Promise<{ value: T; ms: number }> {
  let out: { value: T; ms: number } | undefined;
  try {
    await db.tx(async (q) => {
      const t0 = performance.now();
      const value = await fn(q);
      out = { value, ms: performance.now() - t0 };
      throw ROLLBACK;
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
  return out!;
}

async function step(loadS: Record<string, number>, name: string, q: Queryable, sql: string, params: unknown[] = []): Promise<void> {
  const t0 = performance.now();
  await q.query(sql, params);
  loadS[name] = round((performance.now() - t0) / 1000, 2);
}

/**
 * Load the synthetic rows. Release times are spread pseudo-randomly over
 * about ten years; a (version, target) pair is pending when a hash of the
 * two falls under `pendingPct`, otherwise it has one build (10 % failed,
 * the rest passed). Needs an empty, migrated database.
 * @returns wall time of each step and in all, seconds; and whether FK
 *   triggers could be skipped (superuser only).
 */
export async function loadSynthetic(db: Db, o: Pick<QueueOptions, 'packages' | 'versionsPerPackage' | 'pendingPct'>): Promise<{ loadS: Record<string, number>; fastLoad: boolean }> {
  const loadS: Record<string, number> = {};
  const t0 = performance.now();
  const fastLoad = await db.tx(async (q) => {
    // Skipping per-row FK triggers makes the load several times faster; the data is consistent by construction.
    let fast = true;
    await q.query('SAVEPOINT s');
    try {
      await q.query(`SET LOCAL session_replication_role = replica`);
    } catch {
      await q.query('ROLLBACK TO SAVEPOINT s');
      fast = false;
    }
    await q.query(`SET LOCAL synchronous_commit = off`);
    await q.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    await q.query(`INSERT INTO targets (name, ecosystem, facts) SELECT unnest($1::text[]), 'bench', '{}'`, [QUEUE_TARGETS]);
    await q.query(`INSERT INTO worker_tokens (name, token_hash) VALUES ('bench', 'bench')`);
    await q.query(`INSERT INTO workers (token_id, name, kiln_version, targets) SELECT id, 'bench', 'bench', $1 FROM worker_tokens`, [QUEUE_TARGETS]);
    await step(loadS, 'packages', q,
      `INSERT INTO packages (ecosystem, name, display_name)
       SELECT 'bench', 'pkg-' || i, 'pkg-' || i FROM generate_series(1, $1::int) i`, [o.packages]);
    await step(loadS, 'versions', q,
      `INSERT INTO versions (package_id, version, released)
       SELECT p.id, '1.' || j || '.0',
              timestamptz '2015-01-01' + make_interval(secs => (abs(hashint8(p.id::bigint * 1000 + j)::bigint) % 315360000)::double precision)
       FROM packages p CROSS JOIN generate_series(1, $1::int) j
       ORDER BY p.id, j`, [o.versionsPerPackage]);
    await step(loadS, 'builds', q,
      `INSERT INTO builds (version_id, target, status, started_at, finished_at, duration_ms, log_size)
       SELECT v.id, t.name,
              CASE WHEN abs(hashint4(v.id)::bigint) % 10 = 0 THEN 'failed' ELSE 'passed' END,
              v.released + interval '1 hour', v.released + interval '1 hour 2 minutes', 120000, 4096
       FROM versions v CROSS JOIN unnest($1::text[]) WITH ORDINALITY AS t(name, k)
       WHERE abs(hashint8(v.id::bigint * 8 + t.k)::bigint) % 100 >= $2
       ORDER BY v.id, t.k`, [QUEUE_TARGETS, o.pendingPct]);
    await step(loadS, 'pending', q,
      `INSERT INTO pending (target, version_id, released)
       SELECT t.name, v.id, v.released
       FROM versions v CROSS JOIN unnest($1::text[]) WITH ORDINALITY AS t(name, k)
       WHERE abs(hashint8(v.id::bigint * 8 + t.k)::bigint) % 100 < $2`, [QUEUE_TARGETS, o.pendingPct]);
    return fast;
  });
  // A long-running database has been vacuumed and analysed by autovacuum; do it now so plans and visibility match that.
  const t1 = performance.now();
  for (const t of ['packages', 'versions', 'pending', 'targets', 'workers']) await db.query(`VACUUM (ANALYZE) ${t}`);
  await db.query('ANALYZE builds');
  loadS.vacuumAnalyze = round((performance.now() - t1) / 1000, 2);
  await db.query('CHECKPOINT').catch(() => undefined);
  loadS.total = round((performance.now() - t0) / 1000, 2);
  return { loadS, fastLoad };
}

async function timeQuery(name: string, runs: number, once: () => Promise<{ rows: number; ms: number }>, warm = 2): Promise<QueryTiming> {
  for (let i = 0; i < warm; i++) await once();
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const r = await once();
    ms.push(r.ms);
    rows = r.rows;
  }
  return {
    query: name,
    rows,
    medianMs: round(median(ms), 3),
    p90Ms: round(percentile(ms, 90), 3),
    minMs: round(Math.min(...ms), 3),
    maxMs: round(Math.max(...ms), 3),
  };
}

async function explainClaim(db: Db, workerId: number, targets: string[]): Promise<string[]> {
  // The same statement claimBuild runs, under EXPLAIN ANALYZE and rolled back.
  const r = await rolledBack(db, async (q) => {
    let sql = '';
    await claimBuild({ query: async <T>(s: string) => { sql = s; return [] as T[]; } }, workerId, targets, 120);
    return q.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${sql}`, [workerId, targets, 120]);
  });
  return r.value.map((x) => x['QUERY PLAN']).filter((l) => /Scan|Sort|Limit|Execution Time|LockRows/.test(l)).slice(0, 8).map((l) => l.trim());
}

/**
 * Load a synthetic database of the given scale into a scratch database on
 * the server (or a temp PGlite data directory), time the claim and peek
 * queries, then drop it.
 * @returns load times (s), query medians (ms) and the claim's plan.
 */
export async function runQueue(o: QueueOptions): Promise<QueueResult> {
  let scratch: ScratchDb | undefined;
  let db: Db | undefined;
  let dir: string | undefined;
  try {
    if (o.db === 'postgres') {
      if (!o.adminDsn) throw new Error('the postgres queue benchmark needs adminDsn');
      scratch = await createScratchDb(o.adminDsn, 'queue');
      db = await openDb({ dsn: scratch.dsn });
    } else {
      dir = await mkdtemp(join(tmpdir(), 'kiln-bench-queue-'));
      db = await openDb({ dataDir: dir });
    }
    await migrate(db);
    const { loadS, fastLoad } = await loadSynthetic(db, o);
    const counts = (await db.query<Record<string, number>>(
      `SELECT (SELECT count(*) FROM packages)::int AS packages, (SELECT count(*) FROM versions)::int AS versions,
              (SELECT count(*) FROM targets)::int AS targets, (SELECT count(*) FROM builds)::int AS builds,
              (SELECT count(*) FROM pending)::int AS pending`,
    ))[0]!;
    const sizeMb = (await db.query<{ b: number }>('SELECT pg_database_size(current_database())::bigint AS b'))[0]!.b / 1e6;
    const workerId = (await db.query<{ id: number }>('SELECT id FROM workers LIMIT 1'))[0]!.id;

    const timings: QueryTiming[] = [];
    const claimSets: Array<[string, string[]]> = [...QUEUE_TARGETS.map((t): [string, string[]] => [`claimBuild [${t}]`, [t]]), ['claimBuild [all 3 targets]', QUEUE_TARGETS]];
    for (const [name, targets] of claimSets) {
      timings.push(await timeQuery(name, o.runs, async () => {
        const r = await rolledBack(db!, (q) => claimBuild(q, workerId, targets, 120));
        return { rows: r.value ? 1 : 0, ms: r.ms };
      }));
    }
    for (const [name, targets] of [claimSets[0]!, claimSets[3]!]) {
      timings.push(await timeQuery(`previous ANY-scan claim ${name.replace('claimBuild ', '')}`, o.runs, async () => {
        const r = await rolledBack(db!, (q) => q.query(PREVIOUS_CLAIM_SQL, [workerId, targets, 120]));
        return { rows: r.value.length, ms: r.ms };
      }));
    }
    for (const t of QUEUE_TARGETS) {
      timings.push(await timeQuery(`peekQueue(${t}, 1000)`, o.runs, async () => {
        const t0 = performance.now();
        const rows = await peekQueue(db!, t, 1000);
        return { rows: rows.length, ms: performance.now() - t0 };
      }));
    }
    if (o.homeRuns > 0) {
      // What the publisher runs after every claim and every finish (debounced only by its own loop).
      const out = await mkdtemp(join(tmpdir(), 'kiln-bench-home-'));
      try {
        const ctx = { db, config: masterSchema.parse({}), log: silentLogger(), paths: { outputPath: out } } as unknown as MasterContext;
        timings.push(await timeQuery('totals() (home page, kiln status)', o.homeRuns, async () => {
          const t0 = performance.now();
          await totals(db!);
          return { rows: 1, ms: performance.now() - t0 };
        }, 1));
        timings.push(await timeQuery('queueLengths() (home page, kiln status)', o.homeRuns, async () => {
          const t0 = performance.now();
          const r = await queueLengths(db!);
          return { rows: r.length, ms: performance.now() - t0 };
        }, 1));
        timings.push(await timeQuery('publishHome() (after each claim/finish)', o.homeRuns, async () => {
          const t0 = performance.now();
          const home = await publishHome(ctx);
          return { rows: home.packages.length, ms: performance.now() - t0 };
        }, 0));
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    }
    const plans = {
      [`claim [${QUEUE_TARGETS[0]}]`]: await explainClaim(db, workerId, [QUEUE_TARGETS[0]!]),
      'claim [all 3 targets]': await explainClaim(db, workerId, QUEUE_TARGETS),
    };
    return {
      db: o.db,
      scale: { packages: counts.packages!, versions: counts.versions!, targets: counts.targets!, builds: counts.builds!, pending: counts.pending! },
      loadS,
      fastLoad,
      sizeMb: round(sizeMb, 0),
      timings,
      plans,
    };
  } finally {
    if (db) await db.close();
    if (scratch) await scratch.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
