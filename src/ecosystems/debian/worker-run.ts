/**
 * Running piuparts through BuildContext.run, as real root (outside
 * bubblewrap), while keeping a copy of what it printed: piuparts-slave
 * judges a run by its last output line, and BuildContext.run only streams
 * output into the build log. A two-line /bin/sh wrapper does the copying
 * (`tee`) or the redirecting, so the core's timeout still kills the whole
 * process group.
 */
import { readFile } from 'node:fs/promises';
import type { BuildContext } from '../types.ts';
import type { RunReport } from './worker-classify.ts';

// $1: output copy, $2: exit status file, then the command.
const TEE_SCRIPT = 'out=$1 st=$2; shift 2; { "$@" 2>&1; echo $? >"$st"; } | tee "$out"';
// $1: file the output is appended to, then the command.
const TO_FILE_SCRIPT = 'log=$1; shift; exec "$@" >>"$log" 2>&1';

/**
 * Run `words` with its output (stdout and stderr together) both streamed
 * into the build log and copied to `outFile`.
 * @param statusFile where the wrapper writes the exit status; absent
 *   afterwards when the command was killed first.
 * @returns the exit status (null when killed) and the whole output.
 */
export async function runTeed(ctx: BuildContext, words: string[], files: { outFile: string; statusFile: string }): Promise<RunReport> {
  await ctx.run('/bin/sh', ['-c', TEE_SCRIPT, 'sh', files.outFile, files.statusFile, ...words], { cwd: ctx.workDir, sandbox: false });
  const status = await readFile(files.statusFile, 'utf8').catch(() => '');
  const output = await readFile(files.outFile, 'utf8').catch(() => '');
  return { exitStatus: /^\d+\s*$/.test(status) ? Number(status) : null, output };
}

/**
 * Run `words` with its output appended to `logFile` instead of the build
 * log (the base tarball's creation: its output is not the package's).
 * @returns the exit status, or null when it was killed by a signal.
 */
export async function runToFile(ctx: BuildContext, words: string[], logFile: string): Promise<number | null> {
  const r = await ctx.run('/bin/sh', ['-c', TO_FILE_SCRIPT, 'sh', logFile, ...words], { cwd: ctx.workDir, sandbox: false });
  return r.code;
}
