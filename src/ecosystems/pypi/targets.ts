/**
 * PyPI targets: a Python ABI plus a platform, named `<abi>-<platform>`,
 * e.g. `cp311-linux_x86_64`. A worker declares one per Python it builds
 * with; the facts are `{ abi: 'cp311', platform: 'linux_x86_64', python: '3.11.7' }`.
 */
import { satisfies, validRange } from '@renovatebot/pep440';
import type { Json } from '../types.ts';
import type { WheelName } from './wheel-name.ts';

/** The facts a PyPI target carries (`TargetDecl.facts`). */
export interface PypiTargetFacts {
  /** ABI tag of the building interpreter, e.g. `cp311` (`cp313t` for free-threaded). */
  abi: string;
  /** Platform tag, e.g. `linux_x86_64`, `linux_armv7l`. */
  platform: string;
  /** Full interpreter version, e.g. `3.11.7`. */
  python: string;
}

/** The target name for facts: `<abi>-<platform>`. */
export function pypiTargetName(f: Pick<PypiTargetFacts, 'abi' | 'platform'>): string {
  return `${f.abi}-${f.platform}`;
}

/**
 * Read target facts back from stored JSON.
 * @throws Error when a fact is missing or of the wrong type.
 */
export function readPypiTargetFacts(facts: Json, targetName: string): PypiTargetFacts {
  const { abi, platform, python } = facts;
  if (typeof abi !== 'string' || typeof platform !== 'string' || typeof python !== 'string') {
    throw new Error(`target ${targetName} lacks the PyPI facts abi, platform and python (got ${JSON.stringify(facts)})`);
  }
  return { abi, platform, python };
}

interface AbiParts {
  impl: string;
  major: number;
  minor: number;
  suffix: string;
}

function abiParts(abi: string): AbiParts | null {
  const m = /^([a-z]+)(\d)(\d*)([a-z_]*)$/i.exec(abi);
  if (!m || m[1]!.toLowerCase() === 'abi') return null;
  return { impl: m[1]!.toLowerCase(), major: Number(m[2]), minor: m[3] ? Number(m[3]) : -1, suffix: m[4]!.toLowerCase() };
}

/**
 * Order ABI tags as versions: `cp39` < `cp310` < `cp313` < `cp313t`.
 * Tags are grouped by implementation (`cp`, `pp`…); tags that do not look
 * like `<impl><major><minor><suffix>` sort after the others, by string.
 */
export function compareAbi(a: string, b: string): number {
  const pa = abiParts(a);
  const pb = abiParts(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a.localeCompare(b);
  return (
    pa.impl.localeCompare(pb.impl) ||
    pa.major - pb.major ||
    pa.minor - pb.minor ||
    pa.suffix.localeCompare(pb.suffix) ||
    a.localeCompare(b)
  );
}

/** `3.11.7rc1` → `3.11.7`: pip checks Requires-Python against `sys.version_info[:3]`, never a pre-release. */
export function interpreterRelease(python: string): string {
  return /^\d+(\.\d+)*/.exec(python.trim())?.[0] ?? python.trim();
}

/** A Requires-Python value tidied the way packaging reads it: empty clauses dropped. */
function tidySpecifier(spec: string): string {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .join(', ');
}

/**
 * Whether a Requires-Python specifier admits an interpreter version.
 * Empty or invalid specifiers admit everything, as pip ignores an invalid
 * Requires-Python (it logs and treats the file as compatible).
 */
export function pythonSatisfies(python: string, requiresPython: string | null | undefined): boolean {
  if (!requiresPython) return true;
  const spec = tidySpecifier(requiresPython);
  if (!spec || !validRange(spec)) return true;
  return satisfies(interpreterRelease(python), spec);
}

/** The skip reason when a version's Requires-Python excludes the target's Python, else null. */
export function requiresPythonSkip(requiresPython: string | null | undefined, facts: PypiTargetFacts): string | null {
  if (pythonSatisfies(facts.python, requiresPython)) return null;
  return `requires_python ${JSON.stringify(requiresPython)} excludes Python ${interpreterRelease(facts.python)}`;
}

/** The architecture part of a platform tag: `linux_x86_64` → `x86_64`, `manylinux_2_17_aarch64` → `aarch64`. */
export function platformArch(platform: string): string | null {
  const m = /^(?:linux|(?:many|musl)linux(?:1|2010|2014|_\d+_\d+))_(.+)$/.exec(platform);
  return m ? m[1]! : null;
}

/** Whether a wheel's platform tag runs on the target platform (`any`, equal, or a many/musllinux tag of the same arch on Linux). */
export function platformServes(wheelPlatform: string, targetPlatform: string): boolean {
  if (wheelPlatform === 'any' || wheelPlatform === targetPlatform) return true;
  if (!targetPlatform.startsWith('linux_')) return false;
  const arch = platformArch(targetPlatform);
  return arch !== null && /^(?:many|musl)linux/.test(wheelPlatform) && platformArch(wheelPlatform) === arch;
}

function pythonTagServes(tag: string, abiTag: string, facts: PypiTargetFacts): boolean {
  const target = abiParts(facts.abi);
  const [maj, min] = interpreterRelease(facts.python).split('.').map(Number) as [number, number | undefined];
  const m = /^(py|cp|pp|ip|jy)(\d)(\d*)$/.exec(tag);
  if (!m) return false;
  const major = Number(m[2]);
  const minor = m[3] ? Number(m[3]) : null;
  if (m[1] === 'py') return major === maj && (minor === null || minor === min);
  if (m[1] !== target?.impl) return false;
  if (abiTag === 'abi3') return major === maj && (minor === null || (min !== undefined && minor <= min));
  return major === maj && (minor === null || minor === min);
}

/**
 * Whether a wheel installs on a target, for its pip: some (python, abi,
 * platform) tag triple matches. `none` and `abi3` wheels serve several
 * targets (`py3-none-any` every Python 3 target; `cp38-abi3-linux_x86_64`
 * every CPython ≥ 3.8 on linux_x86_64), so the core can count them as built
 * for all the targets they serve.
 */
export function wheelServesTarget(w: Pick<WheelName, 'python' | 'abi' | 'platform'>, facts: PypiTargetFacts): boolean {
  for (const abi of w.abi) {
    if (abi !== 'none' && abi !== 'abi3' && abi !== facts.abi) continue;
    if (!w.platform.some((p) => platformServes(p, facts.platform))) continue;
    if (w.python.some((py) => pythonTagServes(py, abi, facts))) return true;
  }
  return false;
}
