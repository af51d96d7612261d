import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterSchema } from '../../src/config/schema.ts';
import type { Db } from '../../src/db/connect.ts';
import { claimBuild, deleteEndedBuilds, finishBuild } from '../../src/db/queries/builds.ts';
import { ensurePackage, setPackageSkip } from '../../src/db/queries/packages.ts';
import { upsertTargets } from '../../src/db/queries/targets.ts';
import { listVersions, setVersionOperatorSkip, upsertVersion } from '../../src/db/queries/versions.ts';
import { upsertWorker, insertWorkerToken } from '../../src/db/queries/workers.ts';
import type { MasterContext } from '../../src/master/context.ts';
import { schedulePackage } from '../../src/master/scheduler.ts';
import { silentLogger } from '../../src/log.ts';
import { testDb } from '../helpers/db.ts';
import { createShellMaster } from '../helpers/shell-ecosystem.ts';

let db: Db;
let ctx: MasterContext;
let workerId: number;

beforeAll(async () => {
  db = await testDb();
  ctx = {
    db,
    config: masterSchema.parse({}),
    log: silentLogger(),
    paths: { dataDir: '', outputPath: '', storeDir: '', runningLogsDir: '', incomingDir: '' },
    ecosystems: new Map([['shell', createShellMaster(new Map())]]),
    events: new EventEmitter(),
    adminToken: 'x',
    baseUrl: '',
    finishing: 0,
  };
  await upsertTargets(db, [
    { name: 'shell-a', ecosystem: 'shell', facts: {} },
    { name: 'shell-b', ecosystem: 'shell', facts: {} },
  ]);
  const tok = await insertWorkerToken(db, 'w', 'hash');
  workerId = (await upsertWorker(db, { tokenId: tok.id, name: 'w', kilnVersion: 't', facts: {}, targets: ['shell-a'], labels: [] })).id;
});
afterAll(async () => db.close());

async function addPkg(name: string, versions: Array<[string, number, string?]>) {
  const pkg = await ensurePackage(db, 'shell', name);
  for (const [version, day, script] of versions) {
    await upsertVersion(db, pkg.id, { version, released: new Date(Date.UTC(2026, 0, day)), skip: null, yanked: false, meta: { script: script ?? 'true' } });
  }
  await db.tx((q) => schedulePackage(ctx, q, pkg));
  return pkg;
}

const claim = (targets = ['shell-a']) => claimBuild(db, workerId, targets, 60);

describe('queue rules', () => {
  it('hands out the newest release first, only for the targets asked for', async () => {
    await addPkg('p', [['1.0', 1], ['3.0', 3], ['2.0', 2]]);
    await addPkg('q', [['9.0', 4, 'true # only-target: shell-b']]);
    const order: string[] = [];
    for (let b = await claim(); b; b = await claim()) order.push(`${b.package} ${b.version} ${b.target}`);
    expect(order).toEqual(['p 3.0 shell-a', 'p 2.0 shell-a', 'p 1.0 shell-a']);
    const onB = await claim(['shell-b']);
    expect(onB?.package).toBe('q');
  });

  it('records a per-target skip reason instead of queueing', async () => {
    const rows = await db.query<{ target: string; reason: string }>(
      `SELECT s.target, s.reason FROM target_skips s JOIN versions v ON v.id = s.version_id JOIN packages p ON p.id = v.package_id WHERE p.name = 'q'`,
    );
    expect(rows).toEqual([{ target: 'shell-a', reason: 'only built for shell-b' }]);
  });

  it('does not queue attempted versions again; forgetting a failed build requeues it', async () => {
    const pkg = await addPkg('r', [['1.0', 10]]);
    const b = (await claim())!;
    await finishBuild(db, b.id, workerId, { status: 'failed', durationMs: 1, failureReason: 'x' });
    await db.tx((q) => schedulePackage(ctx, q, pkg));
    expect(await claim()).toBeUndefined();
    await deleteEndedBuilds(db, (await listVersions(db, pkg.id)).map((v) => v.id));
    await db.tx((q) => schedulePackage(ctx, q, pkg));
    expect((await claim())?.package).toBe('r');
  });

  it('skipped packages and versions are not queued; an operator skip survives a sync', async () => {
    const pkg = await addPkg('s', [['1.0', 11], ['2.0', 12]]);
    await setPackageSkip(db, pkg.id, 'broken upstream');
    await db.query('DELETE FROM pending');
    await db.tx((q) => schedulePackage(ctx, q, pkg));
    expect(await claim()).toBeUndefined();
    await setPackageSkip(db, pkg.id, null);
    const [v2] = await listVersions(db, pkg.id);
    await setVersionOperatorSkip(db, v2!.id, 'bad release');
    // A sync rewrites the version from the source: the operator's skip stays.
    await upsertVersion(db, pkg.id, { version: '2.0', released: new Date(Date.UTC(2026, 0, 12)), skip: null, yanked: false, meta: { script: 'true' } });
    await db.tx((q) => schedulePackage(ctx, q, pkg));
    const got = await claim();
    expect(got?.version).toBe('1.0');
    expect(await claim()).toBeUndefined();
    await setVersionOperatorSkip(db, v2!.id, null);
    await db.tx((q) => schedulePackage(ctx, q, pkg));
    expect((await claim())?.version).toBe('2.0');
  });

  it('two concurrent claims never get the same build', async () => {
    const pkg = await addPkg('t', Array.from({ length: 20 }, (_, i) => [`0.${i}`, 20 + i] as [string, number]));
    const got = await Promise.all(Array.from({ length: 20 }, () => claim()));
    const ids = got.filter(Boolean).map((b) => b!.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(20);
    expect(pkg.name).toBe('t');
  });

  it('claims by priority first, and skips a queued version that is already running (a section-wide plan raced a claim)', async () => {
    const pkg = await addPkg('prio', [['1.0', 40], ['2.0', 41]]);
    const [v2, v1] = await listVersions(db, pkg.id);
    await db.query(`UPDATE pending SET priority = 5 WHERE version_id = $1`, [v1!.id]);
    const first = await claim();
    expect(first?.version).toBe('1.0');
    // A plan that started before that claim puts 1.0 back in the queue, at the top.
    await db.query(`INSERT INTO pending (target, version_id, released, priority) VALUES ('shell-a', $1, now(), 9)`, [v1!.id]);
    const second = await claim();
    expect(second?.version).toBe('2.0');
    expect(v2!.version).toBe('2.0');
  });
});
