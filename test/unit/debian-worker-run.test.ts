/**
 * Running piuparts outside bubblewrap (RunOptions.sandbox = false) while
 * its output is both streamed into the build log and kept for
 * classification.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTeed } from '../../src/ecosystems/debian/worker-run.ts';
import type { BuildContext } from '../../src/ecosystems/types.ts';
import { findBwrap, runSandboxed } from '../../src/worker/sandbox.ts';
import { makeBuildContext } from '../helpers/build-context.ts';

const root = mkdtempSync(path.join(tmpdir(), 'kiln-debian-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('runTeed', () => {
  it('streams the output into the log and returns it with the exit status', async () => {
    const ctx = makeBuildContext(mkdtempSync(path.join(root, 'b-')));
    const files = { outFile: path.join(ctx.workDir, 'out'), statusFile: path.join(ctx.workDir, 'status') };
    const r = await runTeed(ctx, ['sh', '-c', 'echo one; echo two >&2; exit 3'], files);
    expect(r).toEqual({ exitStatus: 3, output: 'one\ntwo\n' });
    expect(ctx.text()).toBe('one\ntwo\n');
  });

  it('reports no exit status when the command is killed', async () => {
    const base = makeBuildContext(mkdtempSync(path.join(root, 'b-')));
    const ac = new AbortController();
    const ctx: BuildContext = {
      ...base,
      signal: ac.signal,
      run: (cmd, args, o) => runSandboxed(cmd, args, { ...o, workDir: base.workDir, bwrap: null, signal: ac.signal, graceMs: 200, onOutput: () => {} }),
    };
    setTimeout(() => ac.abort(), 300);
    const r = await runTeed(ctx, ['sh', '-c', 'echo started; sleep 30'], { outFile: path.join(base.workDir, 'out'), statusFile: path.join(base.workDir, 'status') });
    expect(r).toEqual({ exitStatus: null, output: 'started\n' });
  });
});

const bwrap = findBwrap();

describe.skipIf(!bwrap)('sandbox: false (bubblewrap is installed here)', () => {
  const run = (sandbox: boolean | undefined, target: string) => {
    const workDir = mkdtempSync(path.join(root, 'w-'));
    const out: Buffer[] = [];
    return runSandboxed('sh', ['-c', `echo x > ${target}`], {
      cwd: workDir, workDir, bwrap, sandbox, signal: new AbortController().signal, onOutput: (c) => void out.push(c),
    }).then((r) => ({ ...r, output: Buffer.concat(out).toString() }));
  };

  it('a sandboxed command cannot write outside its build directory; an unsandboxed one can', async () => {
    const target = path.join(root, 'outside');
    // Inside bubblewrap /tmp is a private tmpfs: the write fails or lands there, never here.
    await run(undefined, target);
    expect(existsSync(target)).toBe(false);
    const direct = await run(false, target);
    expect(direct.code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('x\n');
  });
});
