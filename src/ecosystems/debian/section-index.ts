/**
 * A section's view of the archive: every binary package of its area (the
 * Packages index of its index distro), the uploaders of their
 * source packages (from Sources, when the mirror has it), and which of them
 * Kiln tests: all, or the packages a config names plus everything they
 * depend on.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { readIndexParagraphs } from './index-file.ts';
import { fetchIndex, MirrorError, packagesPath, sourcesPath } from './mirror.ts';
import { collectPackages, sectionPackageOf, type BinaryPackage } from './packages-index.ts';
import type { SectionConfig } from './section-config.ts';
import type { SectionPackage } from './section-graph.ts';

/** One section's packages as last read from its mirror. */
export interface SectionIndex {
  /** Every binary package of the section's area, by name, in index order. */
  packages: Map<string, BinaryPackage>;
  /** Source package → Uploaders addresses (empty when the mirror has no Sources). */
  uploaders: Map<string, string[]>;
  /** Newest modification time of the index files, or null. */
  modified: Date | null;
  /** Whether any index file changed since the previous read into the same cache. */
  changed: boolean;
}

/**
 * Read a section's Packages (its area's, xz/gz/plain, http or file://)
 * and, if the mirror has it, its Sources.
 * @param cacheDir where http downloads are kept between syncs.
 * @throws MirrorError when a Packages index cannot be had; PackagesIndexError
 *   or ControlSyntaxError when it does not parse.
 */
export async function readSectionIndex(section: SectionConfig, cacheDir: string, log: Logger, signal?: AbortSignal): Promise<SectionIndex> {
  const packages = new Map<string, BinaryPackage>();
  const uploaders = new Map<string, string[]>();
  let modified: Date | null = null;
  let changed = false;
  const newer = (d: Date | null) => {
    if (d && (!modified || d > modified)) modified = d;
  };
  // The section's packages are its area's, as piuparts-master reads them; the other
  // components only serve apt inside the chroot, and their packages' states come
  // from the sections named in depends-sections.
  for (const component of [section.area]) {
    const rel = packagesPath(section.indexDistro, component, section.arch);
    const got = await fetchIndex(section.mirror, rel, join(cacheDir, section.name, rel.replaceAll('/', '_')), signal);
    newer(got.modified);
    changed ||= got.changed;
    await collectPackages(readIndexParagraphs(got.path), packages);
  }
  for (const component of [section.area]) {
    const rel = sourcesPath(section.indexDistro, component);
    try {
      const got = await fetchIndex(section.mirror, rel, join(cacheDir, section.name, rel.replaceAll('/', '_')), signal);
      for await (const p of readIndexParagraphs(got.path)) {
        const name = p.get('Package');
        const list = p.get('Uploaders');
        if (name && list) uploaders.set(name, splitAddresses(list));
      }
    } catch (err) {
      // Sources only adds uploaders to the report; a mirror without it still tests.
      if (!(err instanceof MirrorError)) throw err;
      log.debug({ section: section.name, err: err.message }, 'no Sources index; source pages show maintainers only');
    }
  }
  return { packages, uploaders, modified, changed };
}

/** Split an Uploaders or Maintainer list (`A <a@x>, B <b@y>`) into its entries. */
export function splitAddresses(list: string): string[] {
  return list.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).map((s) => s.trim()).filter(Boolean);
}

/**
 * The names Kiln tests in a section: every package when `roots` is empty;
 * else the roots present in the index and, transitively, what they depend
 * on (Depends and Pre-Depends; in each `|` group the first alternative the
 * index has as a package or through Provides, taking its first provider).
 * Names are returned in index order, as the state computation wants them.
 */
export function testedNames(index: Map<string, BinaryPackage>, roots: Iterable<string>): string[] {
  const wanted = [...roots];
  if (wanted.length === 0) return [...index.keys()];
  const providers = new Map<string, string>();
  for (const p of index.values()) for (const r of p.provides) if (!providers.has(r.name)) providers.set(r.name, p.name);
  const keep = new Set<string>();
  const stack = wanted.filter((n) => index.has(n));
  while (stack.length) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    keep.add(name);
    const pkg = index.get(name)!;
    for (const group of [...pkg.depends, ...pkg.preDepends]) {
      for (const alt of group) {
        const hit = index.has(alt.name) ? alt.name : providers.get(alt.name);
        if (hit) {
          stack.push(hit);
          break;
        }
      }
    }
  }
  return [...index.keys()].filter((n) => keep.has(n));
}

/**
 * The state computation's packages for the tested names: each with its
 * groups of alternatives, restricted to what is tested, so a dependency
 * outside the tested set counts as missing unless a tested alternative or
 * provider stands in for it (testedNames always includes one when it exists).
 */
export function sectionPackages(index: Map<string, BinaryPackage>, names: string[]): SectionPackage[] {
  return names.map((n) => sectionPackageOf(index.get(n)!));
}
