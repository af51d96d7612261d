/**
 * `npm run bench [-- overhead|queue ...]`: Kiln's benchmark. Prints a table
 * per part and, last, one `BENCH_JSON {...}` line with every figure.
 *
 * Parts:
 * - `overhead`: per-build overhead of the farm (claim, log chunk, 1 MB
 *   upload, finish; no-op build) with 4 and 32 concurrent protocol clients,
 *   on PGlite and on PostgreSQL.
 * - `queue`: claim and peek query times over a synthetic 200k-package /
 *   2M-version database on PostgreSQL.
 * - `debian`: a whole real section (bookworm main amd64 from
 *   `KILN_BENCH_DEBIAN_MIRROR`, default deb.debian.org): index reading,
 *   piuparts states, the queue order, the report.
 *
 * Environment:
 * - `KILN_BENCH_DSN` (or `KILN_TEST_DSN`): a PostgreSQL server to use (a
 *   maintenance-database DSN; scratch databases are created and dropped).
 *   Unset: a throwaway server is started with initdb/pg_ctl and stopped.
 * - `KILN_BENCH_WORKERS` (`4,32`), `KILN_BENCH_BUILDS` (400 measured builds
 *   per configuration), `KILN_BENCH_DBS` (`pglite,postgres`).
 * - `KILN_BENCH_PACKAGES` (200000), `KILN_BENCH_VERSIONS_PER_PACKAGE` (10),
 *   `KILN_BENCH_PENDING_PCT` (15), `KILN_BENCH_RUNS` (20),
 *   `KILN_BENCH_HOME_RUNS` (1; 0 skips timing the home-page work at scale),
 *   `KILN_BENCH_QUEUE_PGLITE=1` to run the queue part on PGlite as well.
 */
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { preparePgliteTemplate, runOverhead, type OverheadResult } from './overhead.ts';
import { getPostgres, type BenchPostgres } from './postgres.ts';
import { runQueue, type QueueResult } from './queue.ts';
import { runDebian } from './debian.ts';
import { fmtMs, round, table } from './stats.ts';

const PARTS = ['overhead', 'queue', 'debian'] as const;
type Part = (typeof PARTS)[number];

const USAGE = `usage: npm run bench [-- overhead|queue ...]
  overhead  per-build overhead of the farm, 4 and 32 clients, PGlite and PostgreSQL
  queue     claim/peek query time over a synthetic 200k packages / 2M versions DB (PostgreSQL)
  debian    a whole real Debian section: Packages index, piuparts states, queue order, report
  (no part: all)
env: KILN_BENCH_DSN, KILN_BENCH_WORKERS=4,32, KILN_BENCH_BUILDS=400, KILN_BENCH_DBS=pglite,postgres,
     KILN_BENCH_PACKAGES=200000, KILN_BENCH_VERSIONS_PER_PACKAGE=10, KILN_BENCH_PENDING_PCT=15,
     KILN_BENCH_RUNS=20, KILN_BENCH_HOME_RUNS=1, KILN_BENCH_QUEUE_PGLITE=1,
     KILN_BENCH_DEBIAN_MIRROR=http://deb.debian.org/debian, KILN_BENCH_DEBIAN_DISTRO=bookworm`;

function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

function listEnv(name: string, fallback: string): string[] {
  return (process.env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function overheadTable(rows: OverheadResult[]): string {
  return table(
    ['db', 'workers', 'builds', 'wall s', 'builds/s', 'wall ms/build', 'median ms', 'p90 ms', 'claim', 'log', 'upload', 'finish', 'stmts/build', 'writes/build', 'commits/build', 'errors'],
    rows.map((r) => [
      r.db, r.workers, r.builds, r.wallS.toFixed(2), r.buildsPerS.toFixed(1), fmtMs(r.wallMsPerBuild), fmtMs(r.medianMs), fmtMs(r.p90Ms),
      fmtMs(r.steps.claim), fmtMs(r.steps.log), fmtMs(r.steps.upload), fmtMs(r.steps.finish),
      r.dbStatementsPerBuild.toFixed(1), r.dbWritesPerBuild.toFixed(1), r.commitsPerBuild === undefined ? '-' : r.commitsPerBuild.toFixed(1), r.errors.count,
    ]),
  );
}

function overheadRatios(rows: OverheadResult[]): string[] {
  const out: string[] = [];
  const find = (db: string, w: number) => rows.find((r) => r.db === db && r.workers === w);
  const workerCounts = [...new Set(rows.map((r) => r.workers))].sort((a, b) => a - b);
  for (const w of workerCounts) {
    const a = find('pglite', w);
    const b = find('postgres', w);
    if (a && b) out.push(`PostgreSQL / PGlite throughput at ${w} workers: ${round(b.buildsPerS / a.buildsPerS, 2)}×; median cycle ${round(a.medianMs / b.medianMs, 2)}× shorter on PostgreSQL`);
  }
  for (const db of ['pglite', 'postgres']) {
    const lo = find(db, workerCounts[0]!);
    const hi = find(db, workerCounts[workerCounts.length - 1]!);
    if (lo && hi && lo !== hi) out.push(`${db}: ${hi.workers} vs ${lo.workers} workers: throughput ${round(hi.buildsPerS / lo.buildsPerS, 2)}×, median cycle ${round(hi.medianMs / lo.medianMs, 2)}×`);
  }
  return out;
}

function printQueue(q: QueueResult): void {
  const s = q.scale;
  say(`queue on ${q.db}: ${s.packages} packages, ${s.versions} versions, ${s.targets} targets, ${s.builds} builds, ${s.pending} pending; ${q.sizeMb} MB`);
  say(`load: ${Object.entries(q.loadS).map(([k, v]) => `${k} ${v} s`).join(', ')}${q.fastLoad ? ' (FK triggers skipped during the load)' : ''}`);
  say(table(
    ['query', 'rows', 'median ms', 'p90 ms', 'min ms', 'max ms'],
    q.timings.map((t) => [t.query, t.rows, fmtMs(t.medianMs), fmtMs(t.p90Ms), fmtMs(t.minMs), fmtMs(t.maxMs)]),
  ));
  const get = (name: string) => q.timings.find((t) => t.query === name)?.medianMs;
  const one = get('claimBuild [bench-t1]');
  const all = get('claimBuild [all 3 targets]');
  const candOne = get('previous ANY-scan claim [bench-t1]');
  const candAll = get('previous ANY-scan claim [all 3 targets]');
  if (one && all) say(`ratio: claim over 3 targets / over 1 target = ${round(all / one, 2)}×`);
  if (one && candOne && all && candAll) {
    say(`ratio: previous ANY-scan claim / claimBuild = ${round(candOne / one, 0)}× (1 target), ${round(candAll / all, 0)}× (3 targets)`);
  }
  for (const [k, lines] of Object.entries(q.plans)) {
    say(`plan of ${k}:`);
    for (const l of lines) say(`    ${l}`);
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    say(USAGE);
    return 0;
  }
  const unknown = argv.filter((a) => !(PARTS as readonly string[]).includes(a) && a !== 'all');
  if (unknown.length) {
    process.stderr.write(`bench: unknown part ${unknown.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const parts: Part[] = argv.length === 0 || argv.includes('all') ? [...PARTS] : PARTS.filter((p) => argv.includes(p));
  const workerCounts = listEnv('KILN_BENCH_WORKERS', '4,32').map(Number);
  const builds = intEnv('KILN_BENCH_BUILDS', 400);
  const dbs = listEnv('KILN_BENCH_DBS', 'pglite,postgres') as Array<'pglite' | 'postgres'>;
  const queueOpts = {
    packages: intEnv('KILN_BENCH_PACKAGES', 200_000),
    versionsPerPackage: intEnv('KILN_BENCH_VERSIONS_PER_PACKAGE', 10),
    pendingPct: intEnv('KILN_BENCH_PENDING_PCT', 15),
    runs: intEnv('KILN_BENCH_RUNS', 20),
    homeRuns: process.env.KILN_BENCH_HOME_RUNS === '0' ? 0 : intEnv('KILN_BENCH_HOME_RUNS', 1),
  };
  const started = performance.now();
  const json: Record<string, unknown> = {
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', loadavg1mAtStart: round(loadavg()[0]!, 2) },
    parts,
    skipped: [] as string[],
  };
  const skipped = json.skipped as string[];

  const needPg = (parts.includes('overhead') && dbs.includes('postgres')) || parts.includes('queue');
  let pgServer: BenchPostgres | undefined;
  const cleanup = async () => {
    if (pgServer) {
      const s = pgServer;
      pgServer = undefined;
      await s.stop();
    }
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const tmp = await mkdtemp(join(tmpdir(), 'kiln-bench-'));
  try {
    say(`Kiln benchmark — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    if (loadavg()[0]! > 0.5 * cpus().length) {
      say(`WARNING: the machine is already busy (1-minute load ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores); the figures below will be lower and noisier than on an idle machine`);
    }
    if (needPg) {
      progress('preparing PostgreSQL');
      const r = await getPostgres();
      if (r.ok) {
        pgServer = r.pg;
        json.postgres = { origin: r.pg.origin, ...r.pg.settings };
        say(`PostgreSQL: ${r.pg.settings.version} (${r.pg.origin === 'throwaway' ? 'throwaway server started by the bench' : r.pg.origin}); ` +
          `fsync=${r.pg.settings.fsync}, synchronous_commit=${r.pg.settings.synchronous_commit}, shared_buffers=${r.pg.settings.shared_buffers} — durable commits, fsync not disabled`);
      } else {
        const why = `PostgreSQL figures skipped: ${r.reason}`;
        skipped.push(why);
        say(why);
      }
    }

    if (parts.includes('overhead')) {
      say();
      say(`== Farm overhead per build: claim + 1 log chunk + 1 MiB upload + finish, no-op build, ${builds} measured builds per row ==`);
      say('   real master (startMaster, 127.0.0.1:0, publishing on) and real MasterClient protocol clients in a separate thread;');
      say('   PGlite runs in the master\'s thread from a data directory (its default fsync-off mode). Step columns are medians, ms.');
      say('   Build outputs (distinct 1 MiB files) and their sha256 are made before timing, as on a worker machine; the master\'s own');
      say('   size+sha256 check is inside "upload". Master, clients and PostgreSQL share this machine\'s cores (see "load" below).');
      const results: OverheadResult[] = [];
      let template: string | undefined;
      for (const db of dbs) {
        if (db === 'postgres' && !pgServer) continue;
        if (db === 'pglite' && !template) {
          progress('creating the PGlite data directory (first open runs initdb)');
          const t = await preparePgliteTemplate(tmp);
          template = t.path;
          json.pgliteFirstOpenMs = round(t.ms, 0);
        }
        for (const workers of workerCounts) {
          progress(`overhead: ${db}, ${workers} workers, ${builds} builds`);
          const r = await runOverhead({ db, adminDsn: pgServer?.adminDsn, serverCpuMs: pgServer?.cpuMs, workers, builds, pgliteTemplate: template });
          results.push(r);
          progress(`  ${r.buildsPerS} builds/s, median ${r.medianMs} ms (load average now ${loadavg()[0]!.toFixed(2)})`);
        }
      }
      json.overhead = results;
      say(overheadTable(results));
      for (const l of overheadRatios(results)) say(l);
      if (json.pgliteFirstOpenMs !== undefined) say(`PGlite first open of a new data directory (initdb + migrate), excluded above: ${json.pgliteFirstOpenMs} ms`);
      for (const r of results) {
        if (r.errors.count) say(`errors (${r.db}, ${r.workers} workers): ${r.errors.first.join(' | ')}`);
        if (r.check.passed !== r.check.expected || r.check.artifacts !== r.check.expected) {
          say(`CHECK FAILED (${r.db}, ${r.workers} workers): ${r.check.passed} passed builds, ${r.check.artifacts} artifacts, expected ${r.check.expected}`);
        }
      }
      say();
      say('Where the master\'s database time goes (statements per build, ms awaited per build; publishing included):');
      for (const r of results) {
        say(`  ${r.db}, ${r.workers} workers: ${r.dbStatementsPerBuild} statements and ${fmtMs(r.dbMsPerBuild)} ms awaited per build; publisher caught up ${r.publisherDrainMs} ms after the last finish`);
        say(`    load: master thread event loop ${Math.round(r.load.masterElu * 100)} % busy, clients thread ${Math.round(r.load.clientsElu * 100)} %; CPU in % of one core: ` +
          `bench process ${r.load.processCpuPct}${r.load.serverCpuPct !== undefined ? `, PostgreSQL ${r.load.serverCpuPct}` : ''}, whole machine ${r.load.machineCpuPct} of ${cpus().length * 100}` +
          `${r.load.otherCpuPct !== undefined ? `, other processes ${r.load.otherCpuPct}` : ''}`);
        for (const s of r.topStatements.slice(0, 5)) say(`    ${s.perBuild.toFixed(2).padStart(5)} × ${fmtMs(s.msPerBuild).padStart(6)} ms  ${s.sql}`);
      }
    }

    if (parts.includes('queue')) {
      say();
      say(`== Queue query time: ${queueOpts.packages} packages × ${queueOpts.versionsPerPackage} versions, 3 targets, ${queueOpts.pendingPct} % pending; medians of ${queueOpts.runs} runs ==`);
      say('   claimBuild runs inside a transaction that is rolled back; the previous ANY-scan claim (before migration 2) is shown for comparison.');
      if (queueOpts.homeRuns > 0) say(`   The last rows (the home-page work the publisher redoes after claims and finishes) are medians of ${queueOpts.homeRuns} run(s).`);
      const queueDbs: Array<'postgres' | 'pglite'> = process.env.KILN_BENCH_QUEUE_PGLITE === '1' ? ['postgres', 'pglite'] : ['postgres'];
      const out: QueueResult[] = [];
      for (const db of queueDbs) {
        if (db === 'postgres' && !pgServer) {
          say('queue on postgres: skipped (no PostgreSQL, see above)');
          continue;
        }
        progress(`queue: loading the synthetic database on ${db}`);
        const q = await runQueue({ db, adminDsn: pgServer?.adminDsn, ...queueOpts });
        out.push(q);
        printQueue(q);
      }
      json.queue = out;
    }

    if (parts.includes('debian')) {
      const mirror = process.env.KILN_BENCH_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
      const distro = process.env.KILN_BENCH_DEBIAN_DISTRO ?? 'bookworm';
      say();
      say(`== Debian: the whole of ${distro} main amd64 from ${mirror}; states and order are medians of 5 runs ==`);
      progress('debian: reading the section index');
      try {
        const d = await runDebian({ mirror, distro, runs: 5 });
        json.debian = d;
        say(table(
          ['packages', 'read index ms', 'states ms', 'queue order ms', 'report ms', 'report files', 'report MB'],
          [[d.packages, fmtMs(d.readIndexMs), fmtMs(d.statesMs), fmtMs(d.orderMs), fmtMs(d.reportMs), d.reportFiles, d.reportMb]],
        ));
        say(`states with no results yet: ${Object.entries(d.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      } catch (err) {
        const why = `Debian figures skipped: ${(err as Error).message}`;
        skipped.push(why);
        say(why);
      }
    }
  } finally {
    await cleanup();
    await rm(tmp, { recursive: true, force: true });
  }
  json.totalS = round((performance.now() - started) / 1000, 1);
  say();
  say(`total ${json.totalS} s`);
  say(`BENCH_JSON ${JSON.stringify(json)}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
