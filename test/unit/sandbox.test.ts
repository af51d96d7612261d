import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bwrapArgs, findBwrap, runSandboxed } from '../../src/worker/sandbox.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-sandbox-'));

function run(script: string, ms: number, bwrap: string | null = null) {
  const out: Buffer[] = [];
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  return runSandboxed('sh', ['-c', script], { cwd: dir, workDir: dir, bwrap, onOutput: (c) => out.push(c), signal: ac.signal, graceMs: 300 }).then((r) => {
    clearTimeout(t);
    return { ...r, output: Buffer.concat(out).toString() };
  });
}

describe('running build commands', () => {
  it('captures output and exit code', async () => {
    const r = await run('echo out; echo err >&2; exit 3', 10_000);
    expect(r.code).toBe(3);
    expect(r.output).toContain('out');
    expect(r.output).toContain('err');
  });

  it('a timeout kills the whole process tree, grandchildren included', async () => {
    const marker = join(dir, 'grandchild-survived');
    // The grandchild ignores SIGTERM and would write the marker after 2 s if it survived.
    const started = Date.now();
    const r = await run(`(trap '' TERM; sleep 2; touch ${marker}) & sleep 30`, 500);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.code).toBeNull();
    await new Promise((res) => setTimeout(res, 2500));
    expect(existsSync(marker)).toBe(false);
  });

  it('wraps commands in bubblewrap with a read-only host and a writable build dir', () => {
    const args = bwrapArgs('/b/1', '/b/1/pkg', false, 'make', ['-j2']);
    expect(args.slice(0, 3)).toEqual(['--ro-bind', '/', '/']);
    expect(args).toContain('--unshare-net');
    expect(args.join(' ')).toContain('--bind /b/1 /b/1');
    expect(args.slice(-3)).toEqual(['--', 'make', '-j2']);
    expect(bwrapArgs('/b', '/b', true, 'x', [])).not.toContain('--unshare-net');
  });

  const bwrap = findBwrap();
  it.skipIf(!bwrap)('inside bubblewrap the host is read-only and the network can be cut', async () => {
    const r = await run(`touch /usr/kiln-should-fail 2>&1; echo rc=$?; touch ${dir}/ok && echo wrote`, 10_000, bwrap);
    expect(r.output).toMatch(/rc=[1-9]/);
    expect(r.output).toContain('wrote');
  });
});

describe('what a build command can see', () => {
  it('inherits only an allowlist of the environment, never tokens', async () => {
    const { buildCommandEnv } = await import('../../src/worker/sandbox.ts');
    const env = buildCommandEnv({ EXTRA: '1' }, { PATH: '/bin', HOME: '/h', KILN_WORKER_TOKEN: 'secret', KILN_ADMIN_TOKEN: 's2', AWS_SECRET_ACCESS_KEY: 'x', npm_config_registry: 'r', LC_ALL: 'C' });
    expect(env).toEqual({ PATH: '/bin', HOME: '/h', LC_ALL: 'C', EXTRA: '1' });
  });

  it.skipIf(!findBwrap())('hides folders such as a master data dir inside bubblewrap', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    // Outside /tmp, which the sandbox replaces anyway: the hide option must do the work.
    const secretDir = join('/var/tmp', `kiln-sandbox-secret-${process.pid}`);
    mkdirSync(secretDir, { recursive: true });
    writeFileSync(join(secretDir, 'admin-token'), 'TOKEN-4242');
    const out: Buffer[] = [];
    const ac = new AbortController();
    const work = join(dir, 'work');
    mkdirSync(work, { recursive: true });
    await runSandboxed('sh', ['-c', `cat ${secretDir}/admin-token 2>&1; echo rc=$?`], { cwd: work, workDir: work, bwrap: findBwrap(), hide: [secretDir], onOutput: (c) => out.push(c), signal: ac.signal });
    const text = Buffer.concat(out).toString();
    expect(text).not.toContain('TOKEN-4242');
    expect(text).toMatch(/rc=[1-9]/);
    // Without the option the same command reads it: the check above can fail.
    const seen: Buffer[] = [];
    await runSandboxed('sh', ['-c', `cat ${secretDir}/admin-token`], { cwd: work, workDir: work, bwrap: findBwrap(), onOutput: (c) => seen.push(c), signal: ac.signal });
    expect(Buffer.concat(seen).toString()).toBe('TOKEN-4242');
    const { rmSync } = await import('node:fs');
    rmSync(secretDir, { recursive: true, force: true });
  });
});
