/**
 * Parsing of package relationship fields (Depends, Pre-Depends, Recommends,
 * Provides, Build-Depends…), Debian Policy §7.1
 * <https://www.debian.org/doc/debian-policy/ch-relationships.html#syntax-of-relationship-fields>,
 * with the multiarch qualifiers of §7.1 and the build profiles of §7.1 /
 * <https://wiki.debian.org/BuildProfileSpec>.
 *
 * Grammar accepted (white space allowed between any tokens):
 * ```
 * field        ::= group ("," group)*          -- empty groups are skipped
 * group        ::= relation ("|" relation)*
 * relation     ::= name (":" archqual)? ("(" op version ")")?
 *                  ("[" archterm+ "]")? ("<" profterm+ ">")*
 * op           ::= "<<" | "<=" | "=" | ">=" | ">>" | "<" | ">"
 * ```
 */
import type { VersionOperator } from './version.ts';

/** One term of an architecture restriction list: `amd64` or `!i386`. */
export interface ArchTerm {
  /** An architecture name or wildcard (`linux-any`, `any-amd64`, `any`). */
  arch: string;
  negated: boolean;
}

/** One term of a build profile formula: `nocheck` or `!stage1`. */
export interface ProfileTerm {
  profile: string;
  negated: boolean;
}

/** One possible way to satisfy a dependency: `libc6 (>= 2.36)`. */
export interface Relation {
  /** The package name, without any `:any`/`:native` qualifier. */
  name: string;
  /** The multiarch qualifier after `:` (`any`, `native` or an architecture), or null. */
  archQualifier: string | null;
  /** The version relation, or null when any version will do. */
  version: { op: VersionOperator; version: string } | null;
  /** The `[…]` architecture restriction, or null when there is none. */
  arches: readonly ArchTerm[] | null;
  /**
   * The `<…>` build profile formulas: the relation applies when any one
   * formula holds, and a formula holds when all its terms do. Empty when
   * there are none. Meaningful only in source package build relations.
   */
  profiles: readonly (readonly ProfileTerm[])[];
}

/** A comma-separated entry: satisfied when any one of its `|` alternatives is. */
export type RelationGroup = readonly Relation[];

/** A relationship field that does not follow Policy §7.1. */
export class RelationSyntaxError extends Error {
  constructor(
    /** The whole field value that failed to parse. */
    readonly field: string,
    /** Offset (in UTF-16 code units) into `field` where parsing stopped. */
    readonly position: number,
    reason: string,
  ) {
    super(`${reason} at offset ${position} in relation field ${JSON.stringify(field)}`);
    this.name = 'RelationSyntaxError';
  }
}

// Policy §5.6.1 says lower case only, but old indexes carry upper case and
// `_` in names and Provides, so the reader accepts them rather than
// refusing a whole Packages file.
const NAME = /[A-Za-z0-9][A-Za-z0-9+._-]*/y;
const QUALIFIER = /[A-Za-z0-9-]+/y;
const OPERATOR = /<<|<=|>=|>>|=|<|>/y;
const VERSION = /[A-Za-z0-9.+~:-]+/y;
const ARCH = /!?[A-Za-z0-9-]+/y;
const PROFILE = /!?[a-z0-9.+-]+/y;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  peek(): string | undefined {
    this.skipSpace();
    return this.text[this.pos];
  }

  take(re: RegExp, what: string): string {
    this.skipSpace();
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) throw this.fail(`expected ${what}`);
    this.pos = re.lastIndex;
    return m[0];
  }

  expect(ch: string): void {
    if (this.peek() !== ch) throw this.fail(`expected "${ch}"`);
    this.pos++;
  }

  fail(reason: string): RelationSyntaxError {
    return new RelationSyntaxError(this.text, this.pos, reason);
  }
}

// `[a !b]` and `<a !b>` lists share one shape: names, each maybe negated.
function parseTerms(c: Cursor, open: string, close: string, term: RegExp, kind: string): { name: string; negated: boolean }[] {
  c.expect(open);
  const terms: { name: string; negated: boolean }[] = [];
  while (c.peek() !== close) {
    const t = c.take(term, `${kind} name or "${close}"`);
    terms.push({ name: t.replace(/^!/, ''), negated: t.startsWith('!') });
  }
  c.pos++;
  if (terms.length === 0) throw c.fail(`empty ${kind} list`);
  return terms;
}

function parseArches(c: Cursor): ArchTerm[] {
  const terms = parseTerms(c, '[', ']', ARCH, 'architecture');
  // dpkg rejects mixed lists because "[amd64 !i386]" has no clear meaning.
  if (terms.some((t) => t.negated) && terms.some((t) => !t.negated)) {
    throw c.fail('architecture list mixes negated and plain names');
  }
  return terms.map((t) => ({ arch: t.name, negated: t.negated }));
}

function parseProfiles(c: Cursor): ProfileTerm[] {
  return parseTerms(c, '<', '>', PROFILE, 'build profile').map((t) => ({ profile: t.name, negated: t.negated }));
}

function parseRelation(c: Cursor): Relation {
  const name = c.take(NAME, 'a package name');
  let archQualifier: string | null = null;
  if (c.text[c.pos] === ':') {
    c.pos++;
    archQualifier = c.take(QUALIFIER, 'an architecture qualifier');
  }
  let version: Relation['version'] = null;
  if (c.peek() === '(') {
    c.pos++;
    const raw = c.take(OPERATOR, 'a version operator (<<, <=, =, >=, >>)');
    const op: VersionOperator = raw === '<' ? '<=' : raw === '>' ? '>=' : (raw as VersionOperator);
    version = { op, version: c.take(VERSION, 'a version') };
    c.expect(')');
  }
  const arches = c.peek() === '[' ? parseArches(c) : null;
  const profiles: ProfileTerm[][] = [];
  while (c.peek() === '<') profiles.push(parseProfiles(c));
  return { name, archQualifier, version, arches, profiles };
}

/**
 * Parse a relationship field into its comma-separated groups of `|`
 * alternatives. The obsolete operators `<` and `>` are read as `<=` and
 * `>=`, as dpkg does. An empty or all-white-space field gives `[]`.
 * @throws RelationSyntaxError on anything outside the grammar above,
 *   including substitution variables (`${misc:Depends}`) and arch lists
 *   that mix `!` and plain names.
 */
export function parseRelations(field: string): RelationGroup[] {
  const c = new Cursor(field);
  const groups: RelationGroup[] = [];
  while (c.peek() !== undefined) {
    if (c.peek() === ',') {
      c.pos++;
      continue;
    }
    const group: Relation[] = [parseRelation(c)];
    while (c.peek() === '|') {
      c.pos++;
      group.push(parseRelation(c));
    }
    groups.push(group);
    const next = c.peek();
    if (next !== undefined && next !== ',') throw c.fail('expected "," or "|"');
  }
  return groups;
}

/**
 * Parse a Provides field: a comma-separated list of single relations, each
 * at most `(= version)` versioned (Policy §7.5
 * <https://www.debian.org/doc/debian-policy/ch-relationships.html#virtual-packages-provides>).
 * @throws RelationSyntaxError on syntax errors, alternatives (`|`), or a
 *   version relation other than `=`.
 */
export function parseProvides(field: string): Relation[] {
  return parseRelations(field).map((group) => {
    const [first] = group;
    if (group.length !== 1 || !first) throw new RelationSyntaxError(field, 0, 'alternatives in Provides');
    if (first.version && first.version.op !== '=') {
      throw new RelationSyntaxError(field, 0, `Provides of ${first.name} uses ${first.version.op}, only = is allowed`);
    }
    return first;
  });
}

// dpkg's architecture tuples reduced to what Debian's port names need:
// `amd64` is linux on amd64, `kfreebsd-amd64` is kfreebsd on amd64.
function splitArch(arch: string): { os: string; cpu: string } {
  const dash = arch.indexOf('-');
  return dash < 0 ? { os: 'linux', cpu: arch } : { os: arch.slice(0, dash), cpu: arch.slice(dash + 1) };
}

/**
 * Whether an architecture name or wildcard (`any`, `linux-any`,
 * `any-amd64`, `amd64`) matches a concrete host architecture. Wildcards
 * follow <https://www.debian.org/doc/debian-policy/ch-customized-programs.html#architecture-wildcards>,
 * using Debian's port names rather than dpkg's full tuple tables.
 */
export function archMatches(pattern: string, hostArch: string): boolean {
  if (pattern === 'any' || pattern === hostArch) return true;
  const host = splitArch(hostArch);
  const dash = pattern.indexOf('-');
  if (dash < 0) return false;
  const os = pattern.slice(0, dash);
  const cpu = pattern.slice(dash + 1);
  return (os === 'any' || os === host.os) && (cpu === 'any' || cpu === host.cpu);
}

/**
 * Whether a relation applies on `hostArch` with the given build profiles
 * active: its arch list (if any) admits the architecture and one of its
 * profile formulas (if any) holds. Binary package relations carry neither,
 * so this is true for every relation read from a Packages file.
 */
export function relationApplies(rel: Relation, hostArch: string, activeProfiles: ReadonlySet<string> = new Set()): boolean {
  if (rel.arches) {
    const matched = rel.arches.some((t) => archMatches(t.arch, hostArch));
    const negated = rel.arches[0]!.negated;
    if (negated ? matched : !matched) return false;
  }
  if (rel.profiles.length > 0) {
    const holds = rel.profiles.some((formula) => formula.every((t) => activeProfiles.has(t.profile) !== t.negated));
    if (!holds) return false;
  }
  return true;
}

/**
 * Reduce parsed groups to what applies on `hostArch` with `activeProfiles`
 * (Policy §7.1): inapplicable alternatives are dropped, and a group left
 * with none is dropped too.
 */
export function applicableGroups(
  groups: readonly RelationGroup[],
  hostArch: string,
  activeProfiles: ReadonlySet<string> = new Set(),
): RelationGroup[] {
  const out: RelationGroup[] = [];
  for (const g of groups) {
    const kept = g.filter((r) => relationApplies(r, hostArch, activeProfiles));
    if (kept.length > 0) out.push(kept);
  }
  return out;
}

/** Write a relation back in Policy §7.1 syntax, e.g. `libc6:any (>= 2.36) [amd64]`. */
export function formatRelation(rel: Relation): string {
  let s = rel.archQualifier ? `${rel.name}:${rel.archQualifier}` : rel.name;
  if (rel.version) s += ` (${rel.version.op} ${rel.version.version})`;
  if (rel.arches) s += ` [${rel.arches.map((t) => (t.negated ? '!' : '') + t.arch).join(' ')}]`;
  for (const f of rel.profiles) s += ` <${f.map((t) => (t.negated ? '!' : '') + t.profile).join(' ')}>`;
  return s;
}
