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
