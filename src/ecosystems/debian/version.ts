/**
 * Debian version numbers and their ordering, as dpkg compares them.
 *
 * Format: `[epoch:]upstream_version[-debian_revision]`, Debian Policy
 * §5.6.12 <https://www.debian.org/doc/debian-policy/ch-controlfields.html#version>.
 * The ordering is dpkg's `verrevcmp` (lib/dpkg/version.c): letters sort
 * before non-letters, `~` sorts before everything (even the end of the
 * string), and runs of digits compare numerically.
 */

/** A version split into its three parts. */
export interface DebianVersion {
  /** The epoch, 0 when absent. */
  epoch: number;
  /** Everything between the epoch's colon and the last hyphen. */
  upstream: string;
  /** The part after the last hyphen, or `''` when there is none (native packages). */
  revision: string;
}

/** A version string that does not follow Policy §5.6.12. */
export class DebianVersionError extends Error {
  constructor(
    /** The rejected version string, as given. */
    readonly version: string,
    reason: string,
  ) {
    super(`invalid Debian version ${JSON.stringify(version)}: ${reason}`);
    this.name = 'DebianVersionError';
  }
}

// dpkg accepts upper case and `:` only after an epoch; it only warns about
// an upstream part that does not start with a digit, so neither do we.
const UPSTREAM_CHARS = /^[A-Za-z0-9.+~:-]+$/;
const REVISION_CHARS = /^[A-Za-z0-9.+~]+$/;

/**
 * Split a version into epoch, upstream version and revision, checking the
 * characters Policy §5.6.12 allows.
 * @throws DebianVersionError when the string is empty, contains white space,
 *   has a non-numeric epoch, an empty upstream part, an empty revision after
 *   a trailing `-`, or characters outside the allowed sets.
 */
export function parseDebianVersion(version: string): DebianVersion {
  if (version.length === 0) throw new DebianVersionError(version, 'empty');
  if (/\s/.test(version)) throw new DebianVersionError(version, 'contains white space');
  let rest = version;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const epochText = rest.slice(0, colon);
    if (!/^\d+$/.test(epochText)) throw new DebianVersionError(version, 'epoch is not a number');
    epoch = Number(epochText);
    if (!Number.isSafeInteger(epoch)) throw new DebianVersionError(version, 'epoch is too large');
    rest = rest.slice(colon + 1);
  }
  let revision = '';
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) {
    revision = rest.slice(hyphen + 1);
    rest = rest.slice(0, hyphen);
    if (revision.length === 0) throw new DebianVersionError(version, 'empty revision after "-"');
    if (!REVISION_CHARS.test(revision)) throw new DebianVersionError(version, 'bad character in revision');
  }
  if (rest.length === 0) throw new DebianVersionError(version, 'empty upstream version');
  if (!UPSTREAM_CHARS.test(rest)) throw new DebianVersionError(version, 'bad character in upstream version');
  return { epoch, upstream: rest, revision };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

// dpkg's order(): the end of the string and digits weigh 0, `~` weighs
// less, letters weigh their code and anything else weighs more than any
// letter, which is what puts `1.0~rc1` before `1.0` and `1.0a` before `1.0+`.
function weight(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isDigit(c)) return 0;
  if (isLetter(c)) return c;
  if (c === 126) return -1;
  return c + 256;
}

/**
 * Compare two upstream versions or two revisions with dpkg's `verrevcmp`.
 * @returns a negative number, 0 or a positive number as `a` sorts before,
 *   equal to or after `b`.
 */
export function compareVersionPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const d = weight(a, i) - weight(b, j);
      if (d !== 0) return d;
      i++;
      j++;
    }
    while (i < a.length && a.charCodeAt(i) === 48) i++;
    while (j < b.length && b.charCodeAt(j) === 48) j++;
    // Compare the digit runs without converting them, so 30-digit
    // snapshot dates cannot overflow.
    let firstDiff = 0;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/**
 * Compare two parsed versions: epoch numerically, then upstream, then
 * revision with {@link compareVersionPart}.
 * @returns -1, 0 or 1.
 */
export function compareParsedVersions(a: DebianVersion, b: DebianVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const d = compareVersionPart(a.upstream, b.upstream) || compareVersionPart(a.revision, b.revision);
  return Math.sign(d);
}

/**
 * Compare two version strings as `dpkg --compare-versions` does. Note that
 * `1.0`, `0:1.0` and `1.0-0` compare equal, as they do for dpkg.
 * @returns -1, 0 or 1 as `a` is older than, equal to or newer than `b`.
 * @throws DebianVersionError when either string is not a valid version.
 */
export function compareDebianVersions(a: string, b: string): number {
  if (a === b) return 0;
  return compareParsedVersions(parseDebianVersion(a), parseDebianVersion(b));
}

/** The version relations of Policy §7.1; `<` and `>` are the obsolete spellings of `<=` and `>=`. */
export type VersionOperator = '<<' | '<=' | '=' | '>=' | '>>';

/**
 * Whether `version` satisfies the relation `(op reference)`, e.g.
 * `satisfiesVersion('2.1-1', '>=', '2.0')` is true. Policy §7.1
 * <https://www.debian.org/doc/debian-policy/ch-relationships.html#syntax-of-relationship-fields>.
 * @throws DebianVersionError when either string is not a valid version.
 */
export function satisfiesVersion(version: string, op: VersionOperator, reference: string): boolean {
  const c = compareDebianVersions(version, reference);
  switch (op) {
    case '<<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}
