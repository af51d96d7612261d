/**
 * PostgreSQL for the benchmark: the server named by `KILN_BENCH_DSN` (or
 * `KILN_TEST_DSN`), or a throwaway server started here with initdb/pg_ctl
 * and stopped at the end. The throwaway server runs with PostgreSQL's
 * defaults (fsync on, synchronous_commit on), so commit times are durable
 * ones.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A PostgreSQL server the benchmark may create databases on. */
export interface BenchPostgres {
  /** DSN of a database on the server where `CREATE DATABASE` works (the maintenance database). */
  adminDsn: string;
  /** Where it came from, for the report: `"KILN_BENCH_DSN"`, `"KILN_TEST_DSN"` or `"throwaway"`. */
  origin: string;
  /** `version()` and the durability settings, for the report. */
  settings: Record<string, string>;
  /**
   * CPU time the server's processes have used so far, ms (Linux /proc; only
   * for the throwaway server, whose postmaster this process knows).
   */
  cpuMs?: () => number;
  /** Stop the server if this process started it and delete its directory (no-op otherwise). */
  stop(): Promise<void>;
}

/** utime+stime (and, with `children`, cutime+cstime) of one process, clock ticks; 0 when gone. */
function procTicks(pid: number, children: boolean): { ticks: number; ppid: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    const n = (i: number) => Number(f[i - 3] ?? 0);
    return { ticks: n(14) + n(15) + (children ? n(16) + n(17) : 0), ppid: n(4) };
  } catch {
    return { ticks: 0, ppid: -1 };
  }
}

/** CPU ms of a postmaster and its live children (exited children are in its cutime/cstime). Assumes 100 ticks/s. */
function serverCpuMs(postmaster: number): number {
  let ticks = procTicks(postmaster, true).ticks;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const p = procTicks(Number(e), false);
    if (p.ppid === postmaster) ticks += p.ticks;
  }
  return ticks * 10;
}

/** Either a usable server or why there is none. */
export type PostgresResult = { ok: true; pg: BenchPostgres } | { ok: false; reason: string };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), uid, gid);
}

/** Read the settings worth reporting from a server. */
async function readSettings(dsn: string): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: dsn });
  await c.connect();
  try {
    const out: Record<string, string> = {};
    out.version = ((await c.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '').replace(/ on .*/, '');
    for (const k of ['fsync', 'synchronous_commit', 'shared_buffers', 'wal_level']) {
      out[k] = (await c.query<Record<string, string>>(`SHOW ${k}`)).rows[0]?.[k] ?? '?';
    }
    return out;
  } finally {
    await c.end();
  }
}

/**
 * Find or start PostgreSQL. Uses `KILN_BENCH_DSN` or `KILN_TEST_DSN` when
 * set; otherwise runs initdb into a temp directory (as the `postgres` user
 * when this process is root) and starts a server on a free loopback port.
 * Server start-up takes about 2–3 s.
 * @returns the server, or the reason none could be had (never throws).
 */
export async function getPostgres(): Promise<PostgresResult> {
  const envName = process.env.KILN_BENCH_DSN ? 'KILN_BENCH_DSN' : process.env.KILN_TEST_DSN ? 'KILN_TEST_DSN' : null;
  if (envName) {
    const dsn = process.env[envName]!;
    try {
      return { ok: true, pg: { adminDsn: dsn, origin: envName, settings: await readSettings(dsn), stop: async () => undefined } };
    } catch (err) {
      return { ok: false, reason: `cannot connect to ${envName}: ${(err as Error).message}` };
    }
  }
  for (const cmd of ['initdb', 'pg_ctl', 'postgres']) {
    if (!onPath(cmd)) return { ok: false, reason: `${cmd} is not on PATH and neither KILN_BENCH_DSN nor KILN_TEST_DSN is set` };
  }
  // initdb refuses to run as root: run the server tools as the postgres user then.
  let asUser: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-pg-'));
  if (process.getuid?.() === 0) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0 || !onPath('runuser')) {
      rmSync(dir, { recursive: true, force: true });
      return { ok: false, reason: 'running as root, and there is no postgres user (or no runuser) to run initdb as; set KILN_BENCH_DSN' };
    }
    chownTree(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
    asUser = ['runuser', '-u', 'postgres', '--'];
  }
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...asUser, ...args];
    return spawnSync(cmd!, rest, { encoding: 'utf8', timeout: 120_000 });
  };
  const data = join(dir, 'data');
  const init = run(['initdb', '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions', '--no-sync']);
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { ok: false, reason: `initdb failed: ${(init.stderr || init.stdout || String(init.error)).trim().split('\n').slice(-2).join(' ')}` };
  }
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir}`;
  const logFile = join(dir, 'server.log');
  const start = run(['pg_ctl', '-D', data, '-o', opts, '-l', logFile, '-w', '-t', '60', 'start']);
  const stop = async () => {
    run(['pg_ctl', '-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  };
  if (start.status !== 0) {
    let tail = '';
    try { tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-2).join(' '); } catch { /* no log */ }
    await stop();
    return { ok: false, reason: `pg_ctl start failed: ${(start.stderr || start.stdout).trim()} ${tail}`.trim() };
  }
  const adminDsn = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let postmaster = 0;
  try { postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]); } catch { /* not on Linux? */ }
  try {
    return {
      ok: true,
      pg: { adminDsn, origin: 'throwaway', settings: await readSettings(adminDsn), stop, ...(postmaster > 0 ? { cpuMs: () => serverCpuMs(postmaster) } : {}) },
    };
  } catch (err) {
    await stop();
    return { ok: false, reason: `started PostgreSQL but cannot connect: ${(err as Error).message}` };
  }
}

/** A database created for one benchmark part. */
export interface ScratchDb {
  /** DSN of the new database. */
  dsn: string;
  /** Drop it (with FORCE, closing leftover connections). */
  drop(): Promise<void>;
}

/** Create a fresh database `kiln_bench_<prefix>_<random>` on the server. */
export async function createScratchDb(adminDsn: string, prefix: string): Promise<ScratchDb> {
  const name = `kiln_bench_${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminDsn });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminDsn);
  url.pathname = `/${name}`;
  return {
    dsn: url.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: adminDsn });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
