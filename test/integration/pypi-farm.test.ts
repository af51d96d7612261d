/**
 * PyPI end to end on loopback, with no PyPI: a fake upstream (XML-RPC
 * changelog + JSON API) announces real sdists the test makes, a local PEP
 * 503 index serves them to the worker's pip, a Kiln worker builds wheels,
 * and real pip installs them from Kiln's index into a fresh venv.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPypiMaster, createPypiWorker } from '../../src/ecosystems/pypi/index.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { PROTOCOL_VERSION } from '../../src/version.ts';
import { makeSdist, missingSeedWheels, startLocalIndex, type LocalIndex } from '../helpers/pypi-fixture.ts';
import { PypiUpstreamModel, startPypiUpstream, type PypiUpstream } from '../helpers/pypi-upstream.ts';

const run = promisify(execFile);
const skipReason = missingSeedWheels();
let dir: string;
let upstream: PypiUpstream;
let index: LocalIndex;
let farm: Farm;

beforeAll(async () => {
  if (skipReason) return;
  dir = await mkdtemp(join(tmpdir(), 'kiln-pypi-farm-'));
  const pure = await makeSdist(dir, { name: 'kiln-pure', version: '1.0', kind: 'pure' });
  const cext = await makeSdist(dir, { name: 'kiln-cext', version: '1.0', kind: 'c-ext' });
  const broken = await makeSdist(dir, { name: 'kiln-broken', version: '0.1', kind: 'broken' });
  const model = new PypiUpstreamModel();
  for (const [name, s] of [['kiln-pure', pure], ['kiln-cext', cext], ['kiln-broken', broken]] as const) {
    model.createPackage(name, `${name} for Kiln's tests`);
    model.addFile(name, s.filename.replace(/^.*-([^-]+)\.tar\.gz$/, '$1'), { kind: 'sdist', content: readFileSync(s.path) });
  }
  // A release with only a wheel: skipped as binary only until an sdist arrives.
  model.addFile('kiln-pure', '2.0', { kind: 'wheel' });
  upstream = await startPypiUpstream(model);
  index = await startLocalIndex([pure.path, cext.path, broken.path]);
  farm = await startFarm([createPypiMaster({ xmlrpc: upstream.xmlrpcUrl, simple: index.url, json: upstream.jsonUrl, packages: [] })], { lease_s: 60 });
  await farm.master.syncNow();
}, 120_000);

afterAll(async () => {
  await farm?.close();
  await index?.close();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!!skipReason)(`PyPI wheels built by a Kiln worker${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('follows the changelog, builds wheels, and publishes a PEP 503/691/658 index', async () => {
    const w = farm.worker(createPypiWorker(), { sandbox: 'auto' });
    const rows = await waitFor(async () => {
      const r = await farm.db.query<{ name: string; version: string; status: string; failure_reason: string | null }>(
        `SELECT p.name, v.version, b.status, b.failure_reason FROM builds b JOIN versions v ON v.id = b.version_id JOIN packages p ON p.id = v.package_id ORDER BY p.name`,
      );
      return r.length === 3 && r.every((x) => x.status !== 'running') ? r : null;
    }, 180_000, 'three wheel builds');
    await farm.settle();
    await w.stop();
    expect(rows.map((r) => `${r.name} ${r.version} ${r.status}`)).toEqual(['kiln-broken 0.1 failed', 'kiln-cext 1.0 passed', 'kiln-pure 1.0 passed']);
    expect(rows[0]!.failure_reason).toContain('kiln_missing_header.h');

    const out = farm.master.ctx.paths.outputPath;
    const page = readFileSync(join(out, 'pypi', 'simple', 'kiln-cext', 'index.html'), 'utf8');
    const link = /href="([^"]+\.whl)#sha256=([0-9a-f]{64})"/.exec(page);
    expect(link).not.toBeNull();
    expect(page).toContain('data-dist-info-metadata="sha256=');
    const root = readFileSync(join(out, 'pypi', 'simple', 'index.html'), 'utf8');
    expect(root).toContain('kiln-cext');
    expect(root).toContain('kiln-pure');
    const wheels = (await farm.db.query<{ filename: string }>(`SELECT filename FROM artifacts WHERE filename LIKE '%.whl'`)).map((r) => r.filename);
    for (const wh of wheels) expect(existsSync(join(out, 'pypi', 'files', `${wh}.metadata`)), wh).toBe(true);

    // PEP 691 from Kiln's own server, by content negotiation.
    const json = await fetch(`${farm.master.url}/pypi/simple/kiln-cext/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
    expect(json.headers.get('content-type')).toContain('application/vnd.pypi.simple.v1+json');
    const doc = (await json.json()) as { files: Array<{ filename: string; hashes: { sha256: string } }> };
    expect(doc.files[0]!.hashes.sha256).toBe(link![2]);
  });

  it('counts a py3-none-any wheel as built for every target it serves', async () => {
    // A second Python target appears (a cp312 worker says hello); it owes only what the cp311 wheels do not serve.
    const token = await farm.token();
    const hello = await fetch(`${farm.master.url}/api/v1/hello`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ protocol: PROTOCOL_VERSION, kilnVersion: 'test', name: 'cp312-box', facts: {}, targets: [{ name: 'cp312-linux_x86_64', ecosystem: 'pypi', facts: { abi: 'cp312', platform: 'linux_x86_64', python: '3.12.1' } }] }),
    });
    expect(((await hello.json()) as { accepted: boolean }).accepted).toBe(true);
    const owed = await waitFor(async () => {
      const r = await farm.db.query<{ name: string }>(
        `SELECT p.name FROM pending q JOIN versions v ON v.id = q.version_id JOIN packages p ON p.id = v.package_id WHERE q.target = 'cp312-linux_x86_64' ORDER BY p.name`,
      );
      return r.length >= 2 ? r.map((x) => x.name) : null;
    }, 20_000, 'the cp312 queue');
    expect(owed).toEqual(['kiln-broken', 'kiln-cext']);
    const r = await fetch(`${farm.master.url}/api/v1/admin/status?why=kiln-pure&ecosystem=pypi&version=1.0`, { headers: { authorization: 'Bearer test-admin-token-0123456789' } });
    const why = ((await r.json()) as { why: Array<{ target: string; state: string; reason: string }> }).why;
    expect(why.find((l) => l.target === 'cp312-linux_x86_64')).toMatchObject({ state: 'skipped' });
    expect(why.find((l) => l.target === 'cp312-linux_x86_64')!.reason).toMatch(/^served by kiln_pure-1\.0-py3-none-any\.whl, built for cp3\d+-linux_x86_64/);
  });

  it('says why the binary-only release is not built', async () => {
    const r = await fetch(`${farm.master.url}/api/v1/admin/status?why=kiln-pure&ecosystem=pypi`, { headers: { authorization: 'Bearer test-admin-token-0123456789' } });
    const why = ((await r.json()) as { why: Array<{ version: string; reason: string }> }).why;
    expect(why.find((l) => l.version === '2.0')?.reason).toContain('binary only');
  });

  it('real pip installs the farm\'s wheels from Kiln\'s index into a fresh venv', async () => {
    const venv = join(dir, 'venv');
    await run('python3', ['-m', 'venv', venv]);
    const pip = join(venv, 'bin', 'pip');
    const env = { ...process.env, PIP_CONFIG_FILE: '/dev/null', PIP_FIND_LINKS: '', PIP_NO_CACHE_DIR: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
    const { stdout } = await run(pip, ['install', '--index-url', `${farm.master.url}/pypi/simple/`, 'kiln-cext'], { env });
    expect(stdout).toMatch(new RegExp(`${farm.master.url.replace(/[.:/]/g, '\\$&')}/pypi/files/kiln_cext-1\\.0-cp3\\d+-cp3\\d+-linux_x86_64\\.whl`));
    expect(stdout).toContain('Successfully installed kiln-cext-1.0');
    const { stdout: hello } = await run(join(venv, 'bin', 'python'), ['-c', 'import kiln_cext; print(kiln_cext.hello())']);
    expect(hello).toContain('hello from C');
    // --extra-index-url: Kiln beside another index (here the local one), as piwheels users configure it.
    const extra = await run(pip, ['install', '--index-url', index.url, '--extra-index-url', `${farm.master.url}/pypi/simple/`, '--only-binary', ':all:', 'kiln-pure'], { env });
    expect(extra.stdout).toContain('Successfully installed kiln-pure-1.0');
  });
});
