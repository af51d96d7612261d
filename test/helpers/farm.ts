/**
 * Start a real master (and workers) on loopback for integration tests, with
 * the shell test ecosystem or any other.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { masterSchema, type MasterConfig } from '../../src/config/schema.ts';
import type { Db } from '../../src/db/connect.ts';
import { insertWorkerToken } from '../../src/db/queries/workers.ts';
import type { MasterEcosystem, WorkerEcosystem } from '../../src/ecosystems/types.ts';
import { generateToken, hashToken } from '../../src/master/auth.ts';
import { startMaster, type RunningMaster } from '../../src/master/master.ts';
import { silentLogger } from '../../src/log.ts';
import { runWorker } from '../../src/worker/worker.ts';
import { testDb } from './db.ts';

/** A master with its database and temp dirs. */
export interface Farm {
  master: RunningMaster;
  db: Db;
  dir: string;
  /** Create a worker token directly in the database. */
  token(name?: string): Promise<string>;
  /** Start an in-process worker; returns a stop function. */
  worker(eco: WorkerEcosystem, opts?: { name?: string; sandbox?: 'auto' | 'none' }): { stop: () => Promise<void>; done: Promise<void> };
  /**
   * Call the admin API with the farm's admin token.
   * @param path below `/api/v1/admin/`, with any query string.
   * @returns the HTTP status and the parsed JSON body.
   */
  admin(path: string, method?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Wait until no finish, sync or publishing is in progress, so the output path is up to date. */
  settle(): Promise<void>;
  /** Stop everything and delete the temp dirs. */
  close(): Promise<void>;
}

let tokenSeq = 0;

/** Start a master on 127.0.0.1:<free port> over a fresh test database. */
export async function startFarm(ecosystems: MasterEcosystem[], overrides: Partial<MasterConfig> = {}, opts: { db?: Db; dir?: string } = {}): Promise<Farm> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'kiln-test-')));
  const db = opts.db ?? (await testDb());
  const config = masterSchema.parse({ listen: '127.0.0.1:0', data_dir: dir, lease_s: 10, claim_wait_s: 2, admin_token: 'test-admin-token-0123456789', ...overrides });
  const master = await startMaster({ config, log: silentLogger(), ecosystems, db, sync: false });
  const workers: Array<() => Promise<void>> = [];
  const farm: Farm = {
    master,
    db,
    dir,
    async token(name = `t${++tokenSeq}`) {
      const t = generateToken();
      await insertWorkerToken(db, name, hashToken(t));
      return t;
    },
    worker(eco, o = {}) {
      const ac = new AbortController();
      const done = (async () => {
        await runWorker({ master: master.url, token: await farm.token(), name: o.name ?? `w${tokenSeq}`, labels: [], sandbox: o.sandbox ?? 'none', ecosystems: [eco], log: silentLogger(), signal: ac.signal, workDir: join(dir, 'builds') });
      })().catch((err: Error) => {
        if (!ac.signal.aborted) throw err;
      });
      const stop = async () => {
        ac.abort();
        await done;
      };
      workers.push(stop);
      return { stop, done };
    },
    admin(path, method = 'GET', body) {
      return fetch(`${master.url}/api/v1/admin/${path}`, {
        method,
        headers: { authorization: `Bearer ${config.admin_token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));
    },
    async settle() {
      await waitFor(async () => !master.busy(), 30_000, 'the master to settle');
      await master.publisher.flush();
    },
    async close() {
      for (const s of workers) await s();
      await master.close();
      if (!opts.db) await db.close();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
  return farm;
}

/** Poll `fn` until it returns a truthy value, or fail after `ms`. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, ms = 30_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
