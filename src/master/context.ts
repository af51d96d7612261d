import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { MasterConfig } from '../config/schema.ts';
import type { Db } from '../db/connect.ts';
import type { MasterEcosystem } from '../ecosystems/types.ts';

/** Directories the master writes. */
export interface MasterPaths {
  /** State that is not published: artifact store, running logs, admin token. */
  dataDir: string;
  /** Published tree: repositories, site and JSON. Served by `kiln up` or any web server. */
  outputPath: string;
  /** Verified artifacts, named by sha256. */
  storeDir: string;
  /** Logs of running builds, appended as chunks arrive. */
  runningLogsDir: string;
  /** Partial uploads; never published. */
  incomingDir: string;
}

/** Events the master's parts raise for each other (in-process nudges; polling is the backstop). */
export interface MasterEvents {
  /** The queue gained work. */
  queued: [];
  /** A build ended (any status). */
  finished: [{ buildId: number; packageId: number; status: string }];
  /** An ecosystem's source sync ended (its name). */
  synced: [string];
  /** A version of an ecosystem that plans its own queue changed (sync, rebuild, skip): it should plan again. */
  replan: [string];
}

/** Everything a master part needs, passed in rather than imported as globals. */
export interface MasterContext {
  db: Db;
  config: MasterConfig;
  log: Logger;
  paths: MasterPaths;
  ecosystems: Map<string, MasterEcosystem>;
  events: EventEmitter<MasterEvents>;
  adminToken: string;
  /** Base URL the output path is served at, for links in repositories and usage lines. */
  baseUrl: string;
  /** Finish requests between their status commit and their publishing, so "idle" waits for them. */
  finishing: number;
}

/** Look up an ecosystem by name. @throws Error for an unknown name. */
export function ecosystemOf(ctx: MasterContext, name: string): MasterEcosystem {
  const eco = ctx.ecosystems.get(name);
  if (!eco) throw new Error(`ecosystem ${name} is not enabled on this master`);
  return eco;
}
