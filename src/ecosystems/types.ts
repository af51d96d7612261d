/**
 * The contract between Kiln's core and an ecosystem (npm, pypi, debian…).
 * The core owns the queue, protocol, storage, site and CLI; an ecosystem
 * supplies its source, its eligibility rules, how a worker builds, how
 * artifacts are named and how its repository is published. See DESIGN.md.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';

/** Free-form JSON object stored in `facts`/`meta` columns. */
export type Json = Record<string, unknown>;

/** A target as a worker declares it at hello, e.g. `{ name: "node-v115-linux-x64", ecosystem: "npm", facts: {...} }`. */
export interface TargetDecl {
  /** Unique across ecosystems, e.g. `node-v115-linux-x64`, `napi-linux-x64`. */
  name: string;
  ecosystem: string;
  /** Ecosystem-specific facts the master needs for eligibility, e.g. `{ node: "20.20.2", abi: 115 }`. */
  facts: Json;
}

/** One version as the source reports it. */
export interface SourceVersion {
  version: string;
  released: Date;
  /** Reason this version is never built for any target (e.g. "not a native addon"), or null. */
  skip: string | null;
  yanked: boolean;
  /** Ecosystem-specific data kept for building and eligibility (tarball URL, integrity, engines…). */
  meta: Json;
}

/** One package as the source reports it. */
export interface SourcePackage {
  /** Normalised name, the key in the database. */
  name: string;
  /** The name as upstream last spelled it. */
  displayName: string;
  summary: string | null;
  meta: Json;
  versions: SourceVersion[];
  /**
   * Other spellings of the name the source saw, with when (PyPI: the names
   * its changelog events carry). The core records them as aliases
   * (`package_names`); `displayName` needs no entry, it counts as seen now.
   */
  names?: Array<{ name: string; seen: Date }>;
}

/** What the core lets a source change while it syncs. */
export interface SourceStore {
  /** Normalised names of the packages of this ecosystem that Kiln tracks. */
  trackedPackages(): Promise<string[]>;
  /**
   * Record the package's current state upstream. Versions missing from
   * `pkg.versions` that Kiln knew are marked skipped with `goneReason`.
   */
  applyPackage(pkg: SourcePackage, goneReason: string): Promise<void>;
  /** Record that syncing one package failed, so the site can say so. */
  recordSyncError(name: string, message: string): Promise<void>;
  /** The package was removed upstream: its versions are marked gone (skipped, binaries withdrawn). */
  removePackage(name: string, reason: string): Promise<void>;
  /** Read this ecosystem's sync state (e.g. the last changelog serial), or `fallback`. */
  getState<T>(key: string, fallback: T): Promise<T>;
  /** Store this ecosystem's sync state (a JSON value). */
  setState(key: string, value: unknown): Promise<void>;
}

/** The part of a target row an ecosystem sees. */
export interface TargetInfo {
  name: string;
  facts: Json;
}

/** A package and version as stored, for eligibility and job specs. */
export interface VersionInfo {
  packageName: string;
  displayName: string;
  packageMeta: Json;
  version: string;
  meta: Json;
}

/** A published artifact, as the repository writer sees it. */
export interface PublishedArtifact {
  filename: string;
  size: number;
  sha256: string;
  tags: Json;
  /** Absolute path of the verified file in the artifact store. */
  storePath: string;
  version: string;
  target: string;
}

/** What a repository writer is given for one package. */
export interface RepositoryInput {
  packageName: string;
  displayName: string;
  /** The upstream summary, when the source gave one. */
  summary?: string | null;
  packageMeta: Json;
  artifacts: PublishedArtifact[];
  /** Every known version, newest first, with what the source said of it (yanked, skip, meta). */
  versions: Array<{ version: string; yanked: boolean; skip: string | null; meta: Json; released?: Date }>;
  /** Base URL the output path is served at, e.g. `http://127.0.0.1:8470`. */
  baseUrl: string;
}

/** A package as an ecosystem-wide index sees it (e.g. PEP 503's root page). */
export interface IndexedPackage {
  name: string;
  displayName: string;
  /** Whether the package has at least one published artifact. */
  published: boolean;
}

/** Files a repository writer wants under the output path: relative path → content or a file to link. */
export type RepositoryFiles = Map<string, { content: string | Buffer } | { linkFrom: string }>;

/** One block of "how to use this" shown on a package page. */
export interface UsageBlock {
  title: string;
  /** Shell or config lines, shown verbatim. */
  lines: string[];
  note?: string;
  /**
   * Other places to read about the package (its upstream page, another
   * JSON form), which the page shows under its title rather than in the
   * block. `href` is an absolute URL or a path relative to the output root.
   */
  links?: Array<{ label: string; href: string }>;
}

/** The master-side half of an ecosystem. */
export interface MasterEcosystem {
  /** Short name: `npm`, `pypi`… */
  readonly name: string;
  /** Normalise a package name the way the ecosystem compares names. */
  normalizeName(name: string): string;
  /** Bring the tracked packages up to date with upstream. */
  sync(store: SourceStore, log: Logger, signal: AbortSignal): Promise<void>;
  /** Fetch one package (for `kiln add`); null when upstream has no such package. */
  fetchPackage(name: string, signal: AbortSignal): Promise<SourcePackage | null>;
  /** Why this version must not be built for this target (e.g. engines excludes its Node), or null to build it. */
  targetSkipReason(v: VersionInfo, target: TargetInfo): string | null;
  /** The ecosystem part of a job, passed unchanged to the worker. */
  jobSpec(v: VersionInfo, target: TargetInfo): Json;
  /**
   * Check an uploaded artifact's name against the build it belongs to.
   * @returns an error message, or null when the name is right.
   */
  checkArtifactName(filename: string, v: VersionInfo, target: TargetInfo): string | null;
  /** The repository files for one package, all under `<ecosystem>/`. */
  repositoryFiles(input: RepositoryInput): RepositoryFiles;
  /** How a user installs from Kiln's repository, for the package page. */
  usage(input: RepositoryInput): UsageBlock[];
  /**
   * Told the ecosystem's current targets at start and whenever a new one
   * appears, before the next sync (npm uses their Node versions to pick
   * what `npm install` would choose on each).
   */
  onTargets?(targets: TargetInfo[]): void;
  /**
   * Whether an artifact built on one target also serves `target` (a
   * `py3-none-any` or `abi3` wheel serves every matching Python). A version
   * with such an artifact is not queued for the targets it serves.
   */
  serves?(artifact: { filename: string; tags: Json }, target: TargetInfo): boolean;
  /**
   * Extra site files for one package outside `<ecosystem>/` (PyPI: piwheels'
   * `project/<name>/json/index.json`), published and withdrawn with the
   * package's other files.
   */
  siteFiles?(input: RepositoryInput): RepositoryFiles;
  /** Files that list every package (PEP 503's root index), rewritten with the home page. */
  indexFiles?(packages: IndexedPackage[], baseUrl: string): RepositoryFiles;
  /**
   * Pick the file for a request when the client negotiates the format (PEP
   * 691: `Accept: application/vnd.pypi.simple.v1+json` gets `index.json`).
   * @returns the output-relative file to serve instead and its Content-Type, or undefined.
   */
  negotiate?(path: string, accept: string): { path: string; contentType: string } | undefined;
  /**
   * Start listening for workers that speak another farm's protocol (PyPI:
   * piwheels' piw-slave on `--slave-queue` and `--file-queue`). Their
   * results go through a gateway, with the same checks as Kiln's own
   * workers; `gateway(name)` makes one whose workers register under the
   * worker-token row `name`. Called once the master is up; the returned
   * close() is awaited at shutdown.
   */
  attachWorkers?(gateway: (tokenName: string) => WorkerGateway): Promise<{ close(): Promise<void> }>;
  /**
   * True when whether a version may be queued depends on other packages'
   * results (Debian: only `waiting-to-be-tested` packages, by how many wait
   * on them). The core then never queues this ecosystem's versions itself;
   * the ecosystem plans each target's queue through `host.setQueue` in
   * {@link MasterEcosystem.start}.
   */
  readonly plansQueue?: boolean;
  /**
   * For an ecosystem that plans its queue: why a version that has no result
   * on a target is not queued (Debian: its piuparts state and the
   * dependency that blocks it), for `kiln status --why`; null when unknown.
   */
  whyNotQueued?(packageName: string, version: string, target: string): string | null;
  /**
   * Start the ecosystem's own work inside the master (Debian: state
   * computation, queue planning, rescheduling, reports), once the master
   * listens and before foreign workers attach. The returned close() is
   * awaited at shutdown.
   */
  start?(host: EcosystemHost): Promise<{ close(): Promise<void> }>;
}

/**
 * What the master lends an ecosystem that does section-wide work of its own
 * ({@link MasterEcosystem.start}). The database is Kiln's; an ecosystem
 * reads the core tables and writes only its own (`debian_*`), the queue
 * through `setQueue`, and results through a WorkerGateway.
 */
export interface EcosystemHost {
  db: import('../db/connect.ts').Db;
  log: Logger;
  /** The master's private data directory (not published). */
  dataDir: string;
  /** The published output root. */
  outputPath: string;
  /** Base URL the output root is served at. */
  baseUrl(): string;
  /** Build timeout, s, and lease, s, from the master's config. */
  buildTimeoutS: number;
  /**
   * Replace one target's queue with these versions (ids), highest priority
   * claimed first. @returns how many rows were newly queued.
   */
  setQueue(target: string, entries: Array<{ versionId: number; priority: number }>): Promise<number>;
  /** Called with each ended build of this ecosystem: id, status, package id. */
  onFinished(listener: (e: { buildId: number; packageId: number; status: string }) => void): void;
  /** Called after each sync of this ecosystem's source. */
  onSynced(listener: () => void): void;
  /** Called whenever one of this ecosystem's versions was rescheduled (sync, `kiln rebuild`, skip); often, so debounce. */
  onChanged(listener: () => void): void;
  /** Republish one package's pages. */
  publishPackage(packageId: number): void;
  /** Output-relative path of an ended build's published (gzipped) log. */
  logPath(buildId: number): string;
  /** Write one file under the output root, atomically (readers never see half a file). */
  writeOutput(rel: string, content: string | Buffer): Promise<void>;
  /** Delete one file under the output root, if it exists. */
  removeOutput(rel: string): Promise<void>;
  /** Republish the home page and the ecosystems' index files (indexFiles). */
  publishHome(): void;
  /**
   * A periodic task (first run after `everyMs`) that can also be run on
   * demand; runs never overlap and errors are logged. Stopped at shutdown
   * by the ecosystem's close().
   * @param everyMs period, ms.
   */
  every(label: string, everyMs: number, task: () => Promise<void>): { start(firstMs?: number): void; runNow(): Promise<void>; stop(): Promise<void> };
}

/** A job as a foreign worker gets it (no ecosystem spec: its own protocol says what to build). */
export interface ForeignJob {
  buildId: number;
  /** Normalised package name. */
  package: string;
  version: string;
  target: string;
}

/** How a foreign worker's build ended. */
export interface ForeignResult {
  status: 'passed' | 'failed' | 'untestable' | 'cancelled';
  /** Build time, ms. */
  durationMs: number;
  failureReason: string | null;
  /** For `passed`: the stored artifacts to publish, each as stored. */
  artifacts: Array<{ filename: string; sha256: string; size: number }>;
}

/**
 * One registered foreign worker: the farm's operations on its behalf. Errors
 * are HttpErrors from the master (`lease_lost`, `checksum_mismatch`,
 * `bad_artifact_name`…), with a readable message.
 */
export interface ForeignWorker {
  /** The worker's id in the farm (piwheels calls it the slave id). */
  readonly id: number;
  readonly name: string;
  /** Mark the worker alive. */
  touch(): Promise<void>;
  /** Whether an operator paused the farm. */
  paused(): Promise<boolean>;
  /**
   * The next build for this worker's targets, or null; the build holds a
   * short lease until the first renew.
   * @param holdS hold the build this long (s) without renewing instead: a
   *   reservation, as piuparts-slaves make them, ended by a result, a
   *   release, or the lease running out.
   */
  claim(holdS?: number): Promise<ForeignJob | null>;
  /** Give a claimed build back untested: it is queued again as if never claimed. */
  release(buildId: number): Promise<void>;
  /** Renew the build's lease. @returns false when the worker must stop (cancelled, timed out, or no longer its build). */
  renew(buildId: number): Promise<boolean>;
  /** Append text to the build's log. */
  appendLog(buildId: number, text: string): Promise<void>;
  /**
   * Store one artifact after checking its name, size and sha256 against
   * `expected`. @throws HttpError on any mismatch (nothing is stored).
   */
  storeArtifact(buildId: number, filename: string, body: Readable, expected: { sha256: string; size: number }, tags: Json): Promise<{ sha256: string; size: number }>;
  /** Record the result. `cancelled` queues the build again. @throws HttpError lease_lost / missing_artifact. */
  finish(buildId: number, result: ForeignResult): Promise<void>;
}

/** What the master lends an ecosystem's foreign-worker listener. */
export interface WorkerGateway {
  log: Logger;
  /** Where partial transfers may be written (same filesystem as the artifact store, never published). */
  incomingDir: string;
  /**
   * Register a foreign worker with its targets.
   * @returns the worker, or why it is refused (its targets belong to no
   *   ecosystem this master runs, or an operator revoked the gateway's token).
   */
  register(w: { name: string; facts: Json; targets: TargetDecl[]; labels: string[]; software: string }): Promise<ForeignWorker | string>;
}

/** A build the worker runs, as the master hands it out. */
export interface Job {
  buildId: number;
  ecosystem: string;
  package: string;
  displayName: string;
  version: string;
  target: string;
  /** Build timeout, seconds. */
  timeoutS: number;
  spec: Json;
}

/** One file a build produced. */
export interface BuiltFile {
  /** Absolute path on the worker. */
  path: string;
  /** Artifact name, checked by the master. */
  filename: string;
  tags: Json;
}

/** How a build ended, as the worker reports it. */
export interface BuildOutcome {
  status: 'passed' | 'failed' | 'untestable';
  failureReason: string | null;
  artifacts: BuiltFile[];
}

/** Options for running one command of a build. */
export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Let the command reach the network (default true). */
  network?: boolean;
  /**
   * Run inside bubblewrap when the worker uses it (default true). `false`
   * runs the command directly, with the worker's own rights (piuparts
   * needs real root to build chroots); output streaming, the timeout and
   * the process-tree kill stay the same.
   */
  sandbox?: boolean;
}

/** Result of one command. */
export interface RunResult {
  code: number | null;
  signal: string | null;
}

/** What a worker gives an ecosystem's build function. */
export interface BuildContext {
  /** A fresh, empty directory owned by this build. */
  workDir: string;
  /** Append text to the build log (streamed to the master). */
  log(text: string): void;
  /**
   * Run a command, sandboxed when bubblewrap is installed, with its output
   * going to the build log. The build timeout kills its whole process tree.
   */
  run(cmd: string, args: string[], opts: RunOptions): Promise<RunResult>;
  /** Aborted when the build times out or the master cancels it. */
  signal: AbortSignal;
}

/** The worker-side half of an ecosystem. */
export interface WorkerEcosystem {
  readonly name: string;
  /** The targets this machine can build, worked out from its own toolchain. */
  detectTargets(): Promise<TargetDecl[]>;
  /** Build one job in `ctx.workDir`. Throws only for worker faults, not for failed builds. */
  build(job: Job, ctx: BuildContext): Promise<BuildOutcome>;
}
