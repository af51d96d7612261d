import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShellMaster, createShellWorker, type FakePackage } from '../helpers/shell-ecosystem.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';

const upstream = new Map<string, FakePackage>();
const day = (n: number) => new Date(Date.UTC(2026, 0, n));
upstream.set('alpha', {
  name: 'alpha',
  versions: [
    { version: '1.0.0', released: day(1), script: 'echo building alpha 1; printf one > "$OUT"' },
    { version: '2.0.0', released: day(5), script: 'echo building alpha 2; printf two > "$OUT"' },
  ],
});
upstream.set('broken', {
  name: 'broken',
  versions: [{ version: '0.1.0', released: day(3), script: 'echo "fatal error: missing.h: No such file or directory" >&2; exit 1' }],
});

let farm: Farm;
const admin = (path: string, method?: string, body?: unknown) => farm.admin(path, method, body);

async function builds(): Promise<Array<{ id: number; package: string; version: string; status: string; failure_reason: string | null }>> {
  return farm.db.query(
    `SELECT b.id, pk.name AS package, v.version, b.status, b.failure_reason FROM builds b
     JOIN versions v ON v.id = b.version_id JOIN packages pk ON pk.id = v.package_id ORDER BY b.id`,
  );
}

beforeAll(async () => {
  farm = await startFarm([createShellMaster(upstream)]);
});
afterAll(async () => {
  await farm.close();
});

describe('a master and a worker on loopback', () => {
  it('refuses admin calls without the admin token', async () => {
    const r = await fetch(`${farm.master.url}/api/v1/admin/status`);
    expect(r.status).toBe(401);
  });

  it('adds packages, builds newest first, publishes artifacts, logs and pages', async () => {
    expect((await admin('packages', 'POST', { ecosystem: 'shell', name: 'alpha' })).status).toBe(200);
    expect((await admin('packages', 'POST', { ecosystem: 'shell', name: 'broken' })).status).toBe(200);
    const missing = await admin('packages', 'POST', { ecosystem: 'shell', name: 'nope' });
    expect(missing.status).toBe(404);

    const w = farm.worker(createShellWorker(['shell-a']));
    const all = await waitFor(async () => {
      const b = await builds();
      return b.length === 3 && b.every((x) => x.status !== 'running') ? b : null;
    }, 60_000, 'three builds');
    await w.stop();
    // Newest release first: alpha 2.0.0 (day 5), broken (day 3), alpha 1.0.0 (day 1).
    expect(all.map((b) => `${b.package} ${b.version}`)).toEqual(['alpha 2.0.0', 'broken 0.1.0', 'alpha 1.0.0']);
    expect(all.map((b) => b.status)).toEqual(['passed', 'failed', 'passed']);
    await farm.settle();

    const out = farm.master.ctx.paths.outputPath;
    const file = join(out, 'shell', 'alpha', 'alpha-2.0.0.bin');
    expect(readFileSync(file, 'utf8')).toBe('two');
    const index = JSON.parse(readFileSync(join(out, 'shell', 'alpha', 'index.json'), 'utf8')) as Array<{ sha256: string }>;
    expect(index.map((i) => i.sha256)).toContain(createHash('sha256').update('two').digest('hex'));

    const page = readFileSync(join(out, 'packages', 'shell', 'alpha', 'index.html'), 'utf8');
    expect(page).toContain('alpha-2.0.0.bin');
    expect(page).toContain(createHash('sha256').update('two').digest('hex'));
    const json = JSON.parse(readFileSync(join(out, 'packages', 'shell', 'alpha', 'json', 'index.json'), 'utf8')) as { versions: Record<string, { builds: Record<string, { status: string }> }> };
    expect(json.versions['2.0.0']!.builds['shell-a']!.status).toBe('passed');

    const failed = all[1]!;
    const log = gunzipSync(readFileSync(join(out, 'logs', '0', `${failed.id}.txt.gz`))).toString();
    expect(log).toContain('missing.h: No such file or directory');
    expect(failed.failure_reason).toContain('exited with 1');

    const home = readFileSync(join(out, 'index.html'), 'utf8');
    expect(home).toMatch(/<b>2<\/b> builds passed/);
    expect(home).toMatch(/<b>1<\/b> builds failed/);
  });

  it('serves the site, logs gzipped for browsers, and a 404 page', async () => {
    const home = await fetch(`${farm.master.url}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('Kiln');
    const [failed] = (await builds()).filter((b) => b.status === 'failed');
    const log = await fetch(`${farm.master.url}/logs/0/${failed!.id}.txt.gz`);
    expect(log.headers.get('content-encoding')).toBe('gzip');
    expect(await log.text()).toContain('missing.h');
    const nf = await fetch(`${farm.master.url}/no/such/page`);
    expect(nf.status).toBe(404);
    expect(await nf.text()).toContain('Not found');
  });

  it('does not retry a failed build until kiln rebuild requeues it, and explains why', async () => {
    const why = await admin('status?why=broken&ecosystem=shell');
    const lines = why.json.why as Array<{ state: string; reason: string }>;
    expect(lines[0]!.state).toBe('failed');
    expect(lines[0]!.reason).toContain('kiln rebuild');
    const r = await admin('rebuild', 'POST', { ecosystem: 'shell', name: 'broken' });
    expect(r.json.queued).toBe(1);
    const again = await admin('status?why=broken&ecosystem=shell');
    expect((again.json.why as Array<{ reason: string }>)[0]!.reason).toMatch(/no worker online|queued/);
  });

  it('skip removes from the queue with a reason; unskip puts it back', async () => {
    await admin('skip', 'POST', { ecosystem: 'shell', name: 'broken', reason: 'needs libfoo' });
    const why = await admin('status?why=broken&ecosystem=shell');
    expect((why.json.why as Array<{ state: string; reason: string }>)[0]).toMatchObject({ state: 'skipped', reason: 'package skipped: needs libfoo' });
    const q = await farm.db.query('SELECT 1 FROM pending');
    expect(q.length).toBe(0);
    const un = await admin('unskip', 'POST', { ecosystem: 'shell', name: 'broken' });
    expect(un.json.queued).toBe(1);
  });

  it('pause stops handing out builds; resume restarts', async () => {
    await admin('pause', 'POST');
    const why = await admin('status?why=broken&ecosystem=shell');
    expect((why.json.why as Array<{ reason: string }>)[0]!.reason).toContain('paused');
    const w = farm.worker(createShellWorker(['shell-a']));
    await new Promise((r) => setTimeout(r, 1500));
    expect((await builds()).filter((b) => b.package === 'broken').length).toBe(0);
    await admin('resume', 'POST');
    await waitFor(async () => (await builds()).some((b) => b.package === 'broken' && b.status === 'failed'), 30_000, 'rebuilt broken');
    await w.stop();
  });

  it('several workers build at once, each build exactly once', async () => {
    upstream.set('many', {
      name: 'many',
      versions: Array.from({ length: 8 }, (_, i) => ({ version: `0.${i}.0`, released: day(10 + i), script: `sleep 0.3; printf ${i} > "$OUT"` })),
    });
    await admin('packages', 'POST', { ecosystem: 'shell', name: 'many' });
    const ws = ['w-one', 'w-two', 'w-three'].map((name) => farm.worker(createShellWorker(['shell-a']), { name }));
    const passed = await waitFor(async () => {
      const r = await farm.db.query<{ version: string; worker: string }>(
        `SELECT v.version, w.name AS worker FROM builds b JOIN versions v ON v.id = b.version_id
         JOIN packages p ON p.id = v.package_id JOIN workers w ON w.id = b.worker_id WHERE p.name = 'many' AND b.status = 'passed'`,
      );
      return r.length >= 8 ? r : null;
    }, 60_000, 'eight builds by three workers');
    for (const w of ws) await w.stop();
    // Exactly one passed build per version (a claim lost in transit may show as expired, never as a second pass).
    expect(passed.length).toBe(8);
    expect(new Set(passed.map((r) => r.version)).size).toBe(8);
    expect(new Set(passed.map((r) => r.worker)).size).toBeGreaterThan(1);
  });

  it('removes a package and everything it published', async () => {
    const out = farm.master.ctx.paths.outputPath;
    expect(existsSync(join(out, 'shell', 'alpha', 'alpha-1.0.0.bin'))).toBe(true);
    const r = await admin(`packages?ecosystem=shell&name=alpha`, 'DELETE');
    expect(r.status).toBe(200);
    await farm.settle();
    expect(existsSync(join(out, 'shell', 'alpha', 'alpha-1.0.0.bin'))).toBe(false);
    expect(existsSync(join(out, 'packages', 'shell', 'alpha', 'index.html'))).toBe(false);
    expect(readdirSync(join(out, 'packages', 'shell'))).not.toContain('alpha-missing');
  });
});
