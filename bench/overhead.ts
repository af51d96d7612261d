/**
 * The farm's overhead per build: a real master (startMaster on
 * 127.0.0.1:0) and N real protocol clients in a worker thread, each
 * repeating claim → log chunk → 1 MB upload → finish with a no-op build.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { masterSchema } from '../src/config/schema.ts';
import { openDb, type Db } from '../src/db/connect.ts';
import { migrate } from '../src/db/migrate.ts';
import { insertWorkerToken } from '../src/db/queries/workers.ts';
import { silentLogger } from '../src/log.ts';
import { generateToken, hashToken } from '../src/master/auth.ts';
import { startMaster, type RunningMaster } from '../src/master/master.ts';
import { countingDb, type CountingDb } from './instrument.ts';
import { BENCH_ECOSYSTEM, createBenchMaster, syntheticUpstream } from './noop-ecosystem.ts';
import type { ClientsInput, CycleSample, PhaseResult } from './overhead-clients.ts';
import { createScratchDb, type ScratchDb } from './postgres.ts';
import { median, percentile, round } from './stats.ts';

/** One overhead configuration. */
export interface OverheadOptions {
  /** `pglite` (embedded, a data directory in a temp dir) or `postgres` (a scratch database on `adminDsn`). */
  db: 'pglite' | 'postgres';
  /** Maintenance DSN of the PostgreSQL server (required for `postgres`). */
  adminDsn?: string;
  /** CPU ms used so far by the PostgreSQL server, when known (throwaway server). */
  serverCpuMs?: () => number;
  /** Concurrent protocol clients. */
  workers: number;
  /** Builds in the measured phase (after one warm-up build per client). */
  builds: number;
  /** Artifact size, bytes (1 MiB by default). */
  artifactBytes?: number;
  /** Versions per seeded package (default 4). */
  versionsPerPackage?: number;
  /**
   * A migrated PGlite data directory (from `preparePgliteTemplate`) to copy
   * instead of creating a new one, which skips PGlite's initdb (10–17 s here).
   */
  pgliteTemplate?: string;
}

/**
 * Create a migrated PGlite data directory under `dir` to copy for each
 * PGlite configuration.
 * @returns the directory and the time the first open plus migrate took, ms.
 */
export async function preparePgliteTemplate(dir: string): Promise<{ path: string; ms: number }> {
  const t0 = performance.now();
  const path = join(dir, 'pglite-template');
  const db = await openDb({ dataDir: path });
  await migrate(db);
  await db.close();
  return { path, ms: performance.now() - t0 };
}

/** Where per-build database time went: one statement shape. */
export interface StatementFigure {
  /** Statement text, first 70 characters. */
  sql: string;
  /** Calls per build. */
  perBuild: number;
  /** Milliseconds per build awaiting this statement (summed over concurrent calls). */
  msPerBuild: number;
}

/** Figures of one overhead configuration. Times in milliseconds unless named otherwise. */
export interface OverheadResult {
  db: 'pglite' | 'postgres';
  workers: number;
  /** Builds completed in the measured phase. */
  builds: number;
  /** Measured phase wall time, seconds. */
  wallS: number;
  /** Builds per second over the measured phase. */
  buildsPerS: number;
  /** Wall time divided by builds: the farm's amortised cost per build, ms. */
  wallMsPerBuild: number;
  /** Client-side cycle time (claim start → finish answer), median and p90, ms. */
  medianMs: number;
  p90Ms: number;
  /** Median of each step, ms. */
  steps: { claim: number; log: number; upload: number; finish: number };
  /** Statements the master ran per build (including publishing), and ms awaiting them per build. */
  dbStatementsPerBuild: number;
  dbMsPerBuild: number;
  /** Statements per build that write (INSERT/UPDATE/DELETE/claim CTE); outside a transaction each is its own commit. */
  dbWritesPerBuild: number;
  /** Committed transactions per build on the server (pg_stat_database), PostgreSQL only. */
  commitsPerBuild?: number;
  /** Statements with the largest time per build. */
  topStatements: StatementFigure[];
  /**
   * Load during the measured phase: event-loop utilisation (0–1) of the
   * master's thread and of the clients' thread; CPU of this process (all
   * threads, PGlite included), of the PostgreSQL server (when known), of
   * the whole machine, and of everything else on the machine (other
   * people's work: the figures are noisy when this is not near 0), in % of
   * one core.
   */
  load: { masterElu: number; clientsElu: number; processCpuPct: number; serverCpuPct?: number; machineCpuPct: number; otherCpuPct?: number };
  /** Time for the publisher to catch up after the last finish, ms. */
  publisherDrainMs: number;
  /** Time to open and migrate the database (a copied PGlite template is only reopened), ms; not part of any other figure. */
  openMs: number;
  /** Time to seed the versions through the admin API, ms. */
  seedMs: number;
  /** Failed cycles and the first messages. */
  errors: { count: number; first: string[] };
  /** Passed builds and artifacts in the database at the end (should be warm-up + builds). */
  check: { passed: number; artifacts: number; expected: number };
}

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const TARGET = 'bench-a';

async function idle(master: RunningMaster, timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  let quiet = 0;
  while (quiet < 3) {
    if (performance.now() - t0 > timeoutMs) throw new Error('master did not become idle');
    quiet = master.busy() ? 0 : quiet + 1;
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - t0;
}

function startClients(input: ClientsInput): Worker {
  // tsx's loader does not reach worker threads on Node 20 by execArgv alone: register it in the thread first.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./overhead-clients.ts', import.meta.url).href;
  return new Worker(
    `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true, workerData: input },
  );
}

function nextMessage<T>(w: Worker, pred: (m: unknown) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: unknown) => {
      if (!pred(m)) return;
      cleanup();
      resolve(m as T);
    };
    const onErr = (e: Error) => { cleanup(); reject(e); };
    const onExit = (code: number) => { cleanup(); reject(new Error(`client thread exited with ${code}`)); };
    const cleanup = () => { w.off('message', onMsg); w.off('error', onErr); w.off('exit', onExit); };
    w.on('message', onMsg);
    w.on('error', onErr);
    w.on('exit', onExit);
  });
}

async function commitsSoFar(db: Db): Promise<number> {
  const rows = await db.query<{ c: number }>('SELECT xact_commit AS c FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0]?.c ?? 0);
}

/** Busy and total jiffies of the whole machine, from /proc/stat (zeros where unavailable). */
function machineJiffies(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

function isWrite(sql: string): boolean {
  return /^(INSERT|UPDATE|DELETE|WITH)\b/i.test(sql);
}

/**
 * Run one overhead configuration end to end: open and migrate a fresh
 * database, start a master, register the clients' target, seed
 * `workers + builds` versions through the admin API, run one warm-up build
 * per client, then the measured phase until the queue is empty.
 * @returns the figures; times in milliseconds unless the field says otherwise.
 */
export async function runOverhead(o: OverheadOptions): Promise<OverheadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-overhead-'));
  let scratch: ScratchDb | undefined;
  let master: RunningMaster | undefined;
  let clients: Worker | undefined;
  let counting: CountingDb | undefined;
  try {
    const t0 = performance.now();
    let raw: Db;
    if (o.db === 'pglite') {
      if (o.pgliteTemplate) await cp(o.pgliteTemplate, join(dir, 'db'), { recursive: true });
      raw = await openDb({ dataDir: join(dir, 'db') });
    } else {
      if (!o.adminDsn) throw new Error('postgres overhead needs adminDsn');
      scratch = await createScratchDb(o.adminDsn, 'overhead');
      raw = await openDb({ dsn: scratch.dsn });
    }
    await migrate(raw);
    const openMs = performance.now() - t0;
    counting = countingDb(raw);

    const total = o.workers + o.builds;
    const upstream = syntheticUpstream(total, o.versionsPerPackage ?? 4);
    const config = masterSchema.parse({ listen: '127.0.0.1:0', data_dir: join(dir, 'data'), lease_s: 120, claim_wait_s: 5, admin_token: ADMIN_TOKEN });
    master = await startMaster({ config, log: silentLogger(), ecosystems: [createBenchMaster(upstream)], db: counting, sync: false, serveSite: false });

    const tokens: string[] = [];
    for (let i = 0; i < o.workers; i++) {
      const t = generateToken();
      await insertWorkerToken(raw, `bench-token-${i}`, hashToken(t));
      tokens.push(t);
    }
    clients = startClients({ url: master.url, tokens, target: TARGET, ecosystem: BENCH_ECOSYSTEM, artifactBytes: o.artifactBytes ?? 1024 * 1024, outputs: total, workDir: join(dir, 'clients') });
    await nextMessage(clients, (m) => !!(m as { ready?: boolean }).ready);
    await idle(master);

    const s0 = performance.now();
    for (const name of upstream.keys()) {
      const res = await fetch(`${master.url}/api/v1/admin/packages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ecosystem: BENCH_ECOSYSTEM, name }),
      });
      if (!res.ok) throw new Error(`seeding ${name} failed: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
    await idle(master);
    const seedMs = performance.now() - s0;
    const queued = (await raw.query<{ n: number }>('SELECT count(*)::int AS n FROM pending'))[0]!.n;
    if (queued !== total) throw new Error(`expected ${total} queued builds after seeding, found ${queued}`);

    const phase = async (name: 'warm' | 'measure') => {
      const done = nextMessage<PhaseResult>(clients!, (m) => (m as PhaseResult).phaseDone === name);
      clients!.postMessage({ phase: name });
      return done;
    };
    const warm = await phase('warm');
    await idle(master);
    await new Promise((r) => setTimeout(r, o.db === 'postgres' ? 1200 : 0));
    const commits0 = o.db === 'postgres' ? await commitsSoFar(raw) : 0;
    counting.reset();

    const elu0 = performance.eventLoopUtilization();
    const cliElu0 = clients.performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const mj0 = machineJiffies();
    const srv0 = o.db === 'postgres' ? o.serverCpuMs?.() : undefined;
    const m = await phase('measure');
    const srv1 = srv0 !== undefined ? o.serverCpuMs?.() : undefined;
    const masterElu = performance.eventLoopUtilization(elu0).utilization;
    const clientsElu = clients.performance.eventLoopUtilization(cliElu0).utilization;
    const cpu = process.cpuUsage(cpu0);
    const mj1 = machineJiffies();
    const processCpuPct = ((cpu.user + cpu.system) / 1000 / m.wallMs) * 100;
    const machineCpuPct = mj1.total > mj0.total ? ((mj1.busy - mj0.busy) / (mj1.total - mj0.total)) * 100 * cpus().length : Number.NaN;
    const serverCpuPct = srv0 !== undefined && srv1 !== undefined ? ((srv1 - srv0) / m.wallMs) * 100 : undefined;
    const load: OverheadResult['load'] = {
      masterElu: round(masterElu, 2),
      clientsElu: round(clientsElu, 2),
      processCpuPct: round(processCpuPct, 0),
      machineCpuPct: round(machineCpuPct, 0),
    };
    if (serverCpuPct !== undefined) load.serverCpuPct = round(serverCpuPct, 0);
    if (o.db === 'pglite' || serverCpuPct !== undefined) load.otherCpuPct = round(Math.max(0, machineCpuPct - processCpuPct - (serverCpuPct ?? 0)), 0);
    const publisherDrainMs = await idle(master);
    const stats = [...counting.stats.entries()];
    let commitsPerBuild: number | undefined;
    const n = m.samples.length;
    if (o.db === 'postgres') {
      // Backends flush their statistics about once a second when idle.
      await new Promise((r) => setTimeout(r, 1500));
      commitsPerBuild = (await commitsSoFar(raw)) - commits0 - 1;
    }
    const passed = (await raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM builds WHERE status = 'passed'`))[0]!.n;
    const artifacts = (await raw.query<{ n: number }>('SELECT count(*)::int AS n FROM artifacts'))[0]!.n;

    const col = (f: (s: CycleSample) => number) => m.samples.map(f);
    const per = (x: number) => (n > 0 ? x / n : Number.NaN);
    return {
      db: o.db,
      workers: o.workers,
      builds: n,
      wallS: round(m.wallMs / 1000, 3),
      buildsPerS: round(n / (m.wallMs / 1000), 1),
      wallMsPerBuild: round(m.wallMs / n, 2),
      medianMs: round(median(col((s) => s.totalMs)), 2),
      p90Ms: round(percentile(col((s) => s.totalMs), 90), 2),
      steps: {
        claim: round(median(col((s) => s.claimMs)), 2),
        log: round(median(col((s) => s.logMs)), 2),
        upload: round(median(col((s) => s.uploadMs)), 2),
        finish: round(median(col((s) => s.finishMs)), 2),
      },
      dbStatementsPerBuild: round(per(stats.reduce((a, [, s]) => a + s.calls, 0)), 1),
      dbMsPerBuild: round(per(stats.reduce((a, [, s]) => a + s.totalMs, 0)), 2),
      dbWritesPerBuild: round(per(stats.filter(([k]) => isWrite(k)).reduce((a, [, s]) => a + s.calls, 0)), 1),
      ...(commitsPerBuild !== undefined ? { commitsPerBuild: round(per(commitsPerBuild), 1) } : {}),
      topStatements: stats
        .sort((a, b) => b[1].totalMs - a[1].totalMs)
        .slice(0, 8)
        .map(([sql, s]) => ({ sql, perBuild: round(per(s.calls), 2), msPerBuild: round(per(s.totalMs), 3) })),
      load,
      publisherDrainMs: round(publisherDrainMs, 0),
      openMs: round(openMs, 0),
      seedMs: round(seedMs, 0),
      errors: { count: warm.errors.count + m.errors.count, first: [...warm.errors.first, ...m.errors.first].slice(0, 5) },
      check: { passed, artifacts, expected: warm.samples.length + n },
    };
  } finally {
    if (clients) {
      clients.postMessage({ exit: true });
      await Promise.race([new Promise((r) => clients!.once('exit', r)), new Promise((r) => setTimeout(r, 2000))]);
      await clients.terminate();
    }
    if (master) await master.close();
    if (counting) await counting.close();
    if (scratch) await scratch.drop();
    await rm(dir, { recursive: true, force: true });
  }
}
