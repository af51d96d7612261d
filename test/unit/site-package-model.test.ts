/**
 * The package page's view model from a real (PGlite) database, with the
 * queue worked out by the real scheduler and the PyPI ecosystem: targets in
 * version order, a py3-none-any wheel shown as serving the other targets,
 * sidecars folded into their wheel, running builds with their worker, and
 * every build's log.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/connect.ts';
import { getPackage } from '../../src/db/queries/packages.ts';
import { listVersions } from '../../src/db/queries/versions.ts';
import { createPypiMaster } from '../../src/ecosystems/pypi/index.ts';
import type { MasterContext } from '../../src/master/context.ts';
import { loadPackageModel, tagDependencies } from '../../src/master/package-model.ts';
import { scheduleVersion } from '../../src/master/scheduler.ts';
import type { PackagePage } from '../../src/site/render.ts';
import { testDb } from '../helpers/db.ts';

const H = (c: string) => c.repeat(64);
let db: Db;
let page: PackagePage;
const ids: Record<string, number> = {};

async function one<T>(sql: string, params: unknown[]): Promise<T> {
  return (await db.query<T>(sql, params))[0]!;
}

beforeAll(async () => {
  db = await testDb();
  const eco = createPypiMaster({ xmlrpc: 'http://127.0.0.1:9/pypi', simple: 'http://127.0.0.1:9/simple', json: 'http://127.0.0.1:9/pypi', packages: [] });
  const ctx = { ecosystems: new Map([['pypi', eco]]), events: new EventEmitter() } as unknown as MasterContext;
  // Inserted out of order: the page sorts them as versions.
  for (const [abi, python] of [['cp313', '3.13.1'], ['cp39', '3.9.2'], ['cp311', '3.11.7']]) {
    await db.query('INSERT INTO targets (name, ecosystem, facts) VALUES ($1, $2, $3)', [`${abi}-linux_x86_64`, 'pypi', { abi, platform: 'linux_x86_64', python }]);
  }
  const pkg = await one<{ id: number }>(
    `INSERT INTO packages (ecosystem, name, display_name, summary, meta) VALUES ('pypi', 'my-pkg', 'My.Pkg', 'A package', $1) RETURNING id`,
    [{ project_url: 'https://pypi.org/project/my-pkg/' }],
  );
  const sdist = (v: string, extra: object = {}) => ({ sdist_url: `http://127.0.0.1:9/my-pkg-${v}.tar.gz`, ...extra });
  for (const [version, day, yanked, meta] of [
    ['1.0', 1, false, sdist('1.0')],
    ['1.1', 2, false, sdist('1.1', { requires_python: '>=3.10' })],
    ['2.0', 3, true, sdist('2.0', { yanked_reason: 'broken <build>' })],
  ] as const) {
    ids[version] = (await one<{ id: number }>('INSERT INTO versions (package_id, version, released, yanked, meta) VALUES ($1, $2, $3, $4, $5) RETURNING id', [pkg.id, version, new Date(Date.UTC(2026, 0, day)), yanked, meta])).id;
  }
  const token = await one<{ id: number }>(`INSERT INTO worker_tokens (name, token_hash) VALUES ('t', 'h') RETURNING id`, []);
  const worker = await one<{ id: number }>(`INSERT INTO workers (token_id, name, kiln_version) VALUES ($1, 'pi-4', 'test') RETURNING id`, [token.id]);
  const build = async (version: string, target: string, status: string, extra: { duration?: number; reason?: string; worker?: number } = {}) =>
    (
      await one<{ id: number }>(
        `INSERT INTO builds (version_id, target, status, worker_id, started_at, duration_ms, failure_reason, lease_expires)
         VALUES ($1, $2, $3, $4, '2026-01-04 10:20:30+00', $5, $6, CASE WHEN $3 = 'running' THEN now() + interval '1 hour' END) RETURNING id`,
        [ids[version], target, status, extra.worker ?? null, extra.duration ?? null, extra.reason ?? null],
      )
    ).id;
  const artifact = (buildId: number, filename: string, sha: string, tags: object) =>
    db.query('INSERT INTO artifacts (build_id, filename, size, sha256, tags) VALUES ($1, $2, 1234, $3, $4)', [buildId, filename, sha, tags]);
  // 1.0: one pure wheel, built on cp311, serves cp39 and cp313 too.
  const expired = await build('1.0', 'cp311-linux_x86_64', 'expired');
  const pure = await build('1.0', 'cp311-linux_x86_64', 'passed', { duration: 12_345, worker: worker.id });
  await artifact(pure, 'my_pkg-1.0-py3-none-any.whl', H('a'), { kind: 'wheel', abi_tag: 'none', platform_tag: 'any', requires_python: null, dependencies: { apt: [], pip: ['six'] } });
  await artifact(pure, 'my_pkg-1.0-py3-none-any.whl.metadata', H('b'), { kind: 'metadata', for: 'my_pkg-1.0-py3-none-any.whl' });
  // 1.1: requires Python >= 3.10, so cp39 is skipped; cp311 failed; cp313 is building.
  const failed = await build('1.1', 'cp311-linux_x86_64', 'failed', { duration: 50, reason: 'pip wheel exited with 1' });
  const running = await build('1.1', 'cp313-linux_x86_64', 'running', { worker: worker.id });
  ids.expired = expired;
  ids.pure = pure;
  ids.failed = failed;
  ids.running = running;
  const row = (await getPackage(db, 'pypi', 'my-pkg'))!;
  for (const v of await listVersions(db, row.id)) await scheduleVersion(ctx, db, row, v);
  page = (await loadPackageModel(db, row, '/store', 'http://kiln.example')).page;
});

afterAll(async () => {
  await db?.close();
});

describe('the package page model', () => {
  it('orders targets as versions, cp39 before cp311 before cp313', () => {
    expect(page.targets).toEqual(['cp39-linux_x86_64', 'cp311-linux_x86_64', 'cp313-linux_x86_64']);
  });

  it('shows the targets a none wheel serves as served by it, with its build and log, not pending', () => {
    const v = page.versions.find((x) => x.version === '1.0')!;
    expect(v.cells['cp311-linux_x86_64']).toMatchObject({ state: 'passed', buildId: ids.pure, durationS: 12.3, logUrl: `../../../logs/0/${ids.pure}.txt.gz` });
    for (const t of ['cp39-linux_x86_64', 'cp313-linux_x86_64']) {
      const c = v.cells[t]!;
      expect(c.state, t).toBe('served');
      expect(c.servedBy).toMatchObject({ target: 'cp311-linux_x86_64', buildId: ids.pure, logUrl: `../../../logs/0/${ids.pure}.txt.gz` });
      // The same object as the building cell's file: the URL the publisher fills in reaches both.
      expect(c.servedBy!.file).toBe(v.cells['cp311-linux_x86_64']!.files[0]);
    }
  });

  it('lists the release files once, sidecars folded in, with the targets each installs on and its dependencies', () => {
    const v = page.versions.find((x) => x.version === '1.0')!;
    expect(v.files).toHaveLength(1);
    const f = v.files![0]!;
    expect(f.file).toMatchObject({ filename: 'my_pkg-1.0-py3-none-any.whl', size: 1234, sha256: H('a'), kind: 'wheel' });
    expect(f.targets).toEqual(['cp39-linux_x86_64', 'cp311-linux_x86_64', 'cp313-linux_x86_64']);
    expect(f.sidecars.map((s) => [s.filename, s.sidecarOf])).toEqual([['my_pkg-1.0-py3-none-any.whl.metadata', 'my_pkg-1.0-py3-none-any.whl']]);
    expect(f.dependencies).toEqual([{ kind: 'apt', items: [] }, { kind: 'pip', items: ['six'] }]);
    expect(v.dependencies).toEqual([{ kind: 'apt', items: [] }, { kind: 'pip', items: ['six'] }]);
  });

  it('keeps the ecosystem\'s own skip reason, failures with their log, and running builds with their worker', () => {
    const v = page.versions.find((x) => x.version === '1.1')!;
    expect(v.cells['cp39-linux_x86_64']).toMatchObject({ state: 'skipped', reason: expect.stringContaining('excludes Python 3.9.2') });
    expect(v.cells['cp311-linux_x86_64']).toMatchObject({ state: 'failed', reason: 'pip wheel exited with 1', logUrl: `../../../logs/0/${ids.failed}.txt.gz` });
    const r = v.cells['cp313-linux_x86_64']!;
    expect(r).toMatchObject({ state: 'running', worker: 'pi-4', startedAt: '2026-01-04 10:20' });
    expect(r.logUrl).toBeUndefined();
    expect(v.files).toEqual([]);
  });

  it('marks the yanked release with its reason and leaves it pending', () => {
    const v = page.versions.find((x) => x.version === '2.0')!;
    expect(v).toMatchObject({ yanked: true, yankedReason: 'broken <build>' });
    expect(Object.values(v.cells).map((c) => c.state)).toEqual(['queued', 'queued', 'queued']);
  });

  it('lists every build of a version, newest first, each with its log once it ended', () => {
    const v10 = page.versions.find((x) => x.version === '1.0')!;
    expect(v10.builds!.map((b) => [b.id, b.status, b.logUrl])).toEqual([
      [ids.pure, 'passed', `../../../logs/0/${ids.pure}.txt.gz`],
      [ids.expired, 'expired', `../../../logs/0/${ids.expired}.txt.gz`],
    ]);
    expect(v10.builds![0]).toMatchObject({ target: 'cp311-linux_x86_64', worker: 'pi-4', startedAt: '2026-01-04 10:20', durationS: 12.3 });
    const v11 = page.versions.find((x) => x.version === '1.1')!;
    expect(v11.builds!.find((b) => b.id === ids.running)!.logUrl).toBeUndefined();
  });
});

describe('tagDependencies', () => {
  it('reads lists of strings per kind, sorted and deduplicated, and ignores anything else', () => {
    expect(tagDependencies({ dependencies: { pip: ['b', 'a', 'b', '', 3], apt: 'libc6', x: [] } })).toEqual([{ kind: 'pip', items: ['a', 'b'] }, { kind: 'x', items: [] }]);
    expect(tagDependencies({ dependencies: ['a'] })).toEqual([]);
    expect(tagDependencies({})).toEqual([]);
  });
});
