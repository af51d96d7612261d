/**
 * Debian end to end with Kiln workers: a master testing a section of a
 * file:// mirror the test writes, a real in-process worker running a stub
 * piuparts, states with dependency propagation, the queue order, logs in
 * piuparts-slave's format, untestable versions, outdated results and
 * rescheduling.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDebianMaster, type DebianMaster } from '../../src/ecosystems/debian/master.ts';
import { debianSchema } from '../../src/ecosystems/debian/section-config.ts';
import { createDebianWorker } from '../../src/ecosystems/debian/worker.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { writeStubPiuparts } from '../helpers/debian-stub-piuparts.ts';
import { hostArch, writeTestMirror, type MirrorPackage } from '../helpers/piuparts-slave.ts';

const root = process.getuid?.() === 0;

const dep = (name: string, version: string, fields: Record<string, string> = {}): MirrorPackage => ({ name, version, fields });
const PACKAGES: MirrorPackage[] = [
  dep('app-c', '1.0', { Depends: 'lib-b (>= 0.5), virt-x' }),
  dep('lib-b', '2.0-1', { Depends: 'base-a' }),
  dep('base-a', '1.0'),
  dep('prov-p', '1.0', { Depends: 'base-a', Provides: 'virt-x' }),
  dep('alt-d', '1.0', { Depends: 'no-such-alt | base-a' }),
  dep('bad-f', '3.0'),
  dep('user-g', '1.0', { Depends: 'bad-f' }),
  dep('miss-h', '1.0', { Depends: 'no-such-package' }),
  dep('cyc-1', '1.0', { Depends: 'cyc-2, base-a' }),
  dep('cyc-2', '1.0', { Depends: 'cyc-1' }),
];

describe.skipIf(!root)('Debian section tested by Kiln workers (stub piuparts; needs root for the worker)', () => {
  let dir: string;
  let farm: Farm;
  let eco: DebianMaster;
  let stopWorker: (() => Promise<void>) | null = null;

  const snap = () => eco.service.snapshot('kilntest');
  const stateOf = (name: string) => snap()?.states.state(name);
  const builds = () =>
    farm.db.query<{ id: number; name: string; version: string; status: string; failure_reason: string | null }>(
      `SELECT b.id::int AS id, p.name, v.version, b.status, b.failure_reason FROM builds b JOIN versions v ON v.id = b.version_id
       JOIN packages p ON p.id = v.package_id WHERE p.ecosystem = 'debian' ORDER BY b.id`,
    );
  const queued = () =>
    farm.db.query<{ name: string; priority: number }>(
      `SELECT p.name, q.priority FROM pending q JOIN versions v ON v.id = q.version_id JOIN packages p ON p.id = v.package_id
       WHERE q.target = 'kilntest' ORDER BY q.priority DESC`,
    );
  /** Every package has its final state: nothing waits, runs or is queued (a result may land just after a plan). */
  const settled = async () => {
    await eco.service.replan();
    const states = snap()!.states;
    const waiting = states.inState('waiting-to-be-tested').length + states.inState('waiting-for-dependency-to-be-tested').length;
    const running = await farm.db.query(`SELECT 1 FROM builds WHERE status = 'running'`);
    return waiting === 0 && (await queued()).length === 0 && running.length === 0;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-debian-farm-'));
    const mirror = writeTestMirror(join(dir, 'mirror'), { testdist: PACKAGES });
    const stub = await writeStubPiuparts(dir, ['bad-f']);
    const config = debianSchema.parse({
      enabled: true,
      sections: {
        kilntest: { mirror, distro: 'testdist', arch: hostArch(), 'piuparts-command': stub, 'reschedule-old-count': 3, 'reschedule-fail-count': 0, description: 'a test section' },
      },
    });
    eco = createDebianMaster(config, { cacheDir: join(dir, 'cache') });
    farm = await startFarm([eco]);
    await farm.master.syncNow();
    await eco.service.replan();
  }, 60_000);

  afterAll(async () => {
    await stopWorker?.();
    await farm?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('computes every state before testing, and queues only waiting-to-be-tested packages, most waited-on first', async () => {
    expect(stateOf('base-a')).toBe('waiting-to-be-tested');
    expect(stateOf('bad-f')).toBe('waiting-to-be-tested');
    expect(stateOf('lib-b')).toBe('waiting-for-dependency-to-be-tested');
    expect(stateOf('miss-h')).toBe('dependency-does-not-exist');
    expect(snap()!.states.status('miss-h')!.blocker).toMatchObject({ dependency: 'no-such-package', state: 'does-not-exist' });
    const why = await farm.admin('status?why=user-g&ecosystem=debian');
    expect(JSON.stringify(why.json)).toContain('piuparts state waiting-for-dependency-to-be-tested: bad-f is waiting-to-be-tested');
    const q = await queued();
    // cyc-2's only dependency is on its own cycle, so piuparts' cycle rule lets it be tested now.
    expect(q.map((r) => r.name).sort()).toEqual(['bad-f', 'base-a', 'cyc-2']);
    expect(snap()!.states.status('cyc-2')!.circular).toBe(true);
    // Six packages wait on base-a, one on bad-f, one on cyc-2.
    expect(q[0]!.name).toBe('base-a');
  });

  it('tests the section with a Kiln worker: dependencies propagate, failures block their dependents', async () => {
    const w = farm.worker(createDebianWorker({ sections: ['kilntest'], cacheDir: join(dir, 'worker-cache') }));
    stopWorker = w.stop;
    await waitFor(settled, 90_000, 'the section to be tested');
    const expected: Record<string, string> = {
      'base-a': 'successfully-tested',
      'lib-b': 'successfully-tested',
      'prov-p': 'successfully-tested',
      'app-c': 'successfully-tested',
      'alt-d': 'successfully-tested',
      'cyc-1': 'successfully-tested',
      'cyc-2': 'successfully-tested',
      'bad-f': 'failed-testing',
      'user-g': 'dependency-failed-testing',
      'miss-h': 'dependency-does-not-exist',
    };
    for (const [name, state] of Object.entries(expected)) expect(`${name}: ${stateOf(name)}`).toBe(`${name}: ${state}`);
    expect(snap()!.states.status('user-g')!.blocker).toMatchObject({ dependency: 'bad-f', state: 'failed-testing' });
    const all = await builds();
    expect(all[0]!.name).toBe('base-a');
    // Nothing blocked or missing was ever handed out.
    expect(all.map((b) => b.name)).not.toContain('user-g');
    expect(all.map((b) => b.name)).not.toContain('miss-h');
    const bad = all.find((b) => b.name === 'bad-f')!;
    expect(bad.status).toBe('failed');
  }, 120_000);

  it('keeps the logs in piuparts-slave format and finds known problems in them', async () => {
    await farm.settle();
    const bad = (await builds()).find((b) => b.name === 'bad-f')!;
    const log = gunzipSync(readFileSync(join(farm.master.ctx.paths.outputPath, 'logs', '0', `${bad.id}.txt.gz`))).toString('utf8');
    expect(log).toMatch(/^Start: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/m);
    expect(log).toContain('Package: bad-f');
    expect(log).toMatch(/^Executing: .*--apt bad-f=3\.0/m);
    expect(log).toMatch(/^ret=1$/m);
    expect(log).toMatch(/^End: /m);
    const problems = await farm.db.query<{ problem: string }>('SELECT problem FROM debian_log_problems WHERE build_id = $1', [bad.id]);
    expect(problems.length).toBeGreaterThan(0);
  });

  it('says untestable when the mirror has another version, and a new version outdates the old result', async () => {
    await stopWorker!();
    stopWorker = null;
    // The mirror moves base-a on before the master has synced: the worker's own index disagrees.
    writeTestMirror(join(dir, 'mirror'), { testdist: PACKAGES.map((p) => (p.name === 'base-a' ? { ...p, version: '1.1' } : p)) });
    await farm.db.query(`DELETE FROM builds WHERE version_id IN (SELECT v.id FROM versions v JOIN packages p ON p.id = v.package_id WHERE p.name = 'base-a')`);
    await eco.service.replan();
    expect((await queued()).map((r) => r.name)).toEqual(['base-a']);
    const w = farm.worker(createDebianWorker({ sections: ['kilntest'], cacheDir: join(dir, 'worker-cache-2') }));
    stopWorker = w.stop;
    const untestable = await waitFor(async () => (await builds()).find((b) => b.name === 'base-a' && b.status === 'untestable'), 30_000, 'an untestable result');
    expect(untestable.failure_reason).toMatch(/1\.1/);
    await waitFor(async () => (await eco.service.replan(), stateOf('base-a') === 'cannot-be-tested'), 10_000, 'base-a to be cannot-be-tested');
    // The master syncs the new version: the untestable result of 1.0 no longer counts.
    await farm.master.syncNow();
    await waitFor(async () => (await builds()).find((b) => b.name === 'base-a' && b.version === '1.1' && b.status === 'passed'), 30_000, 'base-a 1.1 to pass');
    await waitFor(settled, 30_000, 'the section to settle');
    expect(stateOf('base-a')).toBe('successfully-tested');
    expect(snap()!.states.version('base-a')).toBe('1.1');
  }, 120_000);

  it('reschedules old results, at most reschedule-old-count, after every untested package', { timeout: 60_000 }, async () => {
    await stopWorker!();
    stopWorker = null;
    await eco.service.maintainAll(Date.now() + 200 * 86_400_000);
    const marks = await farm.db.query<{ kind: string }>(`SELECT kind FROM debian_marks WHERE kind = 'retest'`);
    expect(marks).toHaveLength(3);
    // A stopped worker's last long-poll may still claim one on the master's side; its
    // short claim lease (15 s) runs out and the build is queued again.
    const q = await waitFor(async () => {
      await eco.service.replan();
      const rows = await queued();
      return rows.length === 3 && rows;
    }, 45_000, 'three retests in the queue');
    expect(q.every((r) => r.priority < 0)).toBe(true);
    // The retest marks do not change states until the new results come in.
    expect(stateOf('lib-b')).toBe('successfully-tested');
  });

  it('plans again at once when an operator forgets a result (kiln rebuild)', { timeout: 30_000 }, async () => {
    const r = await farm.admin('rebuild', 'POST', { ecosystem: 'debian', name: 'bad-f' });
    expect(r.status).toBe(200);
    await waitFor(async () => (await queued()).some((q) => q.name === 'bad-f' && q.priority > 0), 20_000, 'bad-f to be queued again');
  });

  it('tracks a package again at the next sync after kiln remove, since the section still tests it', { timeout: 30_000 }, async () => {
    const del = await farm.admin('packages?ecosystem=debian&name=miss-h', 'DELETE');
    expect(del.status).toBe(200);
    expect(await farm.db.query(`SELECT 1 FROM packages WHERE ecosystem = 'debian' AND name = 'miss-h'`)).toHaveLength(0);
    await farm.master.syncNow();
    expect(await farm.db.query(`SELECT 1 FROM packages WHERE ecosystem = 'debian' AND name = 'miss-h'`)).toHaveLength(1);
  });
});
