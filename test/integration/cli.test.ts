/**
 * The `kiln` binary as a user runs it: exit codes and one-line messages
 * for bad config, a missing schema and a locked data directory; initdb;
 * a master that answers admin commands.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KILN_VERSION, SCHEMA_VERSION } from '../../src/version.ts';
import { usingPostgres } from '../helpers/db.ts';
import { waitFor } from '../helpers/farm.ts';

const BIN = join(import.meta.dirname, '../../bin/kiln.js');
const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kiln(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, HOME: dir, ...env }, timeout: 90_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the kiln command', () => {
  it('prints its version', () => {
    expect(kiln(['--version']).out.trim()).toBe(KILN_VERSION);
    expect(kiln(['master', '--version']).out.trim()).toBe(KILN_VERSION);
  });

  it('stops on a bad setting with one line naming the key (exit 2)', () => {
    const r = kiln(['master', '--listen', 'nowhere']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('kiln: config: master.listen: expected HOST:PORT, for example 127.0.0.1:8470');
    const missing = kiln(['master'], { KILN_CONFIG: join(dir, 'nope.toml') });
    expect(missing.code).toBe(2);
    expect(missing.err.trim()).toBe(`kiln: config file ${join(dir, 'nope.toml')} (from KILN_CONFIG) does not exist`);
    const env = kiln(['master'], { KILN_MASTER_LEASE_S: 'soon' });
    expect(env.code).toBe(2);
    expect(env.err).toContain('master.lease_s');
  });

  it.skipIf(usingPostgres)('refuses a missing schema, initdb creates it, and a second master on the directory is refused', async () => {
    const data = join(dir, 'data');
    const refused = kiln(['master', '--data-dir', data, '--listen', '127.0.0.1:0']);
    expect(refused.code).toBe(3);
    expect(refused.err).toContain('run kiln initdb');
    const init = kiln(['initdb', '--data-dir', data]);
    expect(init.code, init.err).toBe(0);
    expect(init.out).toContain(`schema upgraded from version 0 to ${SCHEMA_VERSION}`);
    expect(kiln(['initdb', '--data-dir', data]).out).toContain(`schema already at version ${SCHEMA_VERSION}`);

    const master = spawn(process.execPath, [BIN, 'master', '--data-dir', data, '--listen', '127.0.0.1:18479', '-q'], {
      cwd: dir,
      env: { ...process.env, HOME: dir, KILN_NPM_PACKAGES: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    master.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitFor(async () => stderr.includes('API and site at'), 60_000, `the master to start (${stderr})`);
      const second = kiln(['master', '--data-dir', data, '--listen', '127.0.0.1:18480']);
      expect(second.code).toBe(1);
      expect(second.err).toContain('is in use by another Kiln process');
      const status = kiln(['status', '--master', 'http://127.0.0.1:18479', '--data-dir', data, '--json']);
      expect(status.code, status.err).toBe(0);
      expect(JSON.parse(status.out)).toMatchObject({ paused: false, totals: { packages: 0 } });
      const paused = kiln(['pause', '--master', 'http://127.0.0.1:18479', '--data-dir', data]);
      expect(paused.out).toContain('"paused":true');
      const token = kiln(['worker-token', 'add', 'builder1', '--master', 'http://127.0.0.1:18479', '--data-dir', data]);
      expect(token.out.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const badAdmin = kiln(['status', '--master', 'http://127.0.0.1:18479', '--admin-token', 'wrong-token-0123456789']);
      expect(badAdmin.code).toBe(1);
      expect(badAdmin.err).toContain('missing or invalid token');
    } finally {
      master.kill('SIGTERM');
      await new Promise((r) => master.once('exit', r));
    }
  });
});
