/**
 * One Debian section served at once to the REAL piuparts-slave (through a
 * fake ssh and the real `kiln piuparts-master` relay) and to a Kiln worker:
 * both draw from the same queue, their results land in the same builds
 * table, the states and reports show both, and `status` over the protocol
 * agrees with the master's counts.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDebianMaster, type DebianMaster } from '../../src/ecosystems/debian/master.ts';
import { defaultPiupartsSocketPath } from '../../src/ecosystems/debian/piuparts-master/relay-wire.ts';
import { debianSchema } from '../../src/ecosystems/debian/section-config.ts';
import { createDebianWorker } from '../../src/ecosystems/debian/worker.ts';
import { writeStubPiuparts } from '../helpers/debian-stub-piuparts.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { hostArch, piupartsSlaveSkipReason, startPiupartsSlave, writeTestMirror, type MirrorPackage, type PiupartsSlave } from '../helpers/piuparts-slave.ts';

const KILN = resolve(import.meta.dirname, '..', '..', 'bin', 'kiln.js');
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const skip = piupartsSlaveSkipReason();

const pkg = (name: string, depends?: string): MirrorPackage => ({ name, version: '1.0-1', fields: depends ? { Depends: depends } : {} });
const PACKAGES: MirrorPackage[] = [
  pkg('base-a'),
  pkg('bad-f'),
  pkg('lib-b', 'base-a'),
  pkg('user-g', 'bad-f'),
  pkg('miss-h', 'gone-for-good'),
  pkg('tool-1', 'lib-b'),
  pkg('tool-2', 'lib-b'),
  pkg('tool-3', 'base-a'),
  pkg('leaf-1'),
  pkg('leaf-2'),
  pkg('leaf-3'),
];

/** Run the relay once with this input, as a slave's ssh would. */
function relay(sock: string, input: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [KILN, 'piuparts-master', '--socket', sock], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', fail);
    child.on('close', () => done(out));
    child.stdin.end(input);
  });
}

describe.skipIf(skip !== null)(`a section shared by the real piuparts-slave and a Kiln worker${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir: string;
  let farm: Farm;
  let eco: DebianMaster;
  let slave: PiupartsSlave | null = null;
  let stopWorker: (() => Promise<void>) | null = null;
  let sock: string;

  const stateOf = (name: string) => eco.service.snapshot('sid')?.states.state(name);
  const results = () =>
    farm.db.query<{ name: string; status: string; worker: string }>(
      `SELECT p.name, b.status, w.name AS worker FROM builds b JOIN versions v ON v.id = b.version_id JOIN packages p ON p.id = v.package_id
       JOIN workers w ON w.id = b.worker_id WHERE b.status IN ('passed', 'failed', 'untestable') ORDER BY b.id`,
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-debian-slave-'));
    const mirror = writeTestMirror(join(dir, 'mirror'), { sid: PACKAGES });
    const stub = await writeStubPiuparts(dir, ['bad-f']);
    const config = debianSchema.parse({ enabled: true, sections: { sid: { mirror, distro: 'sid', arch: hostArch(), 'piuparts-command': stub } } });
    eco = createDebianMaster(config, { cacheDir: join(dir, 'cache') });
    farm = await startFarm([eco], {}, { dir: join(dir, 'master') });
    sock = defaultPiupartsSocketPath(farm.master.ctx.paths.dataDir);
    await farm.master.syncNow();
    await eco.service.replan();
  }, 60_000);

  afterAll(async () => {
    await slave?.cleanup();
    await stopWorker?.();
    await farm?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers status over the protocol with the master\'s counts', async () => {
    const out = await relay(sock, 'section sid\nstatus\n');
    expect(out.split('\n')[0]).toBe('hello');
    expect(out).toMatch(/^ok successfully-tested=0 failed-testing=0 cannot-be-tested=0 waiting-to-be-tested=5 waiting-for-dependency-to-be-tested=5 dependency-failed-testing=0 dependency-cannot-be-tested=0 dependency-does-not-exist=1 .*total=11$/m);
  });

  it('says idle when nothing can be reserved, and not once a reservation is given back', async () => {
    const first = await relay(sock, `section sid\n${'reserve\n'.repeat(6)}idle\n`);
    const reserved = [...first.matchAll(/^ok (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]);
    expect(reserved).toHaveLength(5);
    expect(first).toMatch(/^error$/m);
    expect(Number(/^ok (\d+)$/m.exec(first)?.[1])).toBeGreaterThan(3000);
    const second = await relay(sock, `section sid\n${reserved.map(([n, v]) => `unreserve ${n} ${v}\n`).join('')}idle\n`);
    expect(second.trim().split('\n').at(-1)).toBe('ok 0');
    await eco.service.replan();
    expect((await farm.db.query(`SELECT 1 FROM pending WHERE target = 'sid'`)).length).toBe(5);
  });

  it('hands packages to the real piuparts-slave and records its results', async () => {
    slave = await startPiupartsSlave({
      masterCommand: `${sq(process.execPath)} ${sq(KILN)} piuparts-master --socket ${sq(sock)}`,
      sections: [{ name: 'sid', maxReserved: 3 }],
      failPackages: ['bad-f'],
      mirrorDir: join(dir, 'mirror'),
    });
    const got = await slave.waitForSubmissions(3, 120_000);
    // The most waited-on packages go first: base-a (4 wait on it) and bad-f (1) are among the first three.
    expect(got.map((s) => s.name)).toContain('base-a');
    await waitFor(async () => (await results()).length >= 3, 10_000, 'the slave\'s results in the builds table');
    const mine = (await results()).filter((r) => r.worker.startsWith('piuparts-slave@'));
    expect(mine.length).toBeGreaterThanOrEqual(3);
    expect(mine[0]!.worker).toBe('piuparts-slave@127.0.0.1');
  }, 180_000);

  it('lets a Kiln worker finish the same section; states and reports show both', async () => {
    const w = farm.worker(createDebianWorker({ sections: ['sid'], cacheDir: join(dir, 'worker-cache') }), { name: 'kiln-worker' });
    stopWorker = w.stop;
    await waitFor(async () => {
      await eco.service.replan();
      return eco.service.snapshot('sid')!.states.inState('waiting-to-be-tested').length === 0
        && eco.service.snapshot('sid')!.states.inState('waiting-for-dependency-to-be-tested').length === 0;
    }, 120_000, 'every package to be tested');
    const all = await results();
    expect(new Set(all.map((r) => (r.worker.startsWith('piuparts-slave@') ? 'slave' : r.worker)))).toEqual(new Set(['slave', 'kiln-worker']));
    expect(stateOf('bad-f')).toBe('failed-testing');
    expect(stateOf('user-g')).toBe('dependency-failed-testing');
    expect(stateOf('miss-h')).toBe('dependency-does-not-exist');
    for (const name of ['base-a', 'lib-b', 'tool-1', 'tool-2', 'tool-3', 'leaf-1', 'leaf-2', 'leaf-3']) expect(`${name} ${stateOf(name)}`).toBe(`${name} successfully-tested`);

    const out = farm.master.ctx.paths.outputPath;
    // Reports are rendered a few seconds after the plan: wait until every result's page names its tester.
    const page = (name: string) => join(out, 'debian', 'sid', 'pkg', `${name}.html`);
    await waitFor(async () => all.every((r) => existsSync(page(r.name)) && readFileSync(page(r.name), 'utf8').includes(r.worker)), 30_000, 'the report to show every result');
    const userG = readFileSync(join(out, 'debian', 'sid', 'pkg', 'user-g.html'), 'utf8');
    expect(userG).toContain('bad-f');
    expect(userG).toContain('failed-testing');
    const summary = JSON.parse(readFileSync(join(out, 'debian', 'sid', 'summary.json'), 'utf8')) as { packages: Record<string, Record<string, [string, number, string]>> };
    expect(Object.keys(summary.packages).length).toBeGreaterThan(0);
    const index = readFileSync(join(out, 'debian', 'sid', 'index.html'), 'utf8');
    expect(index).toContain('successfully-tested');
    // A page names who tested the package: the slave for some, the Kiln worker for others.
    const testedBy = all.map((r) => readFileSync(page(r.name), 'utf8'));
    expect(testedBy.some((html) => html.includes('piuparts-slave@127.0.0.1'))).toBe(true);
    expect(testedBy.some((html) => html.includes('kiln-worker'))).toBe(true);

    const status = await relay(sock, 'section sid\nstatus\n');
    expect(status).toMatch(/^ok successfully-tested=8 failed-testing=1 .*dependency-failed-testing=1 .*dependency-does-not-exist=1 .*total=11$/m);
  }, 180_000);
});
