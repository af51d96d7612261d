import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../src/version.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { helloPeer } from '../helpers/protocol-peer.ts';
import { createShellMaster, type FakePackage } from '../helpers/shell-ecosystem.ts';

const upstream = new Map<string, FakePackage>([
  ['pkg', { name: 'pkg', versions: [{ version: '1.0.0', released: new Date('2026-01-01'), script: 'true' }, { version: '1.1.0', released: new Date('2026-02-01'), script: 'true' }] }],
]);
let farm: Farm;
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
}

beforeAll(async () => {
  farm = await startFarm([createShellMaster(upstream)], { lease_s: 5, build_timeout_s: 2 });
  await fetch(`${farm.master.url}/api/v1/admin/packages`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' },
    body: JSON.stringify({ ecosystem: 'shell', name: 'pkg' }),
  });
});
afterAll(async () => farm.close());

describe('worker protocol refusals', () => {
  it('refuses a bad token and a protocol version mismatch with the reason', async () => {
    const bad = await fetch(`${farm.master.url}/api/v1/hello`, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '{}' });
    expect(bad.status).toBe(401);
    const token = await farm.token();
    const r = await fetch(`${farm.master.url}/api/v1/hello`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ protocol: PROTOCOL_VERSION + 1, kilnVersion: '9.9.9', name: 'future', facts: {}, targets: [{ name: 'shell-a', ecosystem: 'shell', facts: {} }] }),
    });
    const j = (await r.json()) as { accepted: boolean; reason: string };
    expect(j.accepted).toBe(false);
    expect(j.reason).toContain(`protocol version ${PROTOCOL_VERSION + 1} is not supported`);
  });

  it('guards admin routes however the path is spelled', async () => {
    for (const path of ['/api/v1/admin/status', '/api/v1/%61dmin/status', '/api/v1/admin/%73tatus']) {
      const r = await fetch(`${farm.master.url}${path}`);
      expect(r.status, path).toBe(401);
    }
    const r = await fetch(`${farm.master.url}/api/v1/%61dmin/worker-tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"evil"}' });
    expect(r.status).toBe(401);
  });

  it('refuses malformed requests with a readable message', async () => {
    const peer = await helloPeer(farm.master.url, await farm.token());
    const r = await peer.call('POST', 'claim', { workerId: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/workerId/);
  });

  it('refuses a wrong sha256 and an unsafe file name, and publishes nothing', async () => {
    const peer = await helloPeer(farm.master.url, await farm.token());
    const claim = await peer.call('POST', 'claim', { workerId: peer.workerId, waitS: 2 });
    const job = claim.json.job as { buildId: number; package: string; version: string };
    expect(job.version).toBe('1.1.0');
    const body = new TextEncoder().encode('real bytes');
    const name = `${job.package}-${job.version}.bin`;
    const wrong = await peer.call('PUT', `builds/${job.buildId}/artifacts/${name}`, body, {
      'content-type': 'application/octet-stream', 'x-kiln-sha256': sha('other bytes'), 'x-kiln-worker': String(peer.workerId),
    });
    expect(wrong.status).toBe(422);
    expect(wrong.json.error).toBe('checksum_mismatch');
    for (const evil of ['..%2Fx', '.hidden', 'a%5Cb']) {
      const r = await peer.call('PUT', `builds/${job.buildId}/artifacts/${evil}`, body, {
        'content-type': 'application/octet-stream', 'x-kiln-sha256': sha(body), 'x-kiln-worker': String(peer.workerId),
      });
      expect(r.status, evil).toBe(400);
      expect(r.json.error).toBe('unsafe_filename');
    }
    // A raw `../x` in the path is normalised away by URL parsing before it leaves the client; send it literally.
    const raw = await rawPut(farm.master.url, `/api/v1/builds/${job.buildId}/artifacts/../x`);
    expect(raw).not.toBe(200);
    // Finishing as passed while claiming an artifact that was refused is itself refused.
    const fin = await peer.call('POST', `builds/${job.buildId}/finish`, { workerId: peer.workerId, status: 'passed', durationMs: 5, artifacts: [{ filename: name, sha256: sha('other bytes'), size: 11 }] });
    expect(fin.status).toBe(422);
    expect(filesUnder(farm.master.ctx.paths.storeDir)).toEqual([]);
    expect(filesUnder(farm.master.ctx.paths.incomingDir)).toEqual([]);
    expect(filesUnder(join(farm.master.ctx.paths.outputPath, 'shell')).filter((f) => f.endsWith('.bin'))).toEqual([]);
    // Report the failure so the build ends.
    const ok = await peer.call('POST', `builds/${job.buildId}/finish`, { workerId: peer.workerId, status: 'failed', durationMs: 5, failureReason: 'test' });
    expect(ok.status).toBe(200);
  });

  it('stores retried log chunks once, reports the stored size, refuses gaps, and accepts a retried finish', async () => {
    const peer = await helloPeer(farm.master.url, await farm.token(), ['shell-a'], 'retrier');
    await farm.db.query('DELETE FROM builds');
    await farm.db.query(`INSERT INTO pending (target, version_id, released) SELECT 'shell-a', id, released FROM versions ON CONFLICT DO NOTHING`);
    const job = (await peer.call('POST', 'claim', { workerId: peer.workerId, waitS: 2 })).json.job as { buildId: number };
    const text = (s: string) => new TextEncoder().encode(s);
    const h = { 'content-type': 'text/plain', 'x-kiln-worker': String(peer.workerId) };
    expect((await peer.call('POST', `builds/${job.buildId}/log?offset=0`, text('hello '), h)).json.stored).toBe(6);
    expect((await peer.call('POST', `builds/${job.buildId}/log?offset=0`, text('hello world'), h)).json.stored).toBe(11);
    expect((await peer.call('POST', `builds/${job.buildId}/log?offset=6`, text('world'), h)).json.stored).toBe(11);
    const gap = await peer.call('POST', `builds/${job.buildId}/log?offset=50`, text('x'), h);
    expect(gap.status).toBe(409);
    expect(gap.json.message).toContain('resend from offset 11');
    const fin = { workerId: peer.workerId, status: 'failed', durationMs: 3, failureReason: 'x' };
    expect((await peer.call('POST', `builds/${job.buildId}/finish`, fin)).status).toBe(200);
    expect((await peer.call('POST', `builds/${job.buildId}/finish`, fin)).status).toBe(200);
    const log = await fetch(`${farm.master.url}/logs/0/${job.buildId}.txt.gz`).then((r) => r.text());
    expect(log).toBe('hello world');
  });

  it('requeues a build whose lease expired and refuses the late result', async () => {
    const peer = await helloPeer(farm.master.url, await farm.token(), ['shell-a'], 'sleepy');
    const claim = await peer.call('POST', 'claim', { workerId: peer.workerId, waitS: 2 });
    const job = claim.json.job as { buildId: number; version: string };
    expect(job.version).toBe('1.0.0');
    // No heartbeats: the 5 s lease runs out and the sweeper requeues the build.
    await waitFor(async () => (await farm.db.query<{ status: string }>('SELECT status FROM builds WHERE id = $1', [job.buildId]))[0]?.status === 'expired', 20_000, 'lease expiry');
    const queued = await farm.db.query('SELECT 1 FROM pending p JOIN versions v ON v.id = p.version_id WHERE v.version = $1', ['1.0.0']);
    expect(queued.length).toBe(1);
    const late = await peer.call('POST', `builds/${job.buildId}/finish`, { workerId: peer.workerId, status: 'passed', durationMs: 1 });
    expect(late.status).toBe(409);
    expect(late.json.error).toBe('lease_lost');
    const hb = await peer.call('POST', `builds/${job.buildId}/heartbeat`, { workerId: peer.workerId });
    expect(hb.status).toBe(409);
    const row = (await farm.db.query<{ status: string }>('SELECT status FROM builds WHERE id = $1', [job.buildId]))[0]!;
    expect(row.status).toBe('expired');
    // The log was closed with the master's note.
    await waitFor(async () => existsSync(join(farm.master.ctx.paths.outputPath, 'logs', '0', `${job.buildId}.txt.gz`)), 5000, 'closed log');
  });
});

describe('master-side housekeeping', () => {
  it('puts a build the worker gave up on (cancelled: a worker fault) straight back in the queue', async () => {
    const peer = await helloPeer(farm.master.url, await farm.token(), ['shell-a'], 'faulty');
    await farm.db.query('DELETE FROM builds');
    await farm.db.query('DELETE FROM pending');
    await farm.db.query(`INSERT INTO pending (target, version_id, released) SELECT 'shell-a', id, released FROM versions WHERE version = '1.1.0'`);
    const job = (await peer.call('POST', 'claim', { workerId: peer.workerId, waitS: 2 })).json.job as { buildId: number };
    expect(await farm.db.query('SELECT 1 FROM pending')).toHaveLength(0);
    const fin = await peer.call('POST', `builds/${job.buildId}/finish`, { workerId: peer.workerId, status: 'cancelled', durationMs: 5, failureReason: 'worker error: ENOSPC' });
    expect(fin.status).toBe(200);
    expect(await farm.db.query('SELECT 1 FROM pending')).toHaveLength(1);
    const again = (await peer.call('POST', 'claim', { workerId: peer.workerId, waitS: 2 })).json.job as { buildId: number };
    expect(again.buildId).not.toBe(job.buildId);
    await peer.call('POST', `builds/${again.buildId}/finish`, { workerId: peer.workerId, status: 'failed', durationMs: 5, failureReason: 'x' });
  });

  it('tells a worker that keeps heartbeating past the build timeout to cancel', async () => {
    const peer = await helloPeer(farm.master.url, await farm.token(), ['shell-a'], 'overdue');
    await farm.db.query('DELETE FROM builds');
    await farm.db.query(`INSERT INTO pending (target, version_id, released) SELECT 'shell-a', id, released FROM versions ON CONFLICT DO NOTHING`);
    const job = (await peer.call('POST', 'claim', { workerId: peer.workerId, waitS: 2 })).json.job as { buildId: number; timeoutS: number };
    expect(job.timeoutS).toBe(2);
    const first = await peer.call('POST', `builds/${job.buildId}/heartbeat`, { workerId: peer.workerId });
    expect(first.json.cancel).toBe(false);
    // timeout (2 s) + lease (5 s) later the master gives up on it.
    let cancel = false;
    for (let i = 0; i < 12 && !cancel; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      cancel = (await peer.call('POST', `builds/${job.buildId}/heartbeat`, { workerId: peer.workerId })).json.cancel === true;
    }
    expect(cancel).toBe(true);
    const [row] = await farm.db.query<{ status: string; failure_reason: string }>("SELECT status, failure_reason FROM builds WHERE id = $1", [job.buildId]);
    expect(row).toMatchObject({ status: "failed" });
    expect(row!.failure_reason).toContain("timed out");
  });

  it('prunes store files no artifact references, and keeps referenced ones', async () => {
    const { mkdirSync, writeFileSync, utimesSync } = await import('node:fs');
    const { pruneStore } = await import('../../src/master/loops.ts');
    const orphan = sha('orphan');
    const dirPath = join(farm.master.ctx.paths.storeDir, orphan.slice(0, 2));
    mkdirSync(dirPath, { recursive: true });
    writeFileSync(join(dirPath, orphan), 'orphan');
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(dirPath, orphan), old, old);
    const kept = sha('kept');
    mkdirSync(join(farm.master.ctx.paths.storeDir, kept.slice(0, 2)), { recursive: true });
    writeFileSync(join(farm.master.ctx.paths.storeDir, kept.slice(0, 2), kept), 'kept');
    const [b] = await farm.db.query<{ id: number }>('SELECT id FROM builds LIMIT 1');
    await farm.db.query(`INSERT INTO artifacts (build_id, filename, size, sha256) VALUES ($1, 'k.bin', 4, $2)`, [b!.id, kept]);
    expect(await pruneStore(farm.master.ctx)).toBe(1);
    expect(existsSync(join(dirPath, orphan))).toBe(false);
    expect(existsSync(join(farm.master.ctx.paths.storeDir, kept.slice(0, 2), kept))).toBe(true);
  });
});

/** Send a PUT with a literal, un-normalised path (fetch would resolve `..`). */
async function rawPut(base: string, path: string): Promise<number> {
  const { request } = await import('node:http');
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'PUT', path, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end('x');
  });
}
