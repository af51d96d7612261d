/**
 * `kiln import` (piw-import): wheels built elsewhere enter a real master
 * through the admin API and the CLI, are verified (size, sha256, safe
 * name, the wheel's name against the version and target, METADATA), and
 * are published with their PEP 658 `.metadata`; refusals leave nothing.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPypiMaster } from '../../src/ecosystems/pypi/index.ts';
import { publishedLogRel } from '../../src/master/build-logs.ts';
import { packageJsonPath } from '../../src/site/paths.ts';
import { PROTOCOL_VERSION } from '../../src/version.ts';
import { startFarm, type Farm } from '../helpers/farm.ts';
import { PypiUpstreamModel, startPypiUpstream, type PypiUpstream } from '../helpers/pypi-upstream.ts';

const run = promisify(execFile);
const ADMIN = 'test-admin-token-0123456789';
const BIN = join(import.meta.dirname, '../../bin/kiln.js');
let dir: string;
let upstream: PypiUpstream;
let farm: Farm;
let out: string;

/** Write a wheel (a zip) with `<dist>-<ver>.dist-info/{METADATA,WHEEL,RECORD}` unless `metadata` is false. */
async function makeWheel(filename: string, opts: { metadata?: boolean } = {}): Promise<{ path: string; metadata: string }> {
  const [dist, version] = filename.split('-') as [string, string];
  const info = `${dist}-${version}.dist-info`;
  const metadata = `Metadata-Version: 2.1\nName: ${dist.replace(/_/g, '-')}\nVersion: ${version}\nRequires-Python: >=3.8\nRequires-Dist: six\n`;
  const entries: Record<string, string> = { [`${dist}/__init__.py`]: 'VALUE = 1\n', [`${info}/WHEEL`]: 'Wheel-Version: 1.0\nRoot-Is-Purelib: false\n', [`${info}/RECORD`]: '' };
  if (opts.metadata !== false) entries[`${info}/METADATA`] = metadata;
  const path = join(dir, filename);
  const script = 'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n    for k, v in json.loads(sys.argv[2]).items(): z.writestr(k, v)\n';
  await run('python3', ['-c', script, path, JSON.stringify(entries)]);
  return { path, metadata };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** PUT one file into the import staging area. */
async function stage(name: string, body: Buffer, declared = sha256(body)): Promise<Response> {
  return fetch(`${farm.master.url}/api/v1/admin/import/files/${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/octet-stream', 'x-kiln-sha256': declared },
    body: new Uint8Array(body),
  });
}

async function commit(body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${farm.master.url}/api/v1/admin/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Stage and commit one wheel. */
async function importWheel(path: string, extra: Record<string, unknown> = {}) {
  const bytes = await readFile(path);
  const name = path.slice(dir.length + 1);
  expect((await stage(name, bytes)).status).toBe(200);
  return commit({ ecosystem: 'pypi', package: 'kiln-imp', version: '1.0', files: [{ filename: name, sha256: sha256(bytes), size: bytes.length }], ...extra });
}

async function hello(target: string, abi: string) {
  const token = await farm.token();
  const res = await fetch(`${farm.master.url}/api/v1/hello`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ protocol: PROTOCOL_VERSION, kilnVersion: 'test', name: `${abi}-box`, facts: {}, targets: [{ name: target, ecosystem: 'pypi', facts: { abi, platform: 'linux_x86_64', python: `3.${abi.slice(3)}.1` } }] }),
  });
  expect(((await res.json()) as { accepted: boolean }).accepted).toBe(true);
}

/** Run the kiln binary (asynchronously: the master answers from this process). */
async function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, HOME: dir } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, stdout, stderr };
}

const builds = () => farm.db.query<{ id: number; version: string; target: string; status: string; worker_id: number | null; duration_ms: number | null }>(
  'SELECT b.id, v.version, b.target, b.status, b.worker_id, b.duration_ms FROM builds b JOIN versions v ON v.id = b.version_id ORDER BY b.id',
);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-import-'));
  const model = new PypiUpstreamModel();
  model.createPackage('kiln-imp', 'imported wheels');
  for (const v of ['1.0', '2.0', '3.0']) model.addFile('kiln-imp', v, { kind: 'sdist' });
  upstream = await startPypiUpstream(model);
  farm = await startFarm([createPypiMaster({ xmlrpc: upstream.xmlrpcUrl, simple: upstream.simpleUrl, json: upstream.jsonUrl, packages: [] })], { lease_s: 60 });
  await farm.master.syncNow();
  await hello('cp312-linux_x86_64', 'cp312');
  await hello('cp311-linux_x86_64', 'cp311');
  out = farm.master.ctx.paths.outputPath;
}, 60_000);

afterAll(async () => {
  await farm?.close();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kiln import', () => {
  it('imports a wheel as a passed build with its log and publishes it with its .metadata', async () => {
    const { path, metadata } = await makeWheel('kiln_imp-1.0-cp311-cp311-linux_x86_64.whl');
    const bytes = await readFile(path);
    const log = Buffer.from('built on a big machine elsewhere\n');
    expect((await stage('build.log', log)).status).toBe(200);
    const r = await importWheel(path, { durationS: 12.5, log: { sha256: sha256(log), size: log.length } });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ package: 'kiln-imp', version: '1.0', target: 'cp311-linux_x86_64', replaced: 0 });
    await farm.settle();

    const [b] = await builds();
    expect(b).toMatchObject({ version: '1.0', target: 'cp311-linux_x86_64', status: 'passed', worker_id: null, duration_ms: 12500 });
    expect(readFileSync(join(out, 'pypi', 'files', 'kiln_imp-1.0-cp311-cp311-linux_x86_64.whl')).equals(bytes)).toBe(true);
    expect(readFileSync(join(out, 'pypi', 'files', 'kiln_imp-1.0-cp311-cp311-linux_x86_64.whl.metadata'), 'utf8')).toBe(metadata);
    const page = readFileSync(join(out, 'pypi', 'simple', 'kiln-imp', 'index.html'), 'utf8');
    expect(page).toContain(`kiln_imp-1.0-cp311-cp311-linux_x86_64.whl#sha256=${sha256(bytes)}`);
    expect(page).toContain(`data-dist-info-metadata="sha256=${sha256(Buffer.from(metadata))}"`);
    const logText = gunzipSync(readFileSync(join(out, publishedLogRel(b!.id)))).toString('utf8');
    expect(logText).toContain('built on a big machine elsewhere');
    expect(logText).toContain('imported with kiln import');
    // The imported pair is no longer owed.
    const pending = await farm.db.query(`SELECT 1 FROM pending p JOIN versions v ON v.id = p.version_id WHERE v.version = '1.0' AND p.target = 'cp311-linux_x86_64'`);
    expect(pending).toHaveLength(0);
    const pkgJson = JSON.parse(readFileSync(join(out, packageJsonPath('pypi', 'kiln-imp')), 'utf8')) as { versions: Record<string, { builds: Record<string, { status: string; duration_s: number }> }> };
    expect(pkgJson.versions['1.0']!.builds['cp311-linux_x86_64']).toMatchObject({ status: 'passed', duration_s: 12.5 });
  });

  it('refuses a second import of the same version and target unless told to replace it', async () => {
    const { path } = await makeWheel('kiln_imp-1.0-cp311-cp311-linux_x86_64.whl');
    const again = await importWheel(path);
    expect(again.status).toBe(409);
    expect(again.json.message).toContain('--replace');
    const replaced = await importWheel(path, { replace: true, durationS: 3 });
    expect(replaced.status, JSON.stringify(replaced.json)).toBe(200);
    expect(replaced.json.replaced).toBe(1);
    expect((await builds()).map((b) => `${b.version} ${b.target} ${b.status} ${b.duration_ms}`)).toEqual(['1.0 cp311-linux_x86_64 passed 3000']);
  });

  it('refuses a wrong sha256, an unsafe name, an unknown version or target and a wheel without METADATA, publishing nothing', async () => {
    const before = await builds();
    const { path } = await makeWheel('kiln_imp-2.0-cp312-cp312-linux_x86_64.whl');
    const bytes = await readFile(path);
    const name = 'kiln_imp-2.0-cp312-cp312-linux_x86_64.whl';

    const bad = await stage(name, bytes, '0'.repeat(64));
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { error: string }).error).toBe('checksum_mismatch');
    // The commit cannot name a file that never passed the check.
    const unverified = await commit({ package: 'kiln-imp', version: '2.0', files: [{ filename: name, sha256: sha256(bytes), size: bytes.length }] });
    expect(unverified.status).toBe(422);
    expect(unverified.json.error).toBe('missing_artifact');

    const unsafe = await stage('../evil.whl', bytes);
    expect(unsafe.status).toBe(400);
    expect(((await unsafe.json()) as { error: string }).error).toBe('unsafe_filename');
    expect((await stage(name, bytes)).status).toBe(200);
    const unsafeCommit = await commit({ package: 'kiln-imp', version: '2.0', files: [{ filename: '.hidden.whl', sha256: sha256(bytes), size: bytes.length }] });
    expect(unsafeCommit.status).toBe(400);
    expect(unsafeCommit.json.error).toBe('unsafe_filename');

    const unknownVersion = await commit({ package: 'kiln-imp', version: '9.9', files: [{ filename: name, sha256: sha256(bytes), size: bytes.length }] });
    expect(unknownVersion.status).toBe(404);
    expect(unknownVersion.json.message).toContain('kiln-imp version 9.9');
    expect(unknownVersion.json.message).toContain('not known to the master');
    const unknownPackage = await commit({ package: 'nope', version: '1.0', files: [{ filename: name, sha256: sha256(bytes), size: bytes.length }] });
    expect(unknownPackage.status).toBe(404);

    const unknownTarget = await commit({ package: 'kiln-imp', version: '2.0', target: 'cp399-linux_x86_64', files: [{ filename: name, sha256: sha256(bytes), size: bytes.length }] });
    expect(unknownTarget.status).toBe(404);
    expect(unknownTarget.json.message).toContain('cp311-linux_x86_64, cp312-linux_x86_64');
    const wrongTarget = await commit({ package: 'kiln-imp', version: '2.0', target: 'cp311-linux_x86_64', files: [{ filename: name, sha256: sha256(bytes), size: bytes.length }] });
    expect(wrongTarget.status).toBe(422);
    expect(wrongTarget.json.message).toContain('does not install on cp311-linux_x86_64');
    const wrongVersion = await commit({ package: 'kiln-imp', version: '3.0', files: [{ filename: name, sha256: sha256(bytes), size: bytes.length }] });
    expect(wrongVersion.status).toBe(422);

    const bare = await makeWheel('kiln_imp-3.0-cp312-cp312-linux_x86_64.whl', { metadata: false });
    const noMeta = await importWheel(bare.path, { version: '3.0' });
    expect(noMeta.status).toBe(422);
    expect(noMeta.json.message).toContain('without METADATA');
    await writeFile(join(dir, 'kiln_imp-3.0-cp311-cp311-linux_x86_64.whl'), 'not a zip');
    const notZip = await importWheel(join(dir, 'kiln_imp-3.0-cp311-cp311-linux_x86_64.whl'), { version: '3.0' });
    expect(notZip.status).toBe(422);
    expect(notZip.json.message).toContain('not a readable wheel');

    await farm.settle();
    expect(await builds()).toEqual(before);
    expect(existsSync(join(out, 'pypi', 'files', name))).toBe(false);
    expect(existsSync(join(out, 'pypi', 'files', 'kiln_imp-3.0-cp312-cp312-linux_x86_64.whl'))).toBe(false);
  });

  it('puts a py3-none-any wheel on the first target it serves, or the one named', async () => {
    const { path } = await makeWheel('kiln_imp-3.0-py3-none-any.whl');
    const r = await importWheel(path, { version: '3.0' });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.target).toBe('cp311-linux_x86_64');
    // It serves cp312 too: nothing is owed there.
    const owed = await farm.db.query(`SELECT 1 FROM pending p JOIN versions v ON v.id = p.version_id WHERE v.version = '3.0'`);
    expect(owed).toHaveLength(0);
    const named = await importWheel(path, { version: '3.0', target: 'cp312-linux_x86_64' });
    expect(named.status, JSON.stringify(named.json)).toBe(200);
    expect(named.json.target).toBe('cp312-linux_x86_64');
  });

  it('works from the command line, with --log, --duration and --delete', async () => {
    const { path } = await makeWheel('kiln_imp-2.0-cp312-cp312-linux_x86_64.whl');
    const logFile = join(dir, 'cli.log');
    await writeFile(logFile, 'log from the CLI\n');
    const { status: code, stdout, stderr } = await cli(['import', path, '--master', farm.master.url, '--admin-token', ADMIN, '--duration', '7', '--log', logFile, '--delete']);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('imported kiln-imp 2.0 for cp312-linux_x86_64 as build');
    expect(existsSync(path)).toBe(false);
    expect(existsSync(logFile)).toBe(true);
    await farm.settle();
    expect(existsSync(join(out, 'pypi', 'files', 'kiln_imp-2.0-cp312-cp312-linux_x86_64.whl.metadata'))).toBe(true);
    const b = (await builds()).find((x) => x.version === '2.0')!;
    expect(b).toMatchObject({ status: 'passed', duration_ms: 7000, worker_id: null });
    expect(gunzipSync(readFileSync(join(out, publishedLogRel(b.id)))).toString('utf8')).toContain('log from the CLI');

    // A refusal is one readable line and exit 1; the file stays.
    const again = await makeWheel('kiln_imp-2.0-cp312-cp312-linux_x86_64.whl');
    const refused = await cli(['import', again.path, '--master', farm.master.url, '--admin-token', ADMIN, '--delete']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('already built for cp312-linux_x86_64');
    expect(existsSync(again.path)).toBe(true);
  }, 60_000);

  it('rewrites parts of the site: kiln rebuild home|index|project', async () => {
    const call = (what: string, name?: string) =>
      fetch(`${farm.master.url}/api/v1/admin/rebuild`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ what, ecosystem: 'pypi', name }),
      });
    await rm(join(out, 'index.html'));
    expect((await call('home')).status).toBe(200);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    await rm(join(out, 'pypi', 'simple', 'index.html'));
    expect((await call('index')).status).toBe(200);
    expect(readFileSync(join(out, 'pypi', 'simple', 'index.html'), 'utf8')).toContain('kiln-imp');
    await rm(join(out, 'pypi', 'simple', 'kiln-imp', 'index.html'));
    expect((await call('project', 'Kiln_Imp')).status).toBe(200);
    expect(existsSync(join(out, 'pypi', 'simple', 'kiln-imp', 'index.html'))).toBe(true);
    expect((await call('project', 'nope')).status).toBe(404);
    await rm(join(out, 'packages.html'), { force: true });
    expect((await call('search')).status).toBe(200);
    expect(existsSync(join(out, 'packages.html'))).toBe(true);

    // From the command line: keywords only as the first argument, --package for a package named like one.
    // (Not spawnSync: the master runs in this process and must keep answering.)
    const kiln = (args: string[]) => cli(['rebuild', ...args, '--master', farm.master.url, '--admin-token', ADMIN]);
    const project = await kiln(['project', 'kiln-imp', '-e', 'pypi']);
    expect(project.status, project.stderr).toBe(0);
    expect(project.stdout).toContain('rewrote project kiln-imp');
    const misuse = await kiln(['home', 'kiln-imp']);
    expect(misuse.status).toBe(2);
    expect(misuse.stderr).toContain('kiln rebuild --package home');
    const named = await kiln(['--package', 'home', '-e', 'pypi']);
    expect(named.status).toBe(1);
    expect(named.stderr).toContain('pypi package home not found');
  }, 60_000);
});
