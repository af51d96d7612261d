import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { createNpmMaster, createNpmWorker, defaultNpmRegistry } from '../ecosystems/npm/index.ts';
import { createPypiMaster, createPypiWorker } from '../ecosystems/pypi/index.ts';
import { createDebianMaster, debianCacheDir } from '../ecosystems/debian/master.ts';
import { createDebianWorker } from '../ecosystems/debian/worker.ts';
import type { MasterEcosystem, WorkerEcosystem } from '../ecosystems/types.ts';
import { KilnError } from '../errors.ts';
import { createLogger, levelFromVerbosity } from '../log.ts';

/** Options every master-like command (master, up, initdb) takes, as piw-master does. */
export interface MasterFlags {
  config?: string;
  quiet?: number;
  verbose?: number;
  logFile?: string;
  dsn?: string;
  outputPath?: string;
  dataDir?: string;
  devMode?: boolean;
  debug?: string[];
  listen?: string;
  pypiXmlrpc?: string;
  pypiSimple?: string;
  pypiJson?: string;
  slaveQueue?: string;
  fileQueue?: string;
}

const count = (_: string, prev: number | undefined) => (prev ?? 0) + 1;
const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/** Add the piw-master style options to a command. */
export function addMasterOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'TOML config file (default: /etc/kiln.toml, /usr/local/etc/kiln.toml, ~/.config/kiln/kiln.toml)')
    .option('-q, --quiet', 'less output (repeat for even less)', count)
    .option('-v, --verbose', 'more output (repeat for even more)', count)
    .option('-l, --log-file <file>', 'append logs to this file as JSON lines')
    .option('-d, --dsn <url>', 'PostgreSQL database, postgres://user:pass@host/db (default: embedded PGlite in the data dir)')
    .option('-o, --output-path <dir>', 'where the website and repositories are written (default: <data dir>/www)')
    .option('--data-dir <dir>', 'where the embedded database, artifact store and admin token live (default: ./kiln-data)')
    .option('--dev-mode', 'shorter timeouts and leases, for development')
    .option('--debug <task>', 'debug logging for one part: api, sync, publish, leases, admin, worker (repeatable)', collect)
    .option('--listen <addr>', 'HOST:PORT of the worker and admin API and the website (default: 127.0.0.1:8470)')
    .option('--pypi-xmlrpc <url>', 'PyPI XML-RPC API, followed for changes (enables the pypi ecosystem; default https://pypi.org/pypi)')
    .option('--pypi-simple <url>', 'PyPI simple API, which workers build against (default https://pypi.org/simple)')
    .option('--pypi-json <url>', 'PyPI JSON API (default https://pypi.org/pypi)')
    .option('--slave-queue <endpoint>', "listen for piwheels' piw-slave build machines here, e.g. tcp://*:5555 (enables the pypi ecosystem)")
    .option('--file-queue <endpoint>', 'where piw-slaves send their wheels (default tcp://*:5556; piw-slave always uses port 5556)');
}

/** Turn master flags into a config fragment (flags win over file and environment). */
export function masterFlagsToConfig(f: MasterFlags): Record<string, Record<string, unknown>> {
  const m: Record<string, unknown> = {};
  if (f.dsn) m.dsn = f.dsn;
  if (f.outputPath) m.output_path = f.outputPath;
  if (f.dataDir) m.data_dir = f.dataDir;
  if (f.devMode) m.dev_mode = true;
  if (f.debug?.length) m.debug = f.debug;
  if (f.listen) m.listen = f.listen;
  if (f.logFile) m.log_file = f.logFile;
  const p: Record<string, unknown> = {};
  if (f.pypiXmlrpc) p.xmlrpc = f.pypiXmlrpc;
  if (f.pypiSimple) p.simple = f.pypiSimple;
  if (f.pypiJson) p.json = f.pypiJson;
  if (f.slaveQueue) p.slave_queue = f.slaveQueue;
  if (f.fileQueue) p.file_queue = f.fileQueue;
  // Naming a PyPI URL on the command line is asking for the pypi ecosystem.
  if (Object.keys(p).length) p.enabled = true;
  return { master: m, pypi: p };
}

/** Load the config for a master-like command and create its logger. */
export function setupMaster(f: MasterFlags): { config: Config; log: Logger } {
  const { config } = loadConfig(f.config, masterFlagsToConfig(f));
  const log = createLogger({
    level: levelFromVerbosity(config.master.log_level, f.verbose ?? 0, f.quiet ?? 0),
    debug: config.master.debug,
    file: config.master.log_file,
  });
  return { config, log };
}

/** The master-side ecosystems the config enables. */
export async function masterEcosystems(config: Config): Promise<MasterEcosystem[]> {
  const out: MasterEcosystem[] = [];
  if (config.npm.enabled) {
    const registry = config.npm.registry ?? (await defaultNpmRegistry());
    out.push(createNpmMaster({ registry, versions: config.npm.versions, packages: config.npm.packages }));
  }
  if (config.pypi.enabled) {
    const p = config.pypi;
    out.push(
      createPypiMaster({ xmlrpc: p.xmlrpc, simple: p.simple, json: p.json, packages: p.packages, devMode: config.master.dev_mode, slaveQueue: p.slave_queue, fileQueue: p.file_queue }),
    );
  }
  if (config.debian.enabled) {
    out.push(createDebianMaster(config.debian, { cacheDir: debianCacheDir(resolve(config.master.data_dir)) }));
  }
  return out;
}

/**
 * The worker-side ecosystems named in the config.
 * @param debianSections the sections a `debian` worker tests (`[worker] debian_sections`).
 * @param log gets the ecosystems' warnings (e.g. why a debian worker declares no targets).
 * @throws KilnError for an unknown name.
 */
export function workerEcosystems(names: string[], debianSections: string[] = [], log?: Logger): WorkerEcosystem[] {
  return names.map((n) => {
    if (n === 'npm') return createNpmWorker();
    if (n === 'pypi') return createPypiWorker();
    if (n === 'debian') return createDebianWorker({ sections: debianSections, log });
    throw new KilnError(`unknown ecosystem ${n}; this Kiln builds: npm, pypi, debian`, 2);
  });
}

/** Default worker name: the host name. */
export function defaultWorkerName(): string {
  return hostname();
}

/** How admin commands reach the master: its URL and the admin token. */
export interface AdminTarget {
  url: string;
  token: string;
}

/**
 * Work out the master URL and admin token for an admin command: flags, then
 * `KILN_MASTER_URL`/`KILN_ADMIN_TOKEN`, then the config (public_url or
 * listen; admin_token or the token file the master keeps in its data dir).
 * @throws KilnError when no admin token can be found.
 */
export function adminTarget(f: { config?: string; master?: string; adminToken?: string; dataDir?: string }): AdminTarget {
  const { config } = loadConfig(f.config, f.dataDir ? { master: { data_dir: f.dataDir } } : {});
  const url = f.master ?? process.env.KILN_MASTER_URL ?? config.master.public_url ?? `http://${config.master.listen}`;
  let token = f.adminToken ?? process.env.KILN_ADMIN_TOKEN ?? config.master.admin_token;
  const file = join(resolve(config.master.data_dir), 'admin-token');
  if (!token && existsSync(file)) token = readFileSync(file, 'utf8').trim();
  if (!token) throw new KilnError(`no admin token: pass --admin-token, set KILN_ADMIN_TOKEN, or run this where the master's data dir (${file}) is`, 2);
  return { url: url.replace(/\/$/, ''), token };
}
