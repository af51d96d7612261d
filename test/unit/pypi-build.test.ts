/**
 * The real PyPI build path: fixture sdists served by a local PEP 503 index
 * and built by real pip through the PyPI worker. No sandbox:
 * BuildContext.run goes through the worker's runner, unsandboxed. Build isolation installs
 * setuptools and wheel from the same local index, seeded from Debian's
 * python3-setuptools-whl and python3-wheel-whl.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, TargetDecl } from '../../src/ecosystems/types.ts';
import { createPypiWorker, type PypiWorkerJobSpec } from '../../src/ecosystems/pypi/worker.ts';
import { dpkgCandidates, firstPipError, indexUnreachable, parseDpkgS, parseLdd } from '../../src/ecosystems/pypi/worker-deps.ts';
import { parseCoreMetadata, requiredNames } from '../../src/ecosystems/pypi/worker-wheel.ts';
import { makeSdist, missingSeedWheels, startLocalIndex, type LocalIndex, type Sdist } from '../helpers/pypi-fixture.ts';
import { makeBuildContext } from '../helpers/build-context.ts';


describe('pypi worker helpers', () => {
  it('reads Requires-Dist names without extras, specifiers or extra-only requirements', () => {
    const meta = parseCoreMetadata(
      [
        'Metadata-Version: 2.1',
        'Name: x',
        'Requires-Python: >=3.8',
        'Requires-Dist: requests[socks] (>=2.0)',
        'Requires-Dist: Typing_Extensions>=4; python_version < "3.10"',
        'Requires-Dist: ujson ; extra == "fast"',
        'Requires-Dist: requests>=1',
        '',
        'Requires-Dist: not-a-header-this-is-the-description',
      ].join('\n'),
    );
    expect(meta.get('requires-python')).toEqual(['>=3.8']);
    expect(requiredNames(meta)).toEqual(['requests', 'Typing_Extensions']);
  });

  it('parses ldd and dpkg -S output', () => {
    const ldd = parseLdd(
      '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n\tlibfoo.so.1 => not found\n',
    );
    expect(ldd).toEqual({ resolved: ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2'], missing: ['libfoo.so.1'] });
    const owners = parseDpkgS('libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\ndiversion by x from: /a\ndpkg-query: no path found matching pattern /usr/lib64/x\na, b:i386: /lib/y\n');
    expect([...owners]).toEqual([
      ['/lib/x86_64-linux-gnu/libc.so.6', ['libc6']],
      ['/lib/y', ['a', 'b']],
    ]);
  });

  it('picks the compiler error out of a pip log', () => {
    const log = [
      '2026-05-01T10:00:00,001 Running setup.py install',
      '2026-05-01T10:00:01,002   error: subprocess-exited-with-error',
      '2026-05-01T10:00:01,003   kiln_broken.c:3:10: fatal error: kiln_missing_header.h: No such file or directory',
      "2026-05-01T10:00:01,004   error: command '/usr/bin/gcc' failed with exit code 1",
      '2026-05-01T10:00:02,005 ERROR: Failed building wheel for kiln-broken',
    ].join('\n');
    expect(firstPipError(log)).toBe('kiln_broken.c:3:10: fatal error: kiln_missing_header.h: No such file or directory');
    expect(firstPipError('ERROR: Failed building wheel for x')).toBe('ERROR: Failed building wheel for x');
  });

  it('tells an unreachable index (a worker fault) from a missing version', () => {
    const retry =
      "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError(\"Failed to establish a new connection: [Errno 111] Connection refused\")': /simple/x/";
    const none = 'ERROR: Could not find a version that satisfies the requirement x==1.0 (from versions: none)';
    expect(indexUnreachable(`${retry}\n${none}`)).toBe(true);
    expect(indexUnreachable(none)).toBe(false);
  });

  it('tries merged-/usr spellings of a library path for dpkg -S', () => {
    expect(dpkgCandidates('/usr/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13')).toEqual([
      '/usr/lib/x86_64-linux-gnu/libz.so.1',
      '/lib/x86_64-linux-gnu/libz.so.1',
      '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13',
      '/lib/x86_64-linux-gnu/libz.so.1.2.13',
    ]);
  });
});

const seedProblem = missingSeedWheels();
if (seedProblem) console.warn(`skipping pypi builds: ${seedProblem}`);

describe.skipIf(!!seedProblem)('pypi worker builds fixture sdists with real pip', () => {
  let tmp: string;
  let index: LocalIndex;
  let targets: TargetDecl[];
  const worker = createPypiWorker();
  const sdists = new Map<string, Sdist>();
  let buildNo = 0;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'kiln-pypi-build-'));
    const made = await Promise.all([
      makeSdist(path.join(tmp, 'src'), { name: 'kiln-pure', version: '1.0.0', kind: 'pure', requiresPython: '>=3.8', requires: ['requests>=2', 'six'], extras: { fast: ['ujson'] } }),
      makeSdist(path.join(tmp, 'src'), { name: 'kiln-cext', version: '1.0.0', kind: 'c-ext' }),
      makeSdist(path.join(tmp, 'src'), { name: 'kiln-broken', version: '1.0.0', kind: 'broken' }),
    ]);
    for (const s of made) sdists.set(s.filename, s);
    index = await startLocalIndex(made.map((s) => s.path));
    targets = await worker.detectTargets();
  }, 30_000);

  afterAll(async () => {
    await index?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function build(name: string, withHash = false) {
    const sdist = [...sdists.values()].find((s) => s.filename.startsWith(`${name.replace(/-/g, '_')}-`))!;
    const spec: PypiWorkerJobSpec = { name, version: '1.0.0', index_url: index.url, sdist_url: index.files.get(sdist.filename)!.url };
    if (withHash) spec.sha256 = sdist.sha256;
    const job: Job = {
      buildId: ++buildNo,
      ecosystem: 'pypi',
      package: name,
      displayName: name,
      version: '1.0.0',
      target: targets[0]!.name,
      timeoutS: 120,
      spec: spec as unknown as Job['spec'],
    };
    const workDir = path.join(tmp, `build-${buildNo}`);
    await mkdir(workDir);
    const ctx = makeBuildContext(workDir);
    const outcome = await worker.build(job, ctx);
    return { outcome, log: ctx.text() };
  }

  it('declares one target for its Python', async () => {
    const pv = await new Promise<string>((resolve) => {
      const c = spawn('python3', ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']);
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', () => resolve(out.trim()));
    });
    const [maj, min] = pv.split('.');
    expect(targets).toHaveLength(1);
    const t = targets[0]!;
    expect(t.ecosystem).toBe('pypi');
    expect(t.facts).toEqual({ abi: `cp${maj}${min}`, platform: expect.stringMatching(/^linux_/), python: pv });
    expect(t.name).toBe(`cp${maj}${min}-${String(t.facts.platform)}`);
  });

  it('builds a pure-Python wheel with its METADATA beside it', async () => {
    const { outcome, log } = await build('kiln-pure', true);
    expect(outcome.failureReason, log).toBeNull();
    expect(outcome.status).toBe('passed');
    expect(outcome.artifacts.map((a) => a.filename)).toEqual(['kiln_pure-1.0.0-py3-none-any.whl', 'kiln_pure-1.0.0-py3-none-any.whl.metadata']);
    const [wheel, meta] = outcome.artifacts as [(typeof outcome.artifacts)[0], (typeof outcome.artifacts)[0]];
    expect(wheel.tags).toEqual({
      kind: 'wheel',
      python_tag: 'py3',
      abi_tag: 'none',
      platform_tag: 'any',
      build_tag: null,
      requires_python: '>=3.8',
      dependencies: { apt: [], pip: ['requests', 'six'] },
    });
    expect(meta.tags).toEqual({ kind: 'metadata', for: 'kiln_pure-1.0.0-py3-none-any.whl' });
    const text = await readFile(meta.path, 'utf8');
    expect(text).toMatch(/^Metadata-Version: /);
    expect(text).toContain('Name: kiln-pure');
  }, 40_000);

  it('builds a C extension wheel for this platform, with apt dependencies from ldd', async () => {
    const { outcome, log } = await build('kiln-cext');
    expect(outcome.failureReason, log).toBeNull();
    const t = targets[0]!.facts;
    const wheelName = `kiln_cext-1.0.0-${String(t.abi)}-${String(t.abi)}-${String(t.platform)}.whl`;
    expect(outcome.artifacts.map((a) => a.filename)).toEqual([wheelName, `${wheelName}.metadata`]);
    const tags = outcome.artifacts[0]!.tags as { platform_tag: string; abi_tag: string; requires_python: string | null; dependencies: { apt: string[]; pip: string[] } };
    expect(tags.platform_tag).toBe('linux_x86_64');
    expect(tags.abi_tag).toBe(t.abi);
    expect(tags.requires_python).toBeNull();
    expect(tags.dependencies.pip).toEqual([]);
    expect(tags.dependencies.apt, log).toContain('libc6');
    expect(log).toContain('$ ldd ');
  }, 40_000);

  it('fails the sdist that does not compile, quoting the compiler error', async () => {
    const { outcome, log } = await build('kiln-broken');
    expect(outcome.status).toBe('failed');
    expect(outcome.artifacts).toEqual([]);
    expect(outcome.failureReason).toMatch(/^pip wheel failed \(exit 1\): .*kiln_missing_header\.h: No such file or directory/);
    expect(log).toContain('kiln_missing_header.h');
  }, 40_000);
});
