import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { listReferencedHashes } from '../db/queries/artifacts.ts';
import { publishLog } from './build-logs.ts';
import { expireLeases } from '../db/queries/builds.ts';
import { listTargets } from '../db/queries/targets.ts';
import { listPackages } from '../db/queries/packages.ts';
import type { MasterContext } from './context.ts';
import type { Publisher } from './publisher.ts';
import { nudgePlanners, schedulePackage } from './scheduler.ts';
import { createSourceStore } from './source-store.ts';

/** A periodic task that can also be run on demand; runs never overlap. */
export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<void> | null = null;
  private stopped = false;

  /**
   * @param everyMs period, milliseconds.
   * @param task the work; errors are logged, never thrown out of the loop.
   */
  constructor(private readonly everyMs: number, private readonly task: () => Promise<void>, private readonly log: Logger, private readonly label: string) {}

  /** Start the schedule; the first run happens after `firstMs`. */
  start(firstMs = this.everyMs): void {
    this.timer = setTimeout(() => void this.tick(), firstMs);
  }

  private again: Promise<void> | null = null;

  /**
   * Run now and resolve when a run that started after this call has ended.
   * A run already in progress may have missed what prompted the call (a new
   * target, `kiln sync`), so one more run follows it; callers that arrive
   * meanwhile share that follow-up run.
   */
  async runNow(): Promise<void> {
    if (!this.current) return this.start1();
    this.again ??= this.current.then(() => {
      this.again = null;
      return this.start1();
    });
    return this.again;
  }

  private start1(): Promise<void> {
    this.current = this.task()
      .catch((err) => this.log.error({ err }, `${this.label} failed`))
      .finally(() => { this.current = null; });
    return this.current;
  }

  private async tick(): Promise<void> {
    await (this.current ?? this.start1());
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.everyMs);
  }

  /** Whether a run is in progress. */
  running(): boolean {
    return this.current !== null;
  }

  /** Stop the schedule and wait for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.current) await this.current;
  }
}

/** Tell each ecosystem its targets (see MasterEcosystem.onTargets). */
export async function announceTargets(ctx: MasterContext): Promise<void> {
  for (const eco of ctx.ecosystems.values()) {
    if (!eco.onTargets) continue;
    const targets = await listTargets(ctx.db, eco.name);
    eco.onTargets(targets.map((t) => ({ name: t.name, facts: t.facts })));
  }
}

/** Sync every ecosystem's source once. */
export async function syncAll(ctx: MasterContext, publisher: Publisher, signal: AbortSignal): Promise<void> {
  const log = ctx.log.child({ module: 'sync' });
  await announceTargets(ctx);
  for (const eco of ctx.ecosystems.values()) {
    const started = Date.now();
    await eco.sync(createSourceStore(ctx, eco.name, log, (id) => publisher.package(id)), log, signal);
    log.info({ ecosystem: eco.name, ms: Date.now() - started }, 'sync done');
    ctx.events.emit('synced', eco.name);
  }
  publisher.home();
}

/** Requeue every package of these ecosystems, after a new target appeared. */
export async function rescheduleEcosystems(ctx: MasterContext, publisher: Publisher, ecosystems: string[]): Promise<void> {
  for (const name of ecosystems) {
    for (const pkg of await listPackages(ctx.db, name)) {
      await ctx.db.tx((q) => schedulePackage(ctx, q, pkg));
      publisher.package(pkg.id);
    }
  }
}

/** Expire lapsed leases: their builds go back in the queue and their logs are closed with a note. */
export async function sweepLeases(ctx: MasterContext, publisher: Publisher): Promise<void> {
  const expired = await ctx.db.tx((q) => expireLeases(q));
  if (expired.length === 0) return;
  const log = ctx.log.child({ module: 'leases' });
  for (const b of expired) {
    log.warn({ build: b.id, target: b.target }, 'lease expired; build requeued');
    await publishLog(ctx.paths, b.id, 'the worker stopped heartbeating; the lease expired and the build was requeued');
    const v = await ctx.db.query<{ package_id: number }>('SELECT package_id FROM versions WHERE id = $1', [b.version_id]);
    if (v[0]) publisher.package(v[0].package_id);
  }
  ctx.events.emit('queued');
  nudgePlanners(ctx);
}

/**
 * Delete files in the artifact store that no artifact row references
 * (uploads of builds that later failed or were removed), once they are older
 * than `minAgeMs` so an upload racing its database row is never touched.
 * @returns how many files were deleted.
 */
export async function pruneStore(ctx: MasterContext, minAgeMs = 3_600_000): Promise<number> {
  const keep = await listReferencedHashes(ctx.db);
  let removed = 0;
  const now = Date.now();
  for (const dir of await readdir(ctx.paths.storeDir).catch(() => [] as string[])) {
    for (const name of await readdir(join(ctx.paths.storeDir, dir)).catch(() => [] as string[])) {
      if (keep.has(name)) continue;
      const path = join(ctx.paths.storeDir, dir, name);
      const st = await stat(path).catch(() => null);
      if (st && now - st.mtimeMs > minAgeMs) {
        await rm(path, { force: true });
        removed++;
      }
    }
  }
  if (removed) ctx.log.child({ module: 'store' }).info({ removed }, 'pruned unreferenced files from the artifact store');
  return removed;
}

/**
 * Publish logs a crash left behind: running logs of builds that are no
 * longer running (the master died between recording a result or an expiry
 * and gzipping the log), so the site's log links work.
 * @returns how many logs were published.
 */
export async function publishLeftoverLogs(ctx: MasterContext): Promise<number> {
  let n = 0;
  for (const f of await readdir(ctx.paths.runningLogsDir).catch(() => [] as string[])) {
    const id = Number(/^(\d+)\.log$/.exec(f)?.[1]);
    if (!id) continue;
    const rows = await ctx.db.query<{ status: string }>('SELECT status FROM builds WHERE id = $1', [id]);
    if (rows[0]?.status === 'running') continue;
    if (!rows[0]) {
      await rm(join(ctx.paths.runningLogsDir, f), { force: true });
      continue;
    }
    await publishLog(ctx.paths, id);
    n++;
  }
  return n;
}
