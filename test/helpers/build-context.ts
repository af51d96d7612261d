/**
 * A BuildContext for testing an ecosystem's build() directly, without a
 * master: commands run through the worker's own runner (process group,
 * allowlisted environment), unsandboxed, and the log is kept in memory.
 */
import type { BuildContext } from '../../src/ecosystems/types.ts';
import { runSandboxed } from '../../src/worker/sandbox.ts';

/** A context for one build in `workDir`; `text()` returns the log so far. */
export function makeBuildContext(workDir: string): BuildContext & { text(): string } {
  let log = '';
  const signal = new AbortController().signal;
  return {
    workDir,
    signal,
    log: (t) => void (log += t),
    text: () => log,
    run: (cmd, args, opts) => runSandboxed(cmd, args, { ...opts, workDir, bwrap: null, signal, onOutput: (c) => void (log += c.toString()) }),
  };
}
