/**
 * How piuparts-slave 1.1.7 decides a package's result (`_test_package` in
 * /usr/share/piuparts/piuparts-slave), as pure functions: first whether
 * the package can be tested at all (its version in the worker's own
 * Packages indexes), then what a piuparts run's exit status and output
 * say. The return codes (`ret=N` in the log) are the slave's.
 */
import type { BuildOutcome } from '../types.ts';
import type { DebianJobSpec } from './job-spec.ts';
import { isDistUpgrade } from './worker-command.ts';
import { compareDebianVersions } from './version.ts';

/** A package's paragraph in one distro's Packages index. */
export interface FoundPackage {
  version: string;
  /** The raw deb822 paragraph, every line ending with `\n`, no blank line. */
  stanza: string;
}

/** The verdict before piuparts runs. */
export interface Availability {
  /** 0 when the package can be tested; else the slave's -10001 … -10006. */
  ret: number;
  /** What the slave writes after `Start:`: messages, then the package's stanza(s) between blank lines. */
  text: string;
  /** Why the package is untestable (the first message), or null. */
  reason: string | null;
}

/**
 * Check that the version to test is the one the worker's Packages
 * indexes hold, as the slave does before running piuparts.
 *
 * A plain test looks in `spec.indexDistro`: missing → -10001, another
 * version → -10002. An upgrade test looks in every upgrade-test distro:
 * missing from all → -10003, missing from the last → -10004, another
 * version in the last → -10005, and a version lower than an earlier
 * distro's → -10006 ("requires downgrade").
 * @param found the package's paragraph per distro name, null where absent.
 * @throws DebianVersionError when an index holds an invalid version (upgrade tests compare them).
 */
export function checkAvailability(spec: DebianJobSpec, found: ReadonlyMap<string, FoundPackage | null>): Availability {
  const { package: pkg, version } = spec;
  const messages: string[] = [];
  let ret = 0;
  let text = '';
  const say = (line: string, code: number) => {
    messages.push(line);
    text += `${line}\n`;
    ret = code;
  };

  if (!isDistUpgrade(spec)) {
    const distro = spec.indexDistro;
    const p = found.get(distro) ?? null;
    if (!p) {
      say(`Package ${pkg} not found in ${distro}`, -10001);
    } else {
      if (p.version !== version) say(`Package ${pkg} ${version} not found in ${distro}, ${p.version} is available`, -10002);
      text += `\n${p.stanza}\n`;
    }
  } else {
    const distros = spec.upgradeTestDistros;
    if (!distros.some((d) => found.get(d))) say(`Package ${pkg} not found in any distribution`, -10003);
    const last = distros[distros.length - 1]!;
    const final = found.get(last) ?? null;
    if (!final) say(`Package ${pkg} not found in ${last}`, -10004);
    else if (final.version !== version) say(`Package ${pkg} ${version} not found in ${last}, ${final.version} is available`, -10005);
    for (const d of distros) text += `\n[${d}]\n${found.get(d)?.stanza ?? ''}`;
    text += '\n';
    if (ret === 0) {
      let prev: string | null = null;
      for (const d of distros) {
        const v = found.get(d)?.version;
        if (v === undefined) continue;
        if (prev !== null && compareDebianVersions(prev, v) > 0) say(`Upgrade to ${d} requires downgrade: ${prev} > ${v}`, -10006);
        prev = v;
      }
    }
  }
  return { ret, text, reason: messages[0] ?? null };
}

/** What a piuparts run reported. */
export interface RunReport {
  /** piuparts' exit status, or null when it was killed before it had one. */
  exitStatus: number | null;
  /** Everything it wrote (stdout and stderr together, as the slave reads it). */
  output: string;
}

/** The verdict after a piuparts run. */
export interface RunVerdict {
  /** The slave's `ret=` value: the exit status, +1024 when the output is incomplete, negative when killed. */
  ret: number;
  status: 'passed' | 'failed';
  failureReason: string | null;
  /** The slave's remark after the output (` *** … ***\n`), or `''`. */
  note: string;
}

/** The first line of piuparts output with an `ERROR:` (what a failure reason quotes), trimmed, or undefined. */
export function firstErrorLine(output: string): string | undefined {
  return output.split('\n').find((l) => /\bERROR: /.test(l))?.trim();
}

/** The line piuparts prints last when it ran to its end (`piuparts run ends.`). */
export const RUN_ENDS = 'piuparts run ends';

/**
 * Classify a finished piuparts run as the slave does: status 124 or 137
 * (killed by `timeout`) and runs killed without a status count as killed
 * (negative ret); otherwise a last output line lacking
 * {@link RUN_ENDS} adds 1024 to ret; ret 0 passes, anything else fails.
 */
export function classifyRun(r: RunReport): RunVerdict {
  let ret = r.exitStatus === null ? -1 : r.exitStatus === 124 || r.exitStatus === 137 ? -r.exitStatus : r.exitStatus;
  const out = r.output.endsWith('\n') ? r.output : `${r.output}\n`;
  const lines = out.split('\n');
  const lastLine = lines[lines.length - 2]!;
  const firstError = firstErrorLine(out);
  const because = firstError ? `: ${firstError}` : '';
  if (ret < 0) {
    return { ret, status: 'failed', failureReason: `piuparts was killed (ret=${ret})${because}`, note: ' *** Process KILLED - exceed maximum run time ***\n' };
  }
  if (!lastLine.includes(RUN_ENDS)) {
    const status = ret;
    ret += 1024;
    return {
      ret,
      status: 'failed',
      failureReason: `piuparts output incomplete: its last line is not "${RUN_ENDS}", so 1024 was added to its exit status ${status} (ret=${ret})${because}`,
      note: ' *** PIUPARTS OUTPUT INCOMPLETE ***\n',
    };
  }
  if (ret !== 0) return { ret, status: 'failed', failureReason: `piuparts failed (ret=${ret})${because}`, note: '' };
  return { ret, status: 'passed', failureReason: null, note: '' };
}

/** The build outcome of an untestable package (no piuparts run). */
export function untestableOutcome(a: Availability): BuildOutcome {
  return { status: 'untestable', failureReason: `${a.reason ?? 'untestable'} (ret=${a.ret}); piuparts was not run`, artifacts: [] };
}

/** The build outcome of a classified run; piuparts tests produce no artifacts (the log is the result). */
export function runOutcome(v: RunVerdict): BuildOutcome {
  return { status: v.status, failureReason: v.failureReason, artifacts: [] };
}
