import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPypiMaster, devModeKeeps, isRelevantAction, isRemoval, type PypiMasterOptions } from '../../src/ecosystems/pypi/master.ts';
import type { MasterEcosystem, SourcePackage, SourceStore, TargetInfo, VersionInfo } from '../../src/ecosystems/types.ts';
import { PypiUpstreamModel, startPypiUpstream, type PypiUpstream } from '../helpers/pypi-upstream.ts';

const signal = new AbortController().signal;

function fakeStore(initial: Record<string, unknown> = {}) {
  const state = new Map<string, unknown>(Object.entries(initial));
  const calls: string[] = [];
  const applied: SourcePackage[] = [];
  const removed: Array<[string, string]> = [];
  const errors: Array<[string, string]> = [];
  const serials: number[] = [];
  const tracked = new Set<string>();
  const store: SourceStore = {
    trackedPackages: async () => [...tracked],
    applyPackage: async (p, gone) => {
      expect(gone).toBe('removed from PyPI');
      calls.push(`apply ${p.name}`);
      applied.push(p);
      tracked.add(p.name);
    },
    recordSyncError: async (n, m) => void errors.push([n, m]),
    removePackage: async (n, r) => {
      calls.push(`remove ${n}`);
      removed.push([n, r]);
      tracked.delete(n);
    },
    getState: async <T>(k: string, f: T) => (state.has(k) ? (state.get(k) as T) : f),
    setState: async (k, v) => {
      state.set(k, v);
      if (k === 'serial') serials.push(v as number);
    },
  };
  const last = (name: string) => [...applied].reverse().find((p) => p.name === name);
  const reset = () => {
    calls.length = 0;
    applied.length = 0;
    removed.length = 0;
    errors.length = 0;
  };
  return { store, state, calls, applied, removed, errors, serials, last, reset };
}

function logger() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

describe('PyPI changelog actions', () => {
  it('knows which actions matter and which remove', () => {
    expect(isRelevantAction('add source file pkg-1.0.tar.gz')).toBe(true);
    expect(isRelevantAction('add cp311 file pkg-1.0-cp311-cp311-linux_x86_64.whl')).toBe(true);
    expect(isRelevantAction('remove file pkg-1.0.tar.gz')).toBe(true);
    expect(isRelevantAction('add Owner someone')).toBe(false);
    expect(isRelevantAction('remove Owner someone')).toBe(false);
    expect(isRemoval('remove project')).toBe(true);
    expect(isRemoval('remove release')).toBe(true);
    expect(isRemoval('remove file pkg-1.0.tar.gz')).toBe(true);
    expect(isRemoval('remove Maintainer x')).toBe(false);
  });

  it('dev mode keeps listed packages and a fixed 1-in-256 sample', () => {
    const kept = Array.from({ length: 5000 }, (_, i) => `pkg-${i}`).filter((n) => devModeKeeps(n, new Set()));
    expect(kept.length).toBeGreaterThan(5);
    expect(kept.length).toBeLessThan(50);
    expect(devModeKeeps('anything', new Set(['anything']))).toBe(true);
  });
});

describe('PyPI master against a fake PyPI', () => {
  let model: PypiUpstreamModel;
  let up: PypiUpstream;
  const opts = (extra: Partial<PypiMasterOptions> = {}): PypiMasterOptions => ({
    xmlrpc: up.xmlrpcUrl,
    simple: up.simpleUrl,
    json: up.jsonUrl,
    packages: [],
    concurrency: 1,
    ...extra,
  });

  beforeAll(async () => {
    model = new PypiUpstreamModel();
    up = await startPypiUpstream(model);
  });
  afterAll(async () => up?.close());

  describe('following the XML-RPC changelog', () => {
    let master: MasterEcosystem;
    const s = fakeStore();
    const { log, lines } = logger();

    beforeAll(() => {
      master = createPypiMaster(opts());
      model.createPackage('Pure.Pkg', 'A pure package');
      model.addFile('Pure.Pkg', '1.0', { kind: 'sdist', requiresPython: '>=3.8' });
      model.addFile('Pure.Pkg', '1.0', { kind: 'wheel' });
      model.createPackage('binonly', 'Wheels first');
      model.addFile('binonly', '1.0', { kind: 'wheel' });
      model.event('x'.repeat(201), null, 'create');
      model.event('Pure.Pkg', null, 'add Owner someone');
    });

    it('applies every package in the changelog with all its versions, and stores the serial', async () => {
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual(['apply pure-pkg', 'apply binonly']);
      const pure = s.last('pure-pkg')!;
      expect(pure).toMatchObject({ name: 'pure-pkg', displayName: 'Pure.Pkg', summary: 'A pure package' });
      expect(pure.versions).toHaveLength(1);
      const v = pure.versions[0]!;
      expect(v).toMatchObject({ version: '1.0', skip: null, yanked: false });
      expect(v.released.toISOString()).toBe('2024-01-01T00:03:00.000Z');
      expect(v.meta).toEqual({
        sdist_url: `${up.url}/files/pure_pkg-1.0.tar.gz`,
        sdist_filename: 'pure_pkg-1.0.tar.gz',
        sha256: model.projects.get('pure-pkg')!.releases.get('1.0')![0]!.sha256,
        requires_python: '>=3.8',
        yanked_reason: null,
      });
      expect(s.last('binonly')!.versions[0]).toMatchObject({ version: '1.0', skip: 'binary only' });
      expect(s.state.get('serial')).toBe(model.serial);
      expect(lines.some((l) => String(l.msg).includes('over 200 characters ignored'))).toBe(true);
    });

    it('re-reads the margin but does not handle the same events twice in one process', async () => {
      s.reset();
      const before = up.requests.length;
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual([]);
      expect(up.requests.slice(before).every((r) => r === 'POST /pypi')).toBe(true);
    });

    it('builds a binary-only version once its sdist arrives', async () => {
      s.reset();
      model.addFile('binonly', '1.0', { kind: 'sdist' });
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual(['apply binonly']);
      expect(s.last('binonly')!.versions[0]).toMatchObject({ version: '1.0', skip: null });
    });

    it('follows yanks and unyanks', async () => {
      s.reset();
      model.yank('Pure.Pkg', '1.0', 'oops');
      await master.sync(s.store, log, signal);
      expect(s.last('pure-pkg')!.versions[0]).toMatchObject({ yanked: true, meta: { yanked_reason: 'oops' } });
      model.unyank('Pure.Pkg', '1.0');
      await master.sync(s.store, log, signal);
      expect(s.last('pure-pkg')!.versions[0]).toMatchObject({ yanked: false, meta: { yanked_reason: null } });
    });

    it('drops a removed version from what it applies', async () => {
      s.reset();
      model.addFile('Pure.Pkg', '2.0', { kind: 'sdist' });
      model.removeVersion('Pure.Pkg', '1.0');
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual(['apply pure-pkg']);
      expect(s.last('pure-pkg')!.versions.map((v) => v.version)).toEqual(['2.0']);
    });

    it('removes a package PyPI removed', async () => {
      s.reset();
      model.removePackage('binonly');
      await master.sync(s.store, log, signal);
      expect(s.removed).toEqual([['binonly', 'removed from PyPI']]);
    });

    it('orders events by timestamp, not serial', async () => {
      s.reset();
      const t = model.clock;
      model.projects.set('late', { name: 'late', summary: '', releases: new Map() });
      model.projects.set('early', { name: 'early', summary: '', releases: new Map() });
      model.event('late', null, 'create', t + 500);
      model.event('early', null, 'create', t + 100);
      model.clock = t + 1000;
      model.addFile('late', '1.0', { kind: 'sdist' });
      model.addFile('early', '1.0', { kind: 'sdist' });
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual(['apply early', 'apply late']);
    });

    it('picks up late events with serials below the stored one', async () => {
      s.reset();
      const gaps = [++model.serial, ++model.serial];
      model.addFile('early', '1.1', { kind: 'sdist' });
      await master.sync(s.store, log, signal);
      const stored = s.state.get('serial') as number;
      expect(stored).toBe(model.serial);
      s.reset();
      model.projects.set('straggler', { name: 'Straggler', summary: '', releases: new Map() });
      model.addFile('straggler', '0.1', { kind: 'sdist' });
      // Renumber the two events into the gap, as when PyPI commits serials out of order.
      const late = model.events.splice(-2, 2);
      model.serial -= 2;
      late.forEach((e, i) => model.events.push([e[0], e[1], e[2], e[3], gaps[i]!]));
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual(['apply straggler']);
      expect(s.state.get('serial')).toBe(stored);
    });

    it('survives rate limiting, keeping the serial, and catches up next time', async () => {
      s.reset();
      const serial = s.state.get('serial') as number;
      model.addFile('early', '1.2', { kind: 'sdist' });
      up.failNext(429);
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual([]);
      expect(s.state.get('serial')).toBe(serial);
      expect(lines.at(-1)).toMatchObject({ msg: expect.stringContaining('serial is kept'), serial });
      await master.sync(s.store, log, signal);
      expect(s.last('early')!.versions.map((v) => v.version)).toEqual(['1.0', '1.1', '1.2']);
      expect(s.state.get('serial')).toBe(model.serial);
    });

    it('survives a 503 from the JSON API in the middle of a batch and retries the batch', async () => {
      s.reset();
      const serial = s.state.get('serial') as number;
      model.addFile('early', '1.3', { kind: 'sdist' });
      up.failMatching(/^GET \/pypi\/early\/json/, 503);
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual([]);
      expect(s.state.get('serial')).toBe(serial);
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual(['apply early']);
      expect(s.state.get('serial')).toBe(model.serial);
    });

    it('survives the upstream being down', async () => {
      const s2 = fakeStore({ serial: 3 });
      await createPypiMaster(opts({ xmlrpc: 'http://127.0.0.1:9/pypi', simple: 'http://127.0.0.1:9/simple', json: 'http://127.0.0.1:9/pypi' })).sync(s2.store, log, signal);
      expect(s2.calls).toEqual([]);
      expect(s2.state.get('serial')).toBe(3);
    });

    it('never moves the serial backwards', async () => {
      expect([...s.serials]).toEqual([...s.serials].sort((a, b) => a - b));
      const ahead = fakeStore({ serial: model.serial + 5000 });
      await createPypiMaster(opts()).sync(ahead.store, log, signal);
      expect(ahead.serials).toEqual([]);
      expect(ahead.state.get('serial')).toBe(model.serial + 5000);
    });
  });

  describe('with a package list, dev mode and kiln add', () => {
    it('starts at the changelog head and fetches only the listed packages', async () => {
      const s = fakeStore();
      const { log } = logger();
      await createPypiMaster(opts({ packages: ['PURE_pkg'] })).sync(s.store, log, signal);
      expect(s.calls).toEqual(['apply pure-pkg']);
      expect(s.state.get('serial')).toBe(model.serial);
    });

    it('skips most packages in dev mode, starting at the head', async () => {
      const s = fakeStore();
      const { log } = logger();
      const master = createPypiMaster(opts({ devMode: true, packages: [] }));
      await master.sync(s.store, log, signal);
      expect(s.calls).toEqual([]);
      expect(s.state.get('serial')).toBe(model.serial);
      model.addFile('Pure.Pkg', '3.0', { kind: 'sdist' });
      model.addFile('early', '2.0', { kind: 'sdist' });
      await master.sync(s.store, log, signal);
      expect(s.applied.map((p) => p.name).sort()).toEqual(['early', 'pure-pkg']);
      for (const p of s.applied) {
        const keep = devModeKeeps(p.name, new Set());
        for (const v of p.versions) expect(v.skip === 'development mode', `${p.name} ${v.version}`).toBe(!keep);
      }
    });

    it('fetches one package for kiln add, or null', async () => {
      const master = createPypiMaster(opts());
      expect((await master.fetchPackage('pure.pkg', signal))?.displayName).toBe('Pure.Pkg');
      expect(await master.fetchPackage('no-such-thing', signal)).toBeNull();
      expect(await master.fetchPackage('y'.repeat(201), signal)).toBeNull();
    });
  });

  describe('falling back to the simple API', () => {
    it('follows the PEP 691 index when XML-RPC is absent', async () => {
      up.xmlrpc = false;
      try {
        const s = fakeStore();
        const { log, lines } = logger();
        const master = createPypiMaster(opts());
        model.yank('early', '1.0');
        await master.sync(s.store, log, signal);
        expect(lines.some((l) => String(l.msg).includes('following the simple API'))).toBe(true);
        expect(s.applied.map((p) => p.name).sort()).toEqual(['early', 'late', 'pure-pkg', 'straggler']);
        const early = s.last('early')!;
        expect(early.summary).toBeNull();
        const v10 = early.versions.find((v) => v.version === '1.0')!;
        expect(v10).toMatchObject({ yanked: true, skip: null, meta: { sdist_url: `${up.url}/files/early-1.0.tar.gz` } });
        expect(v10.released.getTime()).toBeGreaterThan(0);
        expect(s.state.has('serial')).toBe(false);

        // Unchanged projects (same _last-serial) are not fetched again; a removed one is removed.
        s.reset();
        model.removePackage('late');
        await master.sync(s.store, log, signal);
        expect(s.removed).toEqual([['late', 'removed from PyPI']]);

        // fetchPackage falls back to the simple page when the JSON API has nothing.
        const viaSimple = await createPypiMaster(opts({ json: `${up.url}/nojson` })).fetchPackage('Early', signal);
        expect(viaSimple?.versions.map((v) => v.version).sort()).toEqual(['1.0', '1.1', '1.2', '1.3', '2.0']);
      } finally {
        up.xmlrpc = true;
      }
    });
  });

  describe('eligibility, job specs and artifact names', () => {
    const master = createPypiMaster({ xmlrpc: 'http://x.test/pypi', simple: 'http://x.test/simple', json: 'http://x.test/pypi', packages: [] });
    const target: TargetInfo = { name: 'cp311-linux_x86_64', facts: { abi: 'cp311', platform: 'linux_x86_64', python: '3.11.7' } };
    const v = (meta: Record<string, unknown>): VersionInfo => ({ packageName: 'my-pkg', displayName: 'My.Pkg', packageMeta: {}, version: '1.0', meta });
    const good = v({ sdist_url: 'http://x.test/f/my_pkg-1.0.tar.gz', sha256: 'a'.repeat(64), requires_python: '>=3.8' });

    it('skips by Requires-Python and binary only', () => {
      expect(master.targetSkipReason(good, target)).toBeNull();
      expect(master.targetSkipReason(v({ ...good.meta, requires_python: '<3.11' }), target)).toBe('requires_python "<3.11" excludes Python 3.11.7');
      expect(master.targetSkipReason(v({}), target)).toBe('binary only');
    });

    it('writes the job spec the worker reads', () => {
      expect(master.jobSpec(good, target)).toEqual({
        name: 'My.Pkg',
        version: '1.0',
        index_url: 'http://x.test/simple/',
        sdist_url: 'http://x.test/f/my_pkg-1.0.tar.gz',
        sha256: 'a'.repeat(64),
      });
      expect(master.jobSpec(v({ sdist_url: 'http://x.test/f.tar.gz' }), target)).not.toHaveProperty('sha256');
    });

    it('accepts wheels (and their .metadata) of this version that install on the target', () => {
      expect(master.checkArtifactName('my_pkg-1.0-cp311-cp311-linux_x86_64.whl', good, target)).toBeNull();
      expect(master.checkArtifactName('My.Pkg-1.0.0-py3-none-any.whl.metadata', good, target)).toBeNull();
      expect(master.checkArtifactName('my_pkg-1.0-cp312-cp312-linux_x86_64.whl', good, target)).toMatch(/does not install on cp311-linux_x86_64/);
      expect(master.checkArtifactName('my_pkg-1.1-py3-none-any.whl', good, target)).toMatch(/version 1.1/);
      expect(master.checkArtifactName('evil-1.0-py3-none-any.whl', good, target)).toMatch(/not "my-pkg"/);
      expect(master.checkArtifactName('my_pkg-1.0.tar.gz', good, target)).toMatch(/not a wheel/);
    });
  });
});
