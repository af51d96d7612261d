/**
 * What a Debian worker can do here: piuparts builds chroots, so it needs
 * real root and piuparts installed; the architecture is dpkg's.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TargetDecl } from '../types.ts';

const run = promisify(execFile);

/** The machine's facts, as probed. */
export interface DebianHostProbe {
  /** `dpkg --print-architecture`, e.g. `amd64`; null without dpkg. */
  arch: string | null;
  /** piuparts' version (`piuparts --version`, else dpkg-query's), or null when it is not installed. */
  piuparts: string | null;
  /** Whether this process runs as root (uid 0). */
  root: boolean;
}

async function output(cmd: string, args: string[]): Promise<string | null> {
  try {
    return (await run(cmd, args, { timeout: 30_000 })).stdout.trim() || null;
  } catch {
    return null;
  }
}

/** Probe the host: architecture, piuparts version, root. Never throws. */
export async function probeDebianHost(): Promise<DebianHostProbe> {
  const arch = await output('dpkg', ['--print-architecture']);
  // `piuparts --version` prints `piuparts 1.1.7`.
  const printed = (await output('piuparts', ['--version']))?.replace(/^piuparts\s+/, '') ?? null;
  const piuparts = printed ?? (await output('dpkg-query', ['-W', '-f=${Version}', 'piuparts']));
  return { arch, piuparts, root: process.getuid?.() === 0 };
}

/**
 * The targets of a Debian worker: one per section, `{ name: section,
 * ecosystem: 'debian', facts: { arch, piuparts, root: true } }`.
 * @returns the targets, or no targets and the reason when this machine
 *   cannot run piuparts (not root, no piuparts, no dpkg, no sections).
 */
export function debianTargets(sections: string[], probe: DebianHostProbe): { targets: TargetDecl[]; problem: string | null } {
  const none = (problem: string) => ({ targets: [], problem });
  if (!sections.length) return none('no Debian sections configured (kiln worker --debian-section NAME, or [worker] debian_sections)');
  if (!probe.root) return none('piuparts needs real root to build its chroots, and this worker does not run as root');
  if (!probe.piuparts) return none('piuparts is not installed (apt-get install piuparts)');
  if (!probe.arch) return none('dpkg --print-architecture failed: this does not look like a Debian system');
  const facts = { arch: probe.arch, piuparts: probe.piuparts, root: true };
  return { targets: sections.map((name) => ({ name, ecosystem: 'debian', facts: { ...facts } })), problem: null };
}
