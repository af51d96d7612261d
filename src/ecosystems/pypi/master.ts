/**
 * The master-side PyPI ecosystem: follows PyPI's changelog (XML-RPC
 * `changelog_since_serial`, falling back to the simple API), decides
 * eligibility per Python ABI target, writes job specs, checks wheel names
 * and publishes a PEP 503/691/658 simple index.
 *
 * Sync, in short:
 * - The last changelog serial is kept with `store.setState('serial')`. Each
 *   sync asks for events since `serial - margin` (PyPI commits serials out
 *   of order, so late events below the stored serial still arrive); events
 *   already handled by this process are not handled again, so after a
 *   restart the whole margin is re-read, as piw-master does.
 * - Events are ordered by timestamp; each package touched is fetched whole
 *   from the JSON API and applied with all its versions.
 * - The serial only moves forward, and only after a whole batch applied. An
 *   upstream that is down or rate-limiting (network error, 429, 5xx) leaves
 *   it where it was; the next sync tries again.
 * - An index without XML-RPC (404, 405, refused, "no such method") is
 *   followed through its PEP 691 project list and project pages instead.
 *
 * Dev mode (`--dev-mode`): a development master follows PyPI without
 * building all of it. (1) With no stored serial it starts at the changelog's
 * head instead of serial 0, so it does not read PyPI's whole history. (2)
 * Every version of a package is skipped with the reason `development mode`
 * unless the package is listed in `packages` or the first byte of the
 * sha256 of its normalised name is 0 (a fixed 1-in-256 sample, the same on
 * every machine).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  IndexedPackage,
  Json,
  MasterEcosystem,
  RepositoryFiles,
  RepositoryInput,
  SourcePackage,
  SourceStore,
  TargetInfo,
  UsageBlock,
  VersionInfo,
} from '../types.ts';
import { isAbsurdName, isValidProjectName, MAX_NAME_LENGTH, normalizePypiName } from './names.ts';
import { SlaveDriver } from './piwheels/slave-driver.ts';
import { indexFiles, negotiate, repositoryFiles } from './repository.ts';
import { negotiateProjectJson, siteFiles, upstreamProjectUrl } from './site-json.ts';
import { fetchSimpleIndex, fetchSimpleProject } from './simple-api.ts';
import { BINARY_ONLY, errorText, fromJsonApi, getJson, jsonApiUrl, readPypiVersionMeta, UpstreamError, withSlash } from './source.ts';
import { readPypiTargetFacts, requiresPythonSkip, wheelServesTarget } from './targets.ts';
import { usage } from './usage.ts';
import { matchWheel, parseWheelFilename } from './wheel-name.ts';
import { callXmlRpc, XmlRpcFault, type XmlRpcValue } from './xmlrpc.ts';

/** piw-master's defaults for `--pypi-xmlrpc`, `--pypi-simple` and `--pypi-json`. */
export const PYPI_DEFAULTS = {
  xmlrpc: 'https://pypi.org/pypi',
  simple: 'https://pypi.org/simple',
  json: 'https://pypi.org/pypi',
} as const;

/** How many serials before the stored one each sync re-reads. */
export const SERIAL_MARGIN = 1000;
/** Skip reason of packages a dev-mode master does not build. */
export const DEV_MODE_SKIP = 'development mode';
/** `goneReason` / removal reason used for things PyPI no longer has. */
export const REMOVED = 'removed from PyPI';

/** Options of {@link createPypiMaster}. */
export interface PypiMasterOptions {
  /** XML-RPC endpoint (`--pypi-xmlrpc`). */
  xmlrpc: string;
  /** Simple API root (`--pypi-simple`); also the index workers build against. */
  simple: string;
  /** JSON API root (`--pypi-json`); projects are at `<json>/<name>/json`. */
  json: string;
  /** When non-empty, only these projects are followed; otherwise every project in the changelog is. */
  packages: string[];
  /** Skip most packages (see the module comment). */
  devMode?: boolean;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Serials re-read before the stored one (default {@link SERIAL_MARGIN}). */
  margin?: number;
  /** Most changelog calls per sync (default 20; PyPI answers at most 50 000 events per call). */
  maxBatches?: number;
  /** Packages fetched at once (default 4). */
  concurrency?: number;
  /**
   * piwheels' slave queue endpoint (`--slave-queue`, e.g. `tcp://*:5555`):
   * when set, existing piw-slave machines can build for this master.
   */
  slaveQueue?: string;
  /** piwheels' file queue endpoint (`--file-queue`, default `tcp://*:5556`, the port piw-slave sends files to). */
  fileQueue?: string;
}

/** What the worker receives in `Job.spec` for a PyPI build. */
export interface PypiJobSpec {
  /** The project name as upstream spells it. */
  name: string;
  version: string;
  /** The simple index pip builds against (`--index-url`), with a trailing '/'. */
  index_url: string;
  sdist_url: string;
  /** sha256 of the sdist (hex); absent when upstream gave none. */
  sha256?: string;
}

/** One `changelog_since_serial` event. */
export interface ChangelogEvent {
  name: string;
  version: string | null;
  /** Unix seconds. */
  timestamp: number;
  action: string;
  serial: number;
}

/** Read the tuples of `changelog_since_serial`; malformed entries are dropped. */
export function parseChangelog(v: XmlRpcValue): ChangelogEvent[] {
  if (!Array.isArray(v)) throw new Error('changelog_since_serial: not an array');
  const out: ChangelogEvent[] = [];
  for (const e of v) {
    if (!Array.isArray(e) || e.length < 5) continue;
    const [name, version, timestamp, action, serial] = e;
    if (typeof name !== 'string' || typeof action !== 'string' || typeof serial !== 'number' || typeof timestamp !== 'number') continue;
    out.push({ name, version: typeof version === 'string' ? version : null, timestamp, action, serial });
  }
  return out;
}

/** Whether an event can change what Kiln knows (files, releases, yanks, removals); role and description changes cannot. */
export function isRelevantAction(action: string): boolean {
  return /^(create$|new release$|remove( project| release| file .*)?$|add .+ file( |$)|yank release$|unyank release$)/.test(action);
}

/** Whether an event removes the project, a release or a file (warehouse: `remove project`, `remove release`, `remove file <f>`; old: `remove`). */
export function isRemoval(action: string): boolean {
  return /^remove( project| release| file .*)?$/.test(action);
}

/** Order events by timestamp, then serial (PyPI's serials and timestamps disagree). */
export function orderEvents(events: ChangelogEvent[]): ChangelogEvent[] {
  return [...events].sort((a, b) => a.timestamp - b.timestamp || a.serial - b.serial);
}

/**
 * The package with the spellings its changelog events carry, each at its
 * latest event time (`SourcePackage.names`, which the core records as
 * aliases); names that are not valid project names are left out, as they
 * cannot be folder names.
 */
export function withSeenNames(pkg: SourcePackage, events: ChangelogEvent[]): SourcePackage {
  const latest = new Map<string, number>();
  for (const e of events) {
    if (!isValidProjectName(e.name) || normalizePypiName(e.name) !== pkg.name) continue;
    latest.set(e.name, Math.max(latest.get(e.name) ?? -Infinity, e.timestamp));
  }
  if (latest.size === 0) return pkg;
  return { ...pkg, names: [...latest].map(([name, ts]) => ({ name, seen: new Date(ts * 1000) })) };
}

/** Whether dev mode keeps (builds) a package: listed in `packages`, or a 1-in-256 sample by name hash. */
export function devModeKeeps(normalised: string, listed: ReadonlySet<string>): boolean {
  return listed.has(normalised) || createHash('sha256').update(normalised).digest()[0] === 0;
}

function xmlRpcAbsent(err: unknown): boolean {
  if (err instanceof UpstreamError) return err.absent;
  if (err instanceof XmlRpcFault) return /method|not (found|supported|implemented)|unknown/i.test(err.faultString);
  // 200 with something that is not XML-RPC (an HTML page): no XML-RPC here.
  return err instanceof Error && /^XML-RPC: (not a methodResponse|unreadable)/.test(err.message);
}

function retryable(err: unknown): boolean {
  return err instanceof UpstreamError && err.retryable;
}

/** Run `fn` over `items`, at most `n` at once, in order of start; the first error stops new starts and is rethrown. */
async function pool<T>(items: T[], n: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const run = async () => {
    while (next < items.length && !failure && !signal.aborted) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, run));
  if (failure) throw (failure as { err: unknown }).err;
}

/** Create the PyPI master ecosystem. */
export function createPypiMaster(opts: PypiMasterOptions): MasterEcosystem {
  const fetchImpl = opts.fetch ?? fetch;
  const simpleUrl = withSlash(opts.simple || PYPI_DEFAULTS.simple);
  const jsonUrl = withSlash(opts.json || PYPI_DEFAULTS.json);
  const xmlrpcUrl = (opts.xmlrpc || PYPI_DEFAULTS.xmlrpc).trim();
  const margin = opts.margin ?? SERIAL_MARGIN;
  const maxBatches = opts.maxBatches ?? 20;
  const concurrency = opts.concurrency ?? 4;
  const listed = new Set(opts.packages.map(normalizePypiName));
  const restricted = listed.size > 0;
  // Serials this process has handled; those within the margin are not handled twice.
  const handled = new Set<number>();
  // Simple-API mode: each project's `_last-serial` when last fetched, to skip unchanged ones.
  const simpleSerials = new Map<string, number>();

  const follows = (norm: string) => !restricted || listed.has(norm);

  function devFilter(pkg: SourcePackage): SourcePackage {
    if (!opts.devMode || devModeKeeps(pkg.name, listed)) return pkg;
    return { ...pkg, versions: pkg.versions.map((v) => ({ ...v, skip: v.skip ?? DEV_MODE_SKIP })) };
  }

  async function fetchPackage(name: string, signal: AbortSignal): Promise<SourcePackage | null> {
    if (isAbsurdName(name)) return null;
    const norm = normalizePypiName(name);
    try {
      const doc = await getJson(fetchImpl, jsonApiUrl(jsonUrl, norm), 'application/json', signal);
      if (doc) return devFilter(fromJsonApi(doc));
    } catch (err) {
      if (!(err instanceof UpstreamError && err.absent)) throw err;
    }
    // Not in the JSON API (or no JSON API at all): ask the simple API.
    const pkg = await fetchSimpleProject(fetchImpl, simpleUrl, norm, signal);
    return pkg && devFilter(pkg);
  }

  /** Fetch and apply one package; a removal event plus "no such project" removes it. Retryable errors propagate. */
  async function refresh(store: SourceStore, log: Logger, norm: string, events: ChangelogEvent[], signal: AbortSignal) {
    let pkg: SourcePackage | null;
    try {
      pkg = await fetchPackage(norm, signal);
    } catch (err) {
      if (signal.aborted || retryable(err)) throw err;
      log.warn({ package: norm, err: errorText(err) }, 'PyPI sync failed for one package');
      await store.recordSyncError(norm, errorText(err));
      return;
    }
    if (pkg) {
      await store.applyPackage(withSeenNames(pkg, events), REMOVED);
    } else if (events.some((e) => isRemoval(e.action))) {
      await store.removePackage(norm, REMOVED);
    } else {
      log.debug({ package: norm }, 'PyPI project has no releases yet');
    }
  }

  async function syncChangelog(store: SourceStore, log: Logger, signal: AbortSignal): Promise<void> {
    const stored = await store.getState<number | null>('serial', null);
    let serial = typeof stored === 'number' && stored >= 0 ? stored : 0;
    // Starting at the head: events up to it are history this master chose not to read (the listed
    // packages were just fetched whole), so they count as handled.
    let floor = -1;
    if (stored === null && (restricted || opts.devMode)) {
      // Only a few projects, or a development master: start at the head rather than read PyPI's history.
      const head = await callXmlRpc(fetchImpl, xmlrpcUrl, 'changelog_last_serial', [], signal);
      if (typeof head !== 'number') throw new Error('changelog_last_serial: not an integer');
      if (restricted) {
        await pool([...listed], concurrency, signal, (norm) => refresh(store, log, norm, [], signal));
      }
      serial = head;
      floor = head;
      await store.setState('serial', serial);
      log.info({ serial }, 'PyPI sync starts at the changelog head');
    }
    for (let batch = 0; batch < maxBatches && !signal.aborted; batch++) {
      const since = Math.max(0, serial - margin);
      const events = parseChangelog(await callXmlRpc(fetchImpl, xmlrpcUrl, 'changelog_since_serial', [since], signal));
      const fresh = orderEvents(events.filter((e) => !handled.has(e.serial) && e.serial > floor));
      const byPackage = new Map<string, ChangelogEvent[]>();
      for (const e of fresh) {
        if (!isRelevantAction(e.action)) continue;
        if (isAbsurdName(e.name)) {
          log.warn({ name: e.name.slice(0, 80) + '…', length: e.name.length }, `PyPI name over ${MAX_NAME_LENGTH} characters ignored`);
          continue;
        }
        const norm = normalizePypiName(e.name);
        if (!follows(norm)) continue;
        const list = byPackage.get(norm) ?? [];
        list.push(e);
        byPackage.set(norm, list);
      }
      await pool([...byPackage], concurrency, signal, ([norm, evs]) => refresh(store, log, norm, evs, signal));
      if (signal.aborted) return;
      for (const e of events) handled.add(e.serial);
      const top = events.reduce((m, e) => Math.max(m, e.serial), serial);
      for (const s of handled) if (s < top - margin) handled.delete(s);
      if (byPackage.size) log.info({ since, events: fresh.length, packages: byPackage.size, serial: top }, 'PyPI changelog applied');
      if (top <= serial) break;
      serial = top;
      await store.setState('serial', serial);
    }
  }

  async function syncSimple(store: SourceStore, log: Logger, signal: AbortSignal): Promise<void> {
    const listing = await fetchSimpleIndex(fetchImpl, simpleUrl, signal);
    const present = new Set<string>();
    const todo: Array<{ norm: string; spelling: string; lastSerial: number | null }> = [];
    for (const p of listing) {
      if (isAbsurdName(p.name)) {
        log.warn({ name: p.name.slice(0, 80) + '…', length: p.name.length }, `PyPI name over ${MAX_NAME_LENGTH} characters ignored`);
        continue;
      }
      const norm = normalizePypiName(p.name);
      if (!follows(norm)) continue;
      present.add(norm);
      if (p.lastSerial !== null && simpleSerials.get(norm) === p.lastSerial) continue;
      todo.push({ norm, spelling: p.name, lastSerial: p.lastSerial });
    }
    await pool(todo, concurrency, signal, async ({ norm, spelling, lastSerial }) => {
      let pkg: SourcePackage | null;
      try {
        // The listing spells names as the project does; project pages (PEP 691) give only the normalised name.
        pkg = await fetchSimpleProject(fetchImpl, simpleUrl, spelling, signal);
      } catch (err) {
        if (signal.aborted || retryable(err)) throw err;
        await store.recordSyncError(norm, errorText(err));
        return;
      }
      if (pkg) await store.applyPackage(devFilter(pkg), REMOVED);
      else await store.removePackage(norm, REMOVED);
      if (lastSerial !== null) simpleSerials.set(norm, lastSerial);
    });
    if (signal.aborted) return;
    for (const norm of await store.trackedPackages()) {
      if (!present.has(norm) && follows(norm)) {
        await store.removePackage(norm, REMOVED);
        simpleSerials.delete(norm);
      }
    }
    log.info({ projects: present.size, fetched: todo.length }, 'PyPI simple index synced');
  }

  return {
    name: 'pypi',
    normalizeName: normalizePypiName,
    fetchPackage,

    async sync(store: SourceStore, log: Logger, signal: AbortSignal): Promise<void> {
      try {
        await syncChangelog(store, log, signal);
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (!xmlRpcAbsent(err)) {
          const serial = await store.getState<number | null>('serial', null);
          log.warn({ err: errorText(err), serial }, 'PyPI sync stopped; the serial is kept and the next sync tries again');
          return;
        }
        log.info({ xmlrpc: xmlrpcUrl, err: errorText(err) }, 'no XML-RPC changelog; following the simple API');
      }
      try {
        await syncSimple(store, log, signal);
      } catch (err) {
        if (signal.aborted) return;
        log.warn({ err: errorText(err) }, 'PyPI simple API sync stopped; the next sync tries again');
      }
    },

    targetSkipReason(v: VersionInfo, target: TargetInfo): string | null {
      const meta = readPypiVersionMeta(v.meta);
      if (!meta.sdist_url) return BINARY_ONLY;
      return requiresPythonSkip(meta.requires_python, readPypiTargetFacts(target.facts, target.name));
    },

    jobSpec(v: VersionInfo, _target: TargetInfo): Json {
      const meta = readPypiVersionMeta(v.meta);
      if (!meta.sdist_url) throw new Error(`${v.displayName} ${v.version} has no sdist to build`);
      const spec: PypiJobSpec = { name: v.displayName, version: v.version, index_url: simpleUrl, sdist_url: meta.sdist_url };
      if (meta.sha256) spec.sha256 = meta.sha256;
      return spec as unknown as Json;
    },

    checkArtifactName(filename: string, v: VersionInfo, target: TargetInfo): string | null {
      const w = matchWheel(filename, v.packageName, v.version);
      if (typeof w === 'string') return w;
      const facts = readPypiTargetFacts(target.facts, target.name);
      if (!wheelServesTarget(w, facts)) {
        return `${JSON.stringify(filename)} (${w.python.join('.')}-${w.abi.join('.')}-${w.platform.join('.')}) does not install on ${target.name}`;
      }
      return null;
    },

    repositoryFiles(input: RepositoryInput): RepositoryFiles {
      return repositoryFiles(input);
    },

    usage(input: RepositoryInput): UsageBlock[] {
      return usage(input);
    },

    siteFiles(input: RepositoryInput): RepositoryFiles {
      return siteFiles(input, upstreamProjectUrl(jsonUrl, input.packageName || input.displayName));
    },

    async attachWorkers(gateway) {
      if (!opts.slaveQueue) return { close: async () => undefined };
      const driver = new SlaveDriver(gateway('piw-slave'), { slaveQueue: opts.slaveQueue, fileQueue: opts.fileQueue ?? 'tcp://*:5556', simpleUrl });
      await driver.start();
      return driver;
    },

    serves(artifact: { filename: string }, target: TargetInfo): boolean {
      const w = parseWheelFilename(artifact.filename);
      return !!w && wheelServesTarget(w, readPypiTargetFacts(target.facts, target.name));
    },

    indexFiles(packages: IndexedPackage[]): RepositoryFiles {
      return indexFiles(packages);
    },

    negotiate(path: string, accept: string) {
      return negotiateProjectJson(path) ?? negotiate(path, accept);
    },
  };
}
