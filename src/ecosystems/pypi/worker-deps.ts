/**
 * What a PyPI build's logs and binaries say: the first useful error in
 * pip's log, whether pip failed only because the index was unreachable,
 * and the Debian packages a wheel's shared objects load (`ldd`, then
 * `dpkg -S`), as piwheels records for its "apt dependencies".
 */
import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { BuildContext } from '../types.ts';

/** Strip pip's `--log` timestamp prefix (`2026-05-01T12:00:00,123 `) from each line. Pure. */
export function stripPipLogPrefixes(log: string): string {
  return log.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[,.]\d+ ?/gm, '');
}

/**
 * The most useful error line in a pip log (timestamps stripped first), for
 * the failure reason: a compiler diagnostic (`x.c:3:10: fatal error: …`),
 * else a linker error, else setuptools' `error: command 'gcc' failed…`,
 * else pip's own `ERROR: …` (not the generic "Failed building wheel" /
 * "Failed to build" summaries when something better exists), else any
 * other `error:` line that is not pip's `subprocess-exited-with-error`
 * banner. Null when there is none. Pure.
 */
export function firstPipError(log: string): string | null {
  const lines = stripPipLogPrefixes(log).split(/\r?\n/).map((l) => l.trim());
  const generic = /subprocess-exited-with-error|metadata-generation-failed|Failed (building wheel|to build)|Could not build wheels/;
  const pick = (re: RegExp) => lines.find((l) => re.test(l) && !generic.test(l)) ?? null;
  const line =
    pick(/^\S+:\d+(:\d+)?: (fatal )?error: /) ??
    pick(/(undefined reference to|ld(\.\w+)?: cannot find|collect2: error)/) ??
    pick(/^error: command '.*' failed/) ??
    pick(/^ERROR: /) ??
    pick(/^\w*(Error|Exception): /) ??
    pick(/(^|\s)error: /i) ??
    lines.find((l) => generic.test(l)) ??
    null;
  return line ? line.slice(0, 400) : null;
}

/**
 * True when pip failed only because it could not reach the index: it
 * retried connections and then found no distribution. That is the
 * worker's problem (the build goes back in the queue), not the package's.
 * Pure.
 */
export function indexUnreachable(log: string): boolean {
  return (
    /Retrying \(Retry\(total=.*(NewConnectionError|ConnectTimeoutError|ReadTimeoutError|ProtocolError|Connection refused|Name or service not known)/.test(log) &&
    /(Could not find a version that satisfies|No matching distribution found)/.test(log)
  );
}

/** `ldd` output: libraries resolved to a path, and names it could not find. */
export interface LddResult {
  resolved: string[];
  missing: string[];
}

/**
 * Parse `ldd` output: `libc.so.6 => /lib/…/libc.so.6 (0x…)` and
 * `/lib64/ld-linux-x86-64.so.2 (0x…)` give paths; `libfoo.so => not found`
 * gives a missing name; the vDSO has no path and is skipped. Pure.
 */
export function parseLdd(out: string): LddResult {
  const resolved: string[] = [];
  const missing: string[] = [];
  for (const raw of out.split('\n')) {
    const line = raw.trim();
    let m = /^(\S+) => not found/.exec(line);
    if (m) {
      missing.push(m[1]!);
      continue;
    }
    m = /=> (\/\S+)/.exec(line) ?? /^(\/\S+) \(0x/.exec(line);
    if (m && !resolved.includes(m[1]!)) resolved.push(m[1]!);
  }
  return { resolved, missing };
}

/**
 * Parse `dpkg -S` output into path → package names (architecture
 * qualifiers like `:amd64` dropped). Diversion lines and "no path found"
 * errors are ignored. Pure.
 */
export function parseDpkgS(out: string): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    if (!line || line.startsWith('diversion ') || line.startsWith('dpkg-query:')) continue;
    const m = /^(.+?): (\/.*)$/.exec(line);
    if (!m) continue;
    const pkgs = m[1]!.split(',').map((p) => p.trim().replace(/:[a-z0-9-]+$/, '')).filter(Boolean);
    owners.set(m[2]!.trim(), pkgs);
  }
  return owners;
}

/**
 * The paths under which dpkg may have recorded a library: as given, with
 * `/usr` added or removed (merged-/usr systems record `/lib/…` while the
 * loader may report `/usr/lib/…`), and the same for its real path. Pure
 * apart from `real`, which the caller resolves.
 */
export function dpkgCandidates(p: string, real: string | null): string[] {
  const out: string[] = [];
  const add = (x: string) => {
    if (!out.includes(x)) out.push(x);
  };
  for (const x of [p, real].filter((v): v is string => !!v)) {
    add(x);
    if (x.startsWith('/usr/')) add(x.slice(4));
    else add(`/usr${x}`);
  }
  return out;
}

/** A command's exit code and its combined output, also copied to the build log. */
export interface Captured {
  code: number | null;
  text: string;
}

/**
 * Run a command through ctx.run with its stdout and stderr captured into a
 * file in the build directory (the only place the sandbox lets it write),
 * then echoed into the build log.
 */
export async function runCaptured(ctx: BuildContext, name: string, cmd: string, args: string[], network: boolean): Promise<Captured> {
  const out = path.join(ctx.workDir, `.kiln-${name}.out`);
  const script = 'out=$1; shift; "$@" >"$out" 2>&1; rc=$?; cat "$out"; exit $rc';
  const r = await ctx.run('sh', ['-c', script, 'kiln-capture', out, cmd, ...args], { cwd: ctx.workDir, network });
  const text = existsSync(out) ? await readFile(out, 'utf8') : '';
  return { code: r.code, text };
}

/** The Debian packages a set of shared objects needs, and what could not be mapped. */
export interface AptDependencies {
  apt: string[];
  /** Libraries ldd found that no Debian package owns (e.g. under /usr/local). */
  unowned: string[];
  /** Library names ldd could not resolve on this worker. */
  missing: string[];
}

/**
 * Run `ldd` (no network) on each shared object, then one `dpkg -S` over
 * every resolved library, and return the owning packages, sorted. Without
 * ldd or dpkg (exit 127) the result is empty and the log says why.
 */
export async function aptDependencies(ctx: BuildContext, files: string[]): Promise<AptDependencies> {
  const libs: string[] = [];
  const missing: string[] = [];
  for (const [i, f] of files.entries()) {
    ctx.log(`$ ldd ${path.basename(f)}\n`);
    const r = await runCaptured(ctx, `ldd-${i}`, 'ldd', [f], false);
    if (r.code === 127) {
      ctx.log('ldd is not installed; apt dependencies not worked out\n');
      return { apt: [], unowned: [], missing: [] };
    }
    const p = parseLdd(r.text);
    for (const l of p.resolved) if (!libs.includes(l)) libs.push(l);
    for (const m of p.missing) if (!missing.includes(m)) missing.push(m);
  }
  if (!libs.length) return { apt: [], unowned: [], missing };
  // First as ldd printed them; then, for those dpkg does not know, the merged-/usr spellings.
  const owners = new Map<string, string[]>();
  const ask = async (name: string, paths: string[]) => {
    ctx.log(`$ dpkg -S ${paths.join(' ')}\n`);
    const r = await runCaptured(ctx, name, 'dpkg', ['-S', ...paths], false);
    if (r.code === 127) return false;
    for (const [p, pkgs] of parseDpkgS(r.text)) owners.set(p, pkgs);
    return true;
  };
  if (!(await ask('dpkg-S', libs))) {
    ctx.log('dpkg is not installed; apt dependencies not worked out\n');
    return { apt: [], unowned: [], missing };
  }
  const candidates = new Map<string, string[]>();
  for (const l of libs) candidates.set(l, owners.has(l) ? [l] : dpkgCandidates(l, await realpath(l).catch(() => null)).filter((c) => c !== l));
  const retry = [...new Set([...candidates.values()].flat())].filter((c) => !owners.has(c));
  if (retry.length) await ask('dpkg-S-2', retry);
  const apt = new Set<string>();
  const unowned: string[] = [];
  for (const [lib, cands] of candidates) {
    const found = cands.map((c) => owners.get(c)).find((o) => o?.length);
    if (found) for (const p of found) apt.add(p);
    else unowned.push(lib);
  }
  return { apt: [...apt].sort(), unowned, missing };
}
