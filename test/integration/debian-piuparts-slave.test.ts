/**
 * piuparts master/slave compatibility: the REAL piuparts-slave (piuparts
 * 1.1.7, through a fake ssh, test/helpers/piuparts-slave.ts) runs the real
 * `kiln piuparts-master` relay, which talks to Kiln's socket server backed
 * by an in-memory master. Also the socket server and the relay on their
 * own: preamble, stale sockets, permissions, the message when no master runs.
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listenPiupartsMaster, type PiupartsMasterServer } from '../../src/ecosystems/debian/piuparts-master/socket-server.ts';
import { silentLogger } from '../../src/log.ts';
import { MemoryPiupartsMaster } from '../helpers/piuparts-memory-backend.ts';
import { piupartsSlaveSkipReason, startPiupartsSlave, type PiupartsSlave } from '../helpers/piuparts-slave.ts';

const KILN = resolve(import.meta.dirname, '..', '..', 'bin', 'kiln.js');

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** The master command a slave's ssh runs: the real CLI relay to `sock`. */
const relayCommand = (sock: string) => `${sq(process.execPath)} ${sq(KILN)} piuparts-master --socket ${sq(sock)}`;

/** Run `kiln piuparts-master` with this stdin. */
function relay(args: string[], stdin: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [KILN, 'piuparts-master', ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-piuparts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('piuparts socket server and relay', () => {
  let server: PiupartsMasterServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('serves a scripted slave through the CLI relay, naming it from SSH_CLIENT or --name', async () => {
    const sock = join(dir, 'relay.sock');
    const m = new MemoryPiupartsMaster({ sid: { packages: [{ name: 'alpha', version: '1.0' }] } });
    server = await listenPiupartsMaster(sock, m.backendFor, silentLogger());
    expect(lstatSync(sock).mode & 0o777).toBe(0o660);

    const script = 'section sid\nreserve\npass alpha 1.0\n Start: now\n.\nstatus\n';
    const r = await relay(['--socket', sock], script, { SSH_CLIENT: '192.0.2.7 51000 22' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'hello',
      'ok',
      'ok alpha 1.0',
      'ok',
      'ok successfully-tested=1 failed-testing=0 cannot-be-tested=0 waiting-to-be-tested=0 waiting-for-dependency-to-be-tested=0 dependency-failed-testing=0 dependency-cannot-be-tested=0 dependency-does-not-exist=0 unknown=0 outdated=0 total=1',
      '',
    ]);
    expect(m.submissions).toEqual([{ slave: 'piuparts-slave@192.0.2.7', section: 'sid', kind: 'pass', name: 'alpha', version: '1.0', log: 'Start: now\n' }]);

    const named = await relay(['--socket', sock, '--name', 'box 7'], 'section sid\n', { SSH_CLIENT: '' });
    expect(named.stdout).toBe('hello\nok\n');
    const local = await relay(['--socket', sock], '', { SSH_CLIENT: '' });
    expect(local.stdout).toBe('hello\n');
    expect(m.slaves).toEqual(['piuparts-slave@192.0.2.7', 'box 7', 'piuparts-slave@local']);
    expect(m.closed).toBe(3);
  });

  it('ends the relay when the master closes the connection on a protocol error', async () => {
    const sock = join(dir, 'err.sock');
    const m = new MemoryPiupartsMaster({ sid: { packages: [] } });
    server = await listenPiupartsMaster(sock, m.backendFor, silentLogger());
    // stdin stays open after the bad command: the relay must still end.
    const child = spawn(process.execPath, [KILN, 'piuparts-master', '--socket', sock], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stdin.write('reserve\n');
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(stdout).toBe('hello\n');
  });

  it('says the master is not running when the socket is missing or refuses', async () => {
    const missing = await relay(['--socket', join(dir, 'nope.sock')], '');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe(`kiln: the Kiln master is not running or does not serve Debian: no socket at ${join(dir, 'nope.sock')}\n`);

    // A socket file nobody listens on any more.
    const stale = join(dir, 'stale.sock');
    // A listener killed outright leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await new Promise((r) => child.on('exit', r));
    expect(lstatSync(stale).isSocket()).toBe(true);
    const refused = await relay(['--socket', stale], '');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`kiln: the Kiln master is not running or does not serve Debian: nothing listens on ${stale}\n`);

    // The server replaces that stale socket file.
    server = await listenPiupartsMaster(stale, new MemoryPiupartsMaster({}).backendFor, silentLogger());
    expect((await relay(['--socket', stale], '')).stdout).toBe('hello\n');
  });

  it('finds the socket in the data dir from the config', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const config = join(dir, 'kiln.toml');
    writeFileSync(config, `[master]\ndata_dir = ${JSON.stringify(dataDir)}\n`);
    server = await listenPiupartsMaster(join(dataDir, 'piuparts-master.sock'), new MemoryPiupartsMaster({}).backendFor, silentLogger());
    const r = await relay(['--config', config], 'section nosuch\n');
    expect(r.stdout).toBe('hello\nerror\n');
  });

  it('refuses to replace a live socket or a file that is not a socket', async () => {
    const sock = join(dir, 'live.sock');
    server = await listenPiupartsMaster(sock, new MemoryPiupartsMaster({}).backendFor, silentLogger());
    await expect(listenPiupartsMaster(sock, new MemoryPiupartsMaster({}).backendFor, silentLogger())).rejects.toThrow(`another process already serves piuparts-slaves on ${sock}`);
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    await expect(listenPiupartsMaster(file, new MemoryPiupartsMaster({}).backendFor, silentLogger())).rejects.toThrow('exists and is not a socket');
  });

  it('closes a connection that does not start with the relay preamble, before hello', async () => {
    const sock = join(dir, 'raw.sock');
    const m = new MemoryPiupartsMaster({ sid: { packages: [] } });
    server = await listenPiupartsMaster(sock, m.backendFor, silentLogger(), { preambleTimeoutMs: 500 });
    for (const send of ['section sid\n', '']) {
      const c = createConnection(sock);
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      if (send) c.write(send);
      await new Promise((r) => c.on('close', r));
      expect(got).toBe('');
    }
    expect(m.slaves).toEqual([]);
  });
});

const skip = piupartsSlaveSkipReason();

describe.skipIf(skip !== null)(`the real piuparts-slave${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: PiupartsMasterServer;
  let slave: PiupartsSlave | null = null;
  afterEach(async () => {
    if (slave) await slave.cleanup();
    slave = null;
    await server?.close();
  });

  it('reserves, tests with the stub and submits pass, fail and untestable logs in its own format', async () => {
    const sock = join(dir, 'slave.sock');
    const m = new MemoryPiupartsMaster({
      sid: {
        packages: [
          { name: 'alpha', version: '1.0' },
          { name: 'beta', version: '2:2.0-1' },
          { name: 'gamma', version: '3.0' },
        ],
        idleAfterEmpty: 0,
      },
    });
    server = await listenPiupartsMaster(sock, m.backendFor, silentLogger());
    slave = await startPiupartsSlave({
      masterCommand: relayCommand(sock),
      sections: [
        {
          name: 'sid',
          packages: [
            { name: 'alpha', version: '1.0' },
            { name: 'beta', version: '2:2.0-1', fields: { Depends: 'alpha' } },
            // The mirror has a newer gamma than the master hands out: the slave reports it untestable.
            { name: 'gamma', version: '3.1' },
          ],
        },
      ],
      failPackages: ['beta'],
      maxReserved: 5,
    });
    const acked = await slave.waitForSubmissions(3);
    expect(acked.map((s) => `${s.section} ${s.kind} ${s.name} ${s.version}`).sort()).toEqual(['sid fail beta 2:2.0-1', 'sid pass alpha 1.0', 'sid untestable gamma 3.0']);
    // The next round: nothing left to reserve, the status reflects the results, and recycling is refused.
    await slave.waitForOutput(/Master sid status: successfully-tested=1 failed-testing=1 cannot-be-tested=1 waiting-to-be-tested=0 .* total=3/);
    await slave.waitForOutput(/master has nothing to recycle/);

    const byName = new Map(m.submissions.map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual(['alpha', 'beta', 'gamma']);
    for (const s of m.submissions) {
      expect(s.slave).toBe('piuparts-slave@127.0.0.1');
      expect(s.log).toMatch(/^Start: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+\n/);
      expect(s.log).toMatch(/\nret=-?\d+\nEnd: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+\n$/);
    }
    const alpha = byName.get('alpha')!;
    expect(alpha.kind).toBe('pass');
    expect(alpha.log).toContain('\nPackage: alpha\nVersion: 1.0\n');
    expect(alpha.log).toMatch(/\nExecuting: .*stub-piuparts .*--apt alpha=1\.0\n/);
    expect(alpha.log).toContain('INFO: piuparts run ends.\n');
    expect(alpha.log).toMatch(/\nret=0\nEnd: /);

    const beta = byName.get('beta')!;
    expect(beta.kind).toBe('fail');
    expect(beta.log).toContain('\nDepends: alpha\n');
    expect(beta.log).toContain('--apt beta=2:2.0-1\n');
    expect(beta.log).toContain('ERROR: stub piuparts: beta fails, as the test asked\n');
    expect(beta.log).toMatch(/\nret=1\nEnd: /);

    const gamma = byName.get('gamma')!;
    expect(gamma.kind).toBe('untestable');
    expect(gamma.log).toContain('Package gamma 3.0 not found in sid, 3.1 is available\n');
    expect(gamma.log).not.toContain('Executing:');
    expect(gamma.log).toMatch(/\nret=-10002\nEnd: /);

    const methods = m.calls.map((c) => c.method);
    expect(methods).toContain('idleSeconds');
    expect(methods).toContain('status');
    expect(methods).toContain('canRecycle');
    expect(methods.filter((x) => x === 'reserve').length).toBeGreaterThanOrEqual(4);
    expect(m.sections.get('sid')!.reserved.size).toBe(0);
    expect(new Set(m.slaves)).toEqual(new Set(['piuparts-slave@127.0.0.1']));
  });

  it('stays away while the master says the section is idle', async () => {
    const sock = join(dir, 'idle.sock');
    const m = new MemoryPiupartsMaster({ sid: { packages: [{ name: 'alpha', version: '1.0' }], idleSeconds: 100 } });
    server = await listenPiupartsMaster(sock, m.backendFor, silentLogger());
    slave = await startPiupartsSlave({
      masterCommand: relayCommand(sock),
      sections: [{ name: 'sid', packages: [{ name: 'alpha', version: '1.0' }] }],
      idleSleep: 300,
      sshClient: null,
    });
    await slave.waitForOutput(/idle \(100\)/);
    expect(m.calls.filter((c) => c.method === 'reserve')).toEqual([]);
    expect(m.slaves[0]).toBe('piuparts-slave@local');
  });
});
