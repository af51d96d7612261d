/**
 * The Debian ecosystem, master side: piuparts install/purge testing of
 * every package of each configured section. A section is a target; its
 * packages' states depend on each other, so Debian plans its own queue
 * (DebianService) instead of the core's per-version rule. Results carry
 * no artifacts: the verdict and the piuparts log are the product.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { upsertTargets } from '../../db/queries/targets.ts';
import type { EcosystemHost, Json, MasterEcosystem, RepositoryFiles, SourcePackage, SourceStore, SourceVersion, TargetInfo, UsageBlock, VersionInfo } from '../types.ts';
import type { DebianJobSpec } from './job-spec.ts';
import { resolveSection, type DebianConfig, type SectionConfig } from './section-config.ts';
import { readSectionIndex } from './section-index.ts';
import { KnownProblemClassifier, loadKnownProblems } from './known-problems.ts';
import type { KnownProblem } from './report/model.ts';
import { piupartsBackendFactory } from './piuparts-backend.ts';
import { defaultPiupartsSocketPath } from './piuparts-master/relay-wire.ts';
import { listenPiupartsMaster } from './piuparts-master/socket-server.ts';
import { DebianService } from './section-service.ts';
import { ReportPublisher } from './report-publisher.ts';

/** Options of {@link createDebianMaster}. */
export interface DebianMasterOptions {
  /** Where downloaded indexes are cached between syncs (under the master's data dir). */
  cacheDir: string;
  /** Architecture for sections that set none (default `dpkg --print-architecture`, else amd64). */
  hostArch?: string;
  /** Hooks for the parts wired in later (reports, the piuparts-slave socket). */
  extend?: (eco: DebianMaster) => void;
}

/** The Debian MasterEcosystem, with its running state exposed for the report and the piuparts-slave backend. */
export interface DebianMaster extends MasterEcosystem {
  readonly service: DebianService;
  readonly config: DebianConfig;
}

/** The machine's Debian architecture, or amd64 where dpkg is missing. */
export function hostArchitecture(): string {
  try {
    return execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim() || 'amd64';
  } catch {
    return 'amd64';
  }
}

/** Per-version facts kept in `versions.meta`: the sections that test this version, and its source. */
interface VersionMeta extends Json {
  sections: string[];
  source: string;
  sourceVersion: string;
  architecture: string;
  maintainer: string;
}

/** The job a worker gets for one package version in one section. */
export function debianJobSpec(section: SectionConfig, pkg: string, version: string): DebianJobSpec {
  return {
    section: section.name,
    mirror: section.mirror,
    distro: section.distro,
    upgradeTestDistros: section.upgradeTestDistros,
    indexDistro: section.indexDistro,
    components: section.components,
    arch: section.arch,
    piupartsCommand: section.piupartsCommand,
    piupartsFlags: section.piupartsFlags,
    keepSourcesList: section.keepSourcesList,
    maxTgzAge: section.maxTgzAge,
    minTgzRetryDelay: section.minTgzRetryDelay,
    tmpdir: section.tmpdir,
    package: pkg,
    version,
  };
}

/**
 * Create the Debian master ecosystem from `[debian]`.
 * @throws Error when a section lacks a distro or depends-sections name an
 *   unknown section or form a cycle.
 */
export function createDebianMaster(config: DebianConfig, opts: DebianMasterOptions): DebianMaster {
  const arch = opts.hostArch ?? hostArchitecture();
  const sections = Object.entries(config.sections).map(([name, keys]) => resolveSection(name, keys, config.global, arch));
  const service = new DebianService(sections);
  const sectionOf = (name: string) => service.section(name);
  let host: EcosystemHost | null = null;
  let problems: KnownProblem[] = [];

  const eco: DebianMaster = {
    name: 'debian',
    service,
    config,
    plansQueue: true,
    normalizeName: (name) => name.toLowerCase(),

    async sync(store: SourceStore, log: Logger, signal: AbortSignal) {
      const byName = new Map<string, Map<string, VersionMeta & { released: Date }>>();
      let complete = true;
      for (const section of service.sections) {
        let tested: string[];
        let index;
        try {
          index = await readSectionIndex(section, opts.cacheDir, log, signal);
          tested = service.setIndex(section.name, index, section.packages);
          log.info({ section: section.name, packages: index.packages.size, tested: tested.length }, 'section index read');
        } catch (err) {
          const previous = service.indexOf(section.name);
          log.error({ section: section.name, err: (err as Error).message }, previous ? 'reading the section index failed; keeping the previous one' : 'reading the section index failed');
          if (!previous) {
            complete = false;
            continue;
          }
          ({ index, tested } = previous);
        }
        for (const name of tested) {
          const p = index.packages.get(name)!;
          const versions = byName.get(name) ?? new Map();
          const meta = versions.get(p.version) ?? { sections: [], source: p.source, sourceVersion: p.sourceVersion, architecture: p.architecture, maintainer: p.maintainer, released: index.modified ?? new Date() };
          meta.sections.push(section.name);
          versions.set(p.version, meta);
          byName.set(name, versions);
        }
      }
      const applied = await store.getState<Record<string, string>>('applied', {});
      // A package an operator removed (or added by hand) is applied again even if upstream did not change.
      const tracked = new Set(await store.trackedPackages());
      for (const [name, versions] of byName) {
        if (signal.aborted) return;
        const list: SourceVersion[] = [...versions].map(([version, { released, ...meta }]) => ({ version, released, skip: null, yanked: false, meta }));
        const signature = JSON.stringify(list.map((v) => [v.version, v.meta]));
        if (applied[name] === signature && tracked.has(name)) continue;
        const first = list[0]!.meta as VersionMeta;
        const pkg: SourcePackage = { name, displayName: name, summary: null, meta: { source: first.source, maintainer: first.maintainer }, versions: list };
        await store.applyPackage(pkg, 'no longer in the index of any section that tests it');
        applied[name] = signature;
      }
      // Only a complete read may decide that a package left every section.
      if (complete) {
        for (const name of Object.keys(applied)) {
          if (byName.has(name)) continue;
          await store.removePackage(name, 'no longer in the index of any section that tests it');
          delete applied[name];
        }
      }
      await store.setState('applied', applied);
    },

    async fetchPackage(name: string) {
      for (const section of service.sections) {
        const p = service.indexOf(section.name)?.index.packages.get(name);
        if (p) {
          const sections = service.sections.filter((x) => service.indexOf(x.name)?.index.packages.get(name)?.version === p.version && service.indexOf(x.name)!.tested.includes(name)).map((x) => x.name);
          const meta: VersionMeta = { sections, source: p.source, sourceVersion: p.sourceVersion, architecture: p.architecture, maintainer: p.maintainer };
          return { name, displayName: name, summary: null, meta: { source: p.source, maintainer: p.maintainer }, versions: [{ version: p.version, released: new Date(), skip: null, yanked: false, meta }] };
        }
      }
      return null;
    },

    targetSkipReason(v: VersionInfo, target: TargetInfo) {
      const section = sectionOf(target.name);
      if (!section) return `${target.name} is not a Debian section this master tests`;
      const sections = (v.meta.sections as string[] | undefined) ?? [];
      if (!sections.includes(target.name)) return `not among the packages section ${target.name} tests at this version`;
      return null;
    },

    jobSpec(v: VersionInfo, target: TargetInfo) {
      const section = sectionOf(target.name);
      if (!section) throw new Error(`${target.name} is not a configured Debian section`);
      return debianJobSpec(section, v.packageName, v.version) as unknown as Json;
    },

    whyNotQueued(name: string, version: string, target: string) {
      const snap = service.snapshot(target);
      if (!snap) return `section ${target} has not been read from its mirror yet`;
      if (snap.states.version(name) !== version) return `section ${target} tests ${name} ${snap.states.version(name) ?? '(not at all)'}, not ${version}`;
      const st = snap.states.status(name)!;
      const b = st.blocker;
      const because = b ? `: ${b.dependency}${b.via ? ` (through ${b.via})` : ''} is ${b.state}` : '';
      return `piuparts state ${st.state}${because}; only waiting-to-be-tested packages are queued`;
    },

    checkArtifactName(filename: string) {
      return `a piuparts test produces no artifacts (got ${filename}); the result and its log are the product`;
    },

    repositoryFiles(): RepositoryFiles {
      return new Map();
    },

    usage(input): UsageBlock[] {
      const blocks: UsageBlock[] = [];
      for (const section of service.sections) {
        const v = service.indexOf(section.name)?.index.packages.get(input.packageName)?.version;
        if (!v) continue;
        blocks.push({
          title: `Test it yourself (${section.name})`,
          lines: [
            `sudo piuparts --mirror "${section.mirror} ${section.components.join(' ')}" --arch ${section.arch} ${section.upgradeTestDistros.length ? section.upgradeTestDistros.map((d) => `-d ${d}`).join(' ') : `-d ${section.distro} --no-upgrade-test`} --apt ${input.packageName}=${v}`,
          ],
          note: 'piuparts installs and purges the package in a fresh chroot, as Kiln\'s workers do.',
          links: [{ label: `${section.name} report`, href: `debian/${section.name}/pkg/${input.packageName}.html` }],
        });
      }
      return blocks;
    },

    async attachWorkers(gateway) {
      if (!host) throw new Error('the Debian ecosystem attaches workers only after start()');
      const path = defaultPiupartsSocketPath(host.dataDir);
      const server = await listenPiupartsMaster(path, piupartsBackendFactory(service, gateway('piuparts-slave'), host.db), host.log.child({ module: 'piuparts-master' }));
      host.log.info({ socket: path }, 'serving piuparts-slaves through kiln piuparts-master');
      return { close: () => server.close() };
    },

    async start(h: EcosystemHost) {
      host = h;
      await upsertTargets(h.db, service.sections.map((s) => ({ name: s.name, ecosystem: 'debian', facts: { arch: s.arch } })));
      problems = await loadKnownProblems({ operatorDir: config['known-problem-directory'] ?? null });
      service.classifier = new KnownProblemClassifier(problems);
      const reports = new ReportPublisher(h, service, problems);
      service.onPlanned = () => reports.schedule();
      service.start(h);
      return {
        async close() {
          await service.stop();
          await reports.stop();
        },
      };
    },
  };
  opts.extend?.(eco);
  return eco;
}

/** Where the Debian master caches indexes under a data dir. */
export function debianCacheDir(dataDir: string): string {
  return join(dataDir, 'debian', 'indexes');
}
