/**
 * Assembles a master: database, ecosystems, HTTP server, sync and lease
 * loops, publisher. `kiln master` and `kiln up` both start one here.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { MasterConfig } from '../config/schema.ts';
import { openDb, type Db } from '../db/connect.ts';
import { assertSchemaCurrent, migrate } from '../db/migrate.ts';
import { ensurePackage } from '../db/queries/packages.ts';
import { KilnError } from '../errors.ts';
import type { MasterEcosystem } from '../ecosystems/types.ts';
import { loadOrCreateAdminToken } from './auth.ts';
import type { MasterContext, MasterEvents, MasterPaths } from './context.ts';
import { announceTargets, Periodic, publishLeftoverLogs, pruneStore, rescheduleEcosystems, sweepLeases, syncAll } from './loops.ts';
import { Publisher } from './publisher.ts';
import { registerAdminRoutes } from './routes/admin-api.ts';
import { registerWorkerRoutes } from './routes/worker-api.ts';
import { createWorkerGateway } from './worker-gateway.ts';
import { WorkerService } from './worker-service.ts';
import { createServer } from './server.ts';
import { ecosystemHost } from './ecosystem-host.ts';

/** Options for starting a master. */
export interface MasterOptions {
  config: MasterConfig;
  log: Logger;
  ecosystems: MasterEcosystem[];
  /** Packages named in the config, per ecosystem, added at start. */
  configuredPackages?: Record<string, string[]>;
  /** Create or upgrade the schema first (`kiln up`); otherwise refuse a schema that is not current. */
  autoMigrate?: boolean;
  /** Serve the output path as a website on the same port (default true). */
  serveSite?: boolean;
  /** An already open database (tests); otherwise opened from `config`. */
  db?: Db;
  /** Start the periodic sync (default true). */
  sync?: boolean;
}

/** A running master. */
export interface RunningMaster {
  ctx: MasterContext;
  publisher: Publisher;
  /** Base URL of the API and site, e.g. `http://127.0.0.1:8470`. */
  url: string;
  /** Sync all sources now; resolves when done. */
  syncNow(): Promise<void>;
  /** True while a sync, a reschedule or publishing is in progress (for `--exit-when-idle`). */
  busy(): boolean;
  /** Stop serving, wait for loops and publishing, close the database. */
  close(): Promise<void>;
}

/** Apply `--dev-mode`: shorter leases, waits and sync periods, for development. */
export function effectiveConfig(c: MasterConfig): MasterConfig {
  if (!c.dev_mode) return c;
  return {
    ...c,
    lease_s: Math.min(c.lease_s, 20),
    claim_wait_s: Math.min(c.claim_wait_s, 5),
    sync_interval_s: Math.min(c.sync_interval_s, 60),
    build_timeout_s: Math.min(c.build_timeout_s, 900),
  };
}

/** The master's directories, from the config. */
export function masterPaths(c: MasterConfig): MasterPaths {
  const dataDir = resolve(c.data_dir);
  return {
    dataDir,
    outputPath: resolve(c.output_path ?? join(dataDir, 'www')),
    storeDir: join(dataDir, 'artifacts'),
    runningLogsDir: join(dataDir, 'running-logs'),
    incomingDir: join(dataDir, 'incoming'),
  };
}

/** Open the database the config names: `dsn`, or PGlite under `<data_dir>/db`. */
export function openConfiguredDb(c: MasterConfig): Promise<Db> {
  return openDb(c.dsn ? { dsn: c.dsn, pool: c.db_pool } : { dataDir: join(resolve(c.data_dir), 'db') });
}

/**
 * Start a master and listen on `config.listen`.
 * @throws SchemaVersionError when the schema is not current and autoMigrate is off;
 *   KilnError when the data directory is locked or the port is taken.
 */
export async function startMaster(opts: MasterOptions): Promise<RunningMaster> {
  const config = effectiveConfig(opts.config);
  const paths = masterPaths(config);
  for (const d of [paths.dataDir, paths.outputPath, paths.storeDir, paths.runningLogsDir, paths.incomingDir]) mkdirSync(d, { recursive: true });
  const db = opts.db ?? (await openConfiguredDb(config));
  try {
    if (opts.autoMigrate) await migrate(db);
    else await assertSchemaCurrent(db);
  } catch (err) {
    if (!opts.db) await db.close();
    throw err;
  }
  const [host, port] = splitListen(config.listen);
  const ctx: MasterContext = {
    db,
    config,
    log: opts.log,
    paths,
    ecosystems: new Map(opts.ecosystems.map((e) => [e.name, e])),
    events: new EventEmitter<MasterEvents>(),
    adminToken: loadOrCreateAdminToken(config.admin_token, join(paths.dataDir, 'admin-token')),
    baseUrl: '',
    finishing: 0,
  };
  ctx.events.setMaxListeners(0);
  const publisher = new Publisher(ctx);
  const abort = new AbortController();
  const sync = new Periodic(config.sync_interval_s * 1000, () => syncAll(ctx, publisher, abort.signal), opts.log, 'sync');
  const prune = new Periodic(3_600_000, () => pruneStore(ctx).then(() => undefined), opts.log, 'store prune');
  const leases = new Periodic(Math.max(1000, Math.min(5000, (config.lease_s * 1000) / 4)), () => sweepLeases(ctx, publisher), opts.log, 'lease sweep');

  let rescheduling = 0;
  const onNewTargets = (ecosystems: string[]) => {
    rescheduling++;
    void (async () => {
      await announceTargets(ctx);
      await rescheduleEcosystems(ctx, publisher, ecosystems);
      // New targets can change which versions a source selects (npm: per-Node latest).
      await sync.runNow();
    })()
      .catch((err) => opts.log.error({ err }, 'rescheduling for new targets failed'))
      .finally(() => { rescheduling--; });
  };

  const app = createServer(ctx, opts.serveSite ?? true);
  const workers = new WorkerService(ctx, publisher, onNewTargets);
  registerWorkerRoutes(app, workers);
  registerAdminRoutes(app, ctx, publisher, () => sync.runNow());
  try {
    await app.listen({ host, port });
  } catch (err) {
    if (!opts.db) await db.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new KilnError(`cannot listen on ${config.listen}: the address is in use (is another master running? choose another with --listen)`);
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new KilnError(`cannot listen on ${config.listen}: ${code === 'EACCES' ? 'permission denied' : 'no such address on this machine'} (--listen)`);
    throw err;
  }
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = config.public_url?.replace(/\/$/, '') ?? `http://${host.includes(':') ? `[${host}]` : host || '127.0.0.1'}:${actualPort}`;
  ctx.baseUrl = url;

  for (const [eco, names] of Object.entries(opts.configuredPackages ?? {})) {
    const e = ctx.ecosystems.get(eco);
    if (!e) continue;
    for (const n of names) await ensurePackage(db, eco, e.normalizeName(n), n);
  }
  await announceTargets(ctx);
  await publishLeftoverLogs(ctx);
  const attached: Array<{ close(): Promise<void> }> = [];
  try {
    for (const eco of ctx.ecosystems.values()) {
      if (eco.start) attached.push(await eco.start(ecosystemHost(ctx, publisher, eco.name)));
    }
    for (const eco of ctx.ecosystems.values()) {
      if (eco.attachWorkers) attached.push(await eco.attachWorkers((name) => createWorkerGateway(workers, name)));
    }
  } catch (err) {
    for (const a of attached) await a.close();
    await app.close();
    if (!opts.db) await db.close();
    throw err;
  }
  await publisher.all();
  if (opts.sync ?? true) sync.start(0);
  leases.start();
  prune.start(60_000);
  opts.log.info({ url, db: db.where, output: paths.outputPath }, 'master started');

  return {
    ctx,
    publisher,
    url,
    syncNow: () => sync.runNow(),
    busy: () => rescheduling > 0 || ctx.finishing > 0 || sync.running() || publisher.busy(),
    async close() {
      abort.abort();
      for (const a of attached) await a.close();
      await app.close();
      await sync.stop();
      await leases.stop();
      await prune.stop();
      await publisher.flush();
      if (!opts.db) await db.close();
    },
  };
}

/** Split `HOST:PORT` (IPv6 in brackets) into its parts. */
export function splitListen(listen: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`bad listen address ${listen}`);
  return [m[1] ?? m[2] ?? '127.0.0.1', Number(m[3])];
}
