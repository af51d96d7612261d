/**
 * piwheels compatibility: Kiln's master on piwheels' slave and file queues,
 * driven by a scripted piw-slave (test/helpers/piw_slave_peer.py: pyzmq and
 * cbor2, message by message as piw-slave 0.23) that builds with real pip
 * against a local index. Covers the good path with a corrupted chunk on the
 * way, a declared hash that never matches, out-of-order and undecodable
 * messages, and a slave that falls silent mid-build. The wheels it sends
 * are installed by real pip from Kiln's index.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPypiMaster } from '../../src/ecosystems/pypi/index.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { makeSdist, missingSeedWheels, startLocalIndex, type LocalIndex } from '../helpers/pypi-fixture.ts';
import { PypiUpstreamModel, startPypiUpstream, type PypiUpstream } from '../helpers/pypi-upstream.ts';

const run = promisify(execFile);
const PEER = join(import.meta.dirname, '..', 'helpers', 'piw_slave_peer.py');
/** Debian's own Python, which has python3-zmq and python3-cbor2 (the peer's libraries, as piw-slave's). */
const PEER_PYTHON = '/usr/bin/python3';

function peerMissing(): string | null {
  const r = spawnSync(PEER_PYTHON, ['-c', 'import zmq, cbor2'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'python3-zmq and python3-cbor2 are not installed (apt-get install python3-zmq python3-cbor2)';
}
const skipReason = missingSeedWheels() ?? peerMissing();

/** The Python that builds (the one whose pip and seed wheels the fixture checked). */
const pipPython = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

interface Line {
  dir: string;
  msg: string | null;
  data: unknown;
}

let dir: string;
let upstream: PypiUpstream;
let index: LocalIndex;
let farm: Farm;
let queues: { slave: string; file: string };

/** Run the scripted piw-slave to its end. @returns its exit code and transcript. */
async function peer(...args: string[]): Promise<{ code: number; lines: Line[]; msgs: string[] }> {
  const r = await run(PEER_PYTHON, [PEER, '--slave-queue', queues.slave, '--file-queue', queues.file, '--pip-python', pipPython, ...args], { timeout: 180_000 }).then(
    (x) => ({ code: 0, stdout: x.stdout }),
    (e: { code: number; stdout: string; stderr: string }) => {
      if (typeof e.code !== 'number') throw e;
      return { code: e.code, stdout: e.stdout };
    },
  );
  const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  return { code: r.code, lines, msgs: lines.map((l) => `${l.dir} ${l.msg}`) };
}

const builds = () =>
  farm.db.query<{ id: number; name: string; version: string; status: string; failure_reason: string | null; worker: string | null; labels: string[] | null }>(
    `SELECT b.id, p.name, v.version, b.status, b.failure_reason, w.name AS worker, w.labels
     FROM builds b JOIN versions v ON v.id = b.version_id JOIN packages p ON p.id = v.package_id LEFT JOIN workers w ON w.id = b.worker_id ORDER BY b.id`,
  );

beforeAll(async () => {
  if (skipReason) return;
  dir = await mkdtemp(join(tmpdir(), 'kiln-piw-'));
  const sdists = [
    await makeSdist(dir, { name: 'kiln-cext', version: '1.0', kind: 'c-ext' }),
    await makeSdist(dir, { name: 'kiln-pure', version: '1.0', kind: 'pure' }),
    await makeSdist(dir, { name: 'kiln-broken', version: '0.1', kind: 'broken' }),
  ];
  const model = new PypiUpstreamModel();
  for (const s of sdists) {
    const [, name, version] = /^(.*)-([^-]+)\.tar\.gz$/.exec(s.filename.replace(/_/g, '-'))!;
    model.createPackage(name!, `${name} for Kiln's piw-slave tests`);
    model.addFile(name!, version!, { kind: 'sdist', content: readFileSync(s.path) });
  }
  upstream = await startPypiUpstream(model);
  index = await startLocalIndex(sdists.map((s) => s.path));
  queues = { slave: `tcp://127.0.0.1:${await freePort()}`, file: `tcp://127.0.0.1:${await freePort()}` };
  farm = await startFarm(
    [createPypiMaster({ xmlrpc: upstream.xmlrpcUrl, simple: index.url, json: upstream.jsonUrl, packages: [], slaveQueue: queues.slave, fileQueue: queues.file })],
    { lease_s: 60 },
  );
  await farm.master.syncNow();
}, 120_000);

afterAll(async () => {
  await farm?.close();
  await index?.close();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!!skipReason)(`piw-slave compatibility${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('answers a message out of order, or one that is not CBOR, with DIE', async () => {
    const ooo = await peer('--script', 'out-of-order', '--label', 'rude');
    expect(ooo.msgs).toEqual(['send HELLO', 'recv ACK', 'send SENT', 'recv DIE']);
    expect(ooo.code).toBe(0);
    const garbage = await peer('--script', 'garbage', '--label', 'garbled');
    expect(garbage.msgs.slice(-2)).toEqual(['send (garbage)', 'recv DIE']);
    expect(garbage.code).toBe(0);
    // ACK carries the slave id (the worker's id in Kiln) and the index to build from.
    const ack = ooo.lines.find((l) => l.msg === 'ACK')!.data as [number, string];
    expect(ack[1]).toBe(`${index.url.replace(/\/$/, '')}/`);
    const w = await farm.db.query<{ name: string; targets: string[] }>('SELECT name, targets FROM workers WHERE id = $1', [ack[0]]);
    expect(w[0]).toEqual({ name: 'rude', targets: ['cp311-linux_x86_64'] });
  }, 60_000);

  it('queues the build of a slave that falls silent again', async () => {
    const vanished = await peer('--script', 'vanish', '--label', 'ghost', '--busy-timeout', '2');
    expect(vanished.msgs).toEqual(['send HELLO', 'recv ACK', 'send IDLE', 'recv BUILD', 'send BUSY', 'recv CONT', 'vanish null']);
    const [pkg, ver] = vanished.lines.find((l) => l.msg === 'BUILD')!.data as [string, string];
    const gone = await waitFor(async () => (await builds()).find((b) => b.worker === 'ghost' && b.status !== 'running'), 30_000, 'the silent slave to be dropped');
    expect(gone.status).toBe('cancelled');
    expect(gone.failure_reason).toContain('silent for more than its busy timeout');
    const pending = await farm.db.query(
      `SELECT 1 FROM pending q JOIN versions v ON v.id = q.version_id JOIN packages p ON p.id = v.package_id WHERE p.name = $1 AND v.version = $2`,
      [pkg, ver],
    );
    expect(pending.length).toBe(1);
  }, 60_000);

  it('refuses a wheel whose declared sha256 never matches, after three transfers', async () => {
    const liar = await peer('--label', 'liar', '--wrong-hash', '--builds', '1');
    expect(liar.code).toBe(0);
    const sends = liar.msgs.filter((m) => m === 'recv SEND').length;
    const b = (await builds()).filter((x) => x.worker === 'liar');
    expect(b.length).toBe(1);
    // Nothing it sent was stored.
    const arts = await farm.db.query('SELECT 1 FROM artifacts WHERE build_id = $1', [b[0]!.id]);
    expect(arts.length).toBe(0);
    // Put it back for the next test, as an operator's kiln rebuild does.
    const r = await farm.admin('rebuild', 'POST', { ecosystem: 'pypi', name: b[0]!.name, version: b[0]!.version });
    expect(r.status).toBe(200);
    if (b[0]!.name === 'kiln-broken') {
      // It drew the package that fails to build: nothing to send.
      expect(sends).toBe(0);
      return;
    }
    expect(sends).toBe(3);
    expect(b[0]!.status).toBe('failed');
    expect(b[0]!.failure_reason).toMatch(/failed its check 3 times \(last: sha256 mismatch/);
  }, 120_000);

  it('builds with a real piw-slave session, survives a corrupted chunk, and real pip installs the wheel from Kiln', async () => {
    const s = await peer('--label', 'pi4', '--builds', '3', '--corrupt-chunks', '1', '--max-sleeps', '50');
    expect(s.code).toBe(0);
    // The first transfer had a corrupted chunk: the master asked for the same file again.
    const corrupted = s.lines.findIndex((l) => l.msg === 'CHUNK (corrupted)');
    expect(corrupted).toBeGreaterThan(-1);
    const firstSend = s.lines.find((l) => l.msg === 'SEND')!.data;
    const sendsAfter = s.lines.slice(corrupted).filter((l) => l.dir === 'recv' && l.msg === 'SEND').map((l) => l.data);
    expect(sendsAfter[0]).toBe(firstSend);
    expect(s.msgs).toContain('recv CONT');
    expect(s.msgs.at(-1)).toBe('send BYE');

    await farm.settle();
    const mine = (await builds()).filter((b) => b.worker === 'pi4').map((b) => `${b.name} ${b.status}`).sort();
    expect(mine).toEqual(expect.arrayContaining(['kiln-broken failed', 'kiln-cext passed']));
    const all = await builds();
    expect(all.find((b) => b.name === 'kiln-pure' && b.status === 'passed')).toBeTruthy();
    const cext = all.find((b) => b.name === 'kiln-cext' && b.status === 'passed')!;
    expect(cext.labels).toEqual(['piw-slave']);
    const arts = await farm.db.query<{ filename: string; sha256: string; tags: { dependencies?: { apt: string[] }; built_by?: string } }>(
      'SELECT filename, sha256, tags FROM artifacts WHERE build_id = $1 ORDER BY filename',
      [cext.id],
    );
    expect(arts.map((a) => a.filename)).toEqual(['kiln_cext-1.0-cp311-cp311-linux_x86_64.whl', 'kiln_cext-1.0-cp311-cp311-linux_x86_64.whl.metadata']);
    expect(arts[0]!.tags.built_by).toBe('piw-slave');
    expect(arts[0]!.tags.dependencies?.apt).toEqual(['libc6']);
    // The log holds pip's output and the transfer's story.
    const logFile = join(farm.master.ctx.paths.outputPath, 'logs', '0', `${cext.id}.txt.gz`);
    expect(existsSync(logFile)).toBe(true);

    const out = farm.master.ctx.paths.outputPath;
    const page = readFileSync(join(out, 'pypi', 'simple', 'kiln-cext', 'index.html'), 'utf8');
    expect(page).toContain(`kiln_cext-1.0-cp311-cp311-linux_x86_64.whl#sha256=${arts[0]!.sha256}`);

    const venv = join(dir, 'venv');
    await run(pipPython, ['-m', 'venv', venv]);
    const pip = await run(join(venv, 'bin', 'pip'), ['install', '--no-cache-dir', '--disable-pip-version-check', '--index-url', `${farm.master.url}/pypi/simple/`, 'kiln-cext'], { timeout: 120_000 });
    expect(pip.stdout).toContain('kiln_cext-1.0-cp311-cp311-linux_x86_64.whl');
    expect(pip.stdout).toContain('Successfully installed kiln-cext-1.0');
    const imported = await run(join(venv, 'bin', 'python'), ['-c', 'import kiln_cext; print(kiln_cext.hello())']);
    expect(imported.stdout).toContain('hello from C');
  }, 240_000);
});
