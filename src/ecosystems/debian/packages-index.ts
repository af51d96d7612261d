/**
 * Binary package records from a Packages index: the fields install testing
 * needs, read from deb822 paragraphs (Policy §5.3 "Binary package control
 * files" <https://www.debian.org/doc/debian-policy/ch-controlfields.html#binary-package-control-files-debian-control>
 * and the archive's Packages format
 * <https://wiki.debian.org/DebianRepository/Format#A.22Packages.22_Indices>).
 */
import type { ControlParagraph } from './control.ts';
import type { SectionPackage } from './section-graph.ts';
import { parseProvides, parseRelations, type Relation, type RelationGroup } from './relations.ts';
import { compareDebianVersions } from './version.ts';

/** One binary package of a Packages index. */
export interface BinaryPackage {
  name: string;
  version: string;
  /** `amd64`, `all`…; `''` when the stanza has none. */
  architecture: string;
  /** Source package name (the binary's own name when the Source field is absent). */
  source: string;
  /** Source version: the `(…)` of the Source field, else the binary version (binNMUs differ). */
  sourceVersion: string;
  /** Parsed Depends. */
  depends: RelationGroup[];
  /** Parsed Pre-Depends. */
  preDepends: RelationGroup[];
  /** Parsed Provides. */
  provides: Relation[];
  /** `Essential: yes`. */
  essential: boolean;
  /** The Priority field (`required`, `important`, `optional`…), or `''`. */
  priority: string;
  /** Maintainer field, for report pages; `''` when absent. */
  maintainer: string;
}

/** A Packages stanza that lacks a mandatory field or has an unparsable one. */
export class PackagesIndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackagesIndexError';
  }
}

function relationField<T>(p: ControlParagraph, pkg: string, field: string, parse: (s: string) => T[]): T[] {
  const raw = p.get(field);
  if (raw === undefined) return [];
  try {
    return parse(raw);
  } catch (err) {
    throw new PackagesIndexError(`${pkg}: bad ${field}: ${(err as Error).message}`);
  }
}

/**
 * Read one Packages stanza.
 * @throws PackagesIndexError when Package or Version is missing, or a
 *   relation field does not parse (the message names the package and field).
 */
export function binaryPackageOf(p: ControlParagraph): BinaryPackage {
  const name = p.get('Package');
  const version = p.get('Version');
  if (!name) throw new PackagesIndexError('stanza without a Package field');
  if (!version) throw new PackagesIndexError(`${name}: stanza without a Version field`);
  const sourceField = p.get('Source');
  const m = sourceField ? /^(\S+)(?:\s*\((\S+)\))?/.exec(sourceField) : null;
  return {
    name,
    version,
    architecture: p.get('Architecture') ?? '',
    source: m?.[1] ?? name,
    sourceVersion: m?.[2] ?? version,
    depends: relationField(p, name, 'Depends', parseRelations),
    preDepends: relationField(p, name, 'Pre-Depends', parseRelations),
    provides: relationField(p, name, 'Provides', parseProvides),
    essential: (p.get('Essential') ?? '').toLowerCase() === 'yes',
    priority: p.get('Priority') ?? '',
    maintainer: p.get('Maintainer') ?? '',
  };
}

/**
 * Collect a Packages index into one record per package name, keeping the
 * highest version when a name appears more than once (as apt does, and as
 * piuparts' PackagesFile does when several indexes are merged). Names keep
 * the order of their first appearance, which the state computation uses
 * as its tie-break order.
 * @throws PackagesIndexError as {@link binaryPackageOf}, and
 *   DebianVersionError when two stanzas of one name have an invalid version.
 */
export async function collectPackages(
  paragraphs: AsyncIterable<ControlParagraph> | Iterable<ControlParagraph>,
  into: Map<string, BinaryPackage> = new Map(),
): Promise<Map<string, BinaryPackage>> {
  for await (const p of paragraphs) {
    const pkg = binaryPackageOf(p);
    const old = into.get(pkg.name);
    if (old && compareDebianVersions(pkg.version, old.version) <= 0) continue;
    into.set(pkg.name, pkg);
  }
  return into;
}

/**
 * The state computation's view of a binary package: Depends then
 * Pre-Depends as groups of alternative names, and provided names.
 * Version relations and multiarch qualifiers are dropped, as piuparts
 * drops them.
 * @param testVersion the version results are recorded under, when it is
 *   not the package's own (upgrade-test sections).
 */
export function sectionPackageOf(pkg: BinaryPackage, testVersion?: string): SectionPackage {
  const groups = [...pkg.depends, ...pkg.preDepends].map((g) => g.map((r) => r.name));
  const out: SectionPackage = { name: pkg.name, version: pkg.version, depends: groups, provides: pkg.provides.map((r) => r.name) };
  if (testVersion !== undefined) out.testVersion = testVersion;
  return out;
}
