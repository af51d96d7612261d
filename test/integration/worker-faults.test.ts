import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { masterSchema } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/log.ts';
import { startMaster } from '../../src/master/master.ts';
import { generateToken, hashToken } from '../../src/master/auth.ts';
import { insertWorkerToken } from '../../src/db/queries/workers.ts';
import { runWorker } from '../../src/worker/worker.ts';
import { testDb } from '../helpers/db.ts';
import { startFarm, waitFor } from '../helpers/farm.ts';
import { createShellMaster, createShellWorker, type FakePackage } from '../helpers/shell-ecosystem.ts';

const addPackage = (url: string, name: string) =>
  fetch(`${url}/api/v1/admin/packages`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' },
    body: JSON.stringify({ ecosystem: 'shell', name }),
  }).then((r) => expect(r.status).toBe(200));

const statuses = (db: { query: <T>(s: string) => Promise<T[]> }) =>
  db.query<{ status: string }>('SELECT status FROM builds ORDER BY id').then((r) => r.map((x) => x.status));

describe('worker and master faults', () => {
  it('a worker killed mid-build: the build is requeued and finishes exactly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-kill-'));
    const mark = join(dir, 'first-attempt');
    const upstream = new Map<string, FakePackage>([
      ['slow', { name: 'slow', versions: [{ version: '1.0.0', released: new Date('2026-01-01'), script: `if [ -f ${mark} ]; then printf done > "$OUT"; else touch ${mark}; exec sleep 60; fi` }] }],
    ]);
    const farm = await startFarm([createShellMaster(upstream)], { lease_s: 5 });
    try {
      await addPackage(farm.master.url, 'slow');
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../helpers/shell-worker-main.ts'), farm.master.url, await farm.token(), join(dir, 'builds')], { stdio: 'ignore' });
      await waitFor(async () => existsSync(mark), 30_000, 'the first attempt to start');
      child.kill('SIGKILL');
      expect(await statuses(farm.db)).toEqual(['running']);
      const w = farm.worker(createShellWorker(['shell-a']));
      await waitFor(async () => (await statuses(farm.db)).includes('passed'), 40_000, 'the requeued build to pass');
      await w.stop();
      expect(await statuses(farm.db)).toEqual(['expired', 'passed']);
      const file = join(farm.master.ctx.paths.outputPath, 'shell', 'slow', 'slow-1.0.0.bin');
      await waitFor(async () => existsSync(file), 10_000, 'the artifact to be published');
      expect(readFileSync(file, 'utf8')).toBe('done');
    } finally {
      await farm.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the master restarts during a build: the worker reconnects and its result lands', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-restart-'));
    const db = await testDb();
    const port = await freePort();
    const upstream = new Map<string, FakePackage>([
      ['steady', { name: 'steady', versions: [{ version: '2.0.0', released: new Date('2026-01-01'), script: 'echo started; sleep 4; echo finished; printf ok > "$OUT"' }] }],
    ]);
    const config = masterSchema.parse({ listen: `127.0.0.1:${port}`, data_dir: dir, lease_s: 20, claim_wait_s: 2, admin_token: 'test-admin-token-0123456789' });
    const start = () => startMaster({ config, log: silentLogger(), ecosystems: [createShellMaster(upstream)], db, sync: false });
    let master = await start();
    try {
      await addPackage(master.url, 'steady');
      const token = generateToken();
      await insertWorkerToken(db, 'survivor', hashToken(token));
      const ac = new AbortController();
      const worker = runWorker({ master: master.url, token, name: 'survivor', labels: [], sandbox: 'none', ecosystems: [createShellWorker(['shell-a'])], log: silentLogger(), signal: ac.signal, workDir: join(dir, 'builds') });
      await waitFor(async () => (await statuses(db)).includes('running'), 20_000, 'the build to start');
      await master.close();
      await new Promise((r) => setTimeout(r, 2000));
      master = await start();
      await waitFor(async () => (await statuses(db)).includes('passed'), 40_000, 'the result to land');
      expect(await statuses(db)).toEqual(['passed']);
      ac.abort();
      await worker;
      // The status is committed before the finish route publishes: wait for the file.
      const file = join(master.ctx.paths.outputPath, 'shell', 'steady', 'steady-2.0.0.bin');
      await waitFor(async () => existsSync(file), 10_000, 'the artifact to be published');
      expect(readFileSync(file, 'utf8')).toBe('ok');
      const log = await fetch(`${master.url}/logs/0/1.txt.gz`).then((r) => r.text());
      expect(log).toContain('started');
      expect(log).toContain('finished');
    } finally {
      await master.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
