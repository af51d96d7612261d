/**
 * Python package names and versions as PyPI compares them.
 * - Names: PEP 503 normalisation, `re.sub(r"[-_.]+", "-", name).lower()`.
 * - Versions: PEP 440 equality (via `@renovatebot/pep440`), so `1.0` and
 *   `1.0.0`, or `1.0-rc1` and `1.0rc1`, are the same version.
 */
import { eq, valid } from '@renovatebot/pep440';

/** Names longer than this are ignored by sync (piwheels' "absurd names"). */
export const MAX_NAME_LENGTH = 200;

/** PEP 503 normalised form of a project name. */
export function normalizePypiName(name: string): string {
  return name.trim().replace(/[-_.]+/g, '-').toLowerCase();
}

/** Whether a name is too long to track (over {@link MAX_NAME_LENGTH} characters). */
export function isAbsurdName(name: string): boolean {
  return name.length > MAX_NAME_LENGTH;
}

/** Whether a name is a valid project name (PEP 508 / core metadata `Name`). */
export function isValidProjectName(name: string): boolean {
  return /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i.test(name);
}

/**
 * The distribution part of a wheel filename for a project name (PEP 427 as
 * amended by the binary distribution format spec): runs of `-_.` become `_`.
 */
export function wheelDistName(name: string): string {
  return name.replace(/[-_.]+/g, '_');
}

/** Whether a version string is valid PEP 440. */
export function isPep440(version: string): boolean {
  return valid(version) !== null;
}

/**
 * Whether two version strings name the same PEP 440 version. Wheel
 * filenames spell `-` as `_`, which PEP 440 normalisation accepts.
 */
export function sameVersion(a: string, b: string): boolean {
  if (a === b) return true;
  // Wheel filenames escape '-' as '_' ("1.0-1" becomes "1.0_1").
  const fix = (v: string) => (isPep440(v) ? v : v.replace(/_/g, '-'));
  const [x, y] = [fix(a), fix(b)];
  if (!isPep440(x) || !isPep440(y)) return x.toLowerCase() === y.toLowerCase();
  return eq(x, y);
}
