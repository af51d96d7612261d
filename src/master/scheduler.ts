/**
 * The queue rules. A target owes a build of a version when the version and
 * its package are not skipped, the ecosystem finds the version eligible for
 * the target, and no build of it on that target was attempted (expired and
 * cancelled builds do not count). Claims take the newest release first.
 * An ecosystem that plans its queue (Debian) gets its skips recorded here
 * and queues through its own planner instead.
 * Failed builds are not retried until `kiln rebuild` forgets them.
 */
import type { Queryable } from '../db/connect.ts';
import { buildsFor } from '../db/queries/builds.ts';
import { getSetting } from '../db/queries/settings.ts';
import { isQueued, queueVersion, setTargetSkips, unqueueTargets } from '../db/queries/pending.ts';
import { getPackage, type PackageRow } from '../db/queries/packages.ts';
import { getVersion, listVersions, type VersionRow } from '../db/queries/versions.ts';
import { listOnlineWorkers } from '../db/queries/workers.ts';
import { listTargets, type TargetRow } from '../db/queries/targets.ts';
import type { MasterEcosystem, VersionInfo } from '../ecosystems/types.ts';
import { ecosystemOf, type MasterContext } from './context.ts';

/** The ecosystem's view of a stored version. */
export function versionInfo(pkg: PackageRow, v: VersionRow): VersionInfo {
  return { packageName: pkg.name, displayName: pkg.display_name, packageMeta: pkg.meta, version: v.version, meta: v.meta };
}

/**
 * Per-target skip reasons for one version (pure): the targets the version
 * must not be built for, with the ecosystem's reason.
 */
export function targetSkips(eco: MasterEcosystem, info: VersionInfo, targets: Pick<TargetRow, 'name' | 'facts'>[]): Map<string, string> {
  const skips = new Map<string, string>();
  for (const t of targets) {
    const reason = eco.targetSkipReason(info, { name: t.name, facts: t.facts });
    if (reason) skips.set(t.name, reason);
  }
  return skips;
}

/**
 * The skip reason of a target served by another target's artifact (a
 * `py3-none-any` wheel): `served by <file>, built for <target> (build <id>)`.
 * Pages recognise it with {@link isServedBy}; both live here so they agree.
 */
export function servedReason(a: { filename: string; target: string; build_id: number }): string {
  return `served by ${a.filename}, built for ${a.target} (build ${a.build_id})`;
}

/** Whether a skip reason says the target is served by the artifact `filename` (see {@link servedReason}). */
export function isServedBy(reason: string, filename: string): boolean {
  return reason.startsWith(`served by ${filename}, `);
}

/**
 * Bring one version's queue rows up to date: record per-target skips, then
 * queue it for every remaining target that has not attempted it.
 * @returns how many (version, target) rows were newly queued.
 */
export async function scheduleVersion(ctx: MasterContext, q: Queryable, pkg: PackageRow, v: VersionRow, targets?: TargetRow[]): Promise<number> {
  const eco = ecosystemOf(ctx, pkg.ecosystem);
  const all = targets ?? (await listTargets(q, pkg.ecosystem));
  const skips = targetSkips(eco, versionInfo(pkg, v), all);
  if (eco.serves) {
    // A passed build's artifact may already serve other targets (a py3-none-any wheel): they owe nothing.
    const built = await q.query<{ filename: string; tags: Record<string, unknown>; target: string; build_id: number }>(
      `SELECT a.filename, a.tags, b.target, b.id AS build_id FROM artifacts a JOIN builds b ON b.id = a.build_id
       WHERE b.version_id = $1 AND b.status = 'passed' ORDER BY b.id`,
      [v.id],
    );
    for (const t of all) {
      if (skips.has(t.name) || built.some((a) => a.target === t.name)) continue;
      const serving = built.find((a) => eco.serves!({ filename: a.filename, tags: a.tags }, { name: t.name, facts: t.facts }));
      if (serving) skips.set(t.name, servedReason(serving));
    }
  }
  await setTargetSkips(q, v.id, skips);
  // What is skipped now may have been queued before (a new release moved "latest" on, an operator skip).
  const unqueue = pkg.skip || v.skip ? all.map((t) => t.name) : [...skips.keys()];
  if (unqueue.length) await unqueueTargets(q, v.id, unqueue);
  // A section-wide planner (Debian) decides what is queued from every package's state, not per version.
  if (eco.plansQueue) {
    ctx.events.emit('replan', pkg.ecosystem);
    return 0;
  }
  const queued = await queueVersion(q, v.id, all.filter((t) => !skips.has(t.name)).map((t) => t.name));
  if (queued > 0) ctx.events.emit('queued');
  return queued;
}

/**
 * Tell the ecosystems that plan their own queue to plan again: the core put
 * a build back in the queue (an expired lease, a released claim, a
 * cancelled build) at the default priority.
 */
export function nudgePlanners(ctx: MasterContext): void {
  for (const eco of ctx.ecosystems.values()) if (eco.plansQueue) ctx.events.emit('replan', eco.name);
}

/** Reschedule every version of one package (after add, unskip, rebuild…). @returns rows newly queued. */
export async function schedulePackage(ctx: MasterContext, q: Queryable, pkg: PackageRow): Promise<number> {
  const targets = await listTargets(q, pkg.ecosystem);
  let n = 0;
  for (const v of await listVersions(q, pkg.id)) n += await scheduleVersion(ctx, q, pkg, v, targets);
  return n;
}

/** One line of `kiln status --why`: the state of a version on one target and why. */
export interface WhyLine {
  version: string;
  target: string | null;
  state: 'queued' | 'running' | 'built' | 'failed' | 'untestable' | 'skipped' | 'not queued';
  reason: string;
}

/**
 * Explain why each version of a package is or is not queued on each target
 * (`kiln status --why PACKAGE [VERSION]`).
 * @throws Error when the package or version is unknown.
 */
export async function explain(ctx: MasterContext, ecosystem: string, name: string, version?: string): Promise<WhyLine[]> {
  const eco = ecosystemOf(ctx, ecosystem);
  const pkg = await getPackage(ctx.db, ecosystem, eco.normalizeName(name));
  if (!pkg) throw new Error(`${ecosystem} package ${name} is not tracked; add it with kiln add ${name}`);
  let versions: VersionRow[];
  if (version) {
    const v = await getVersion(ctx.db, pkg.id, version);
    if (!v) throw new Error(`${name} ${version} is not known; known versions come from the registry at the last sync`);
    versions = [v];
  } else {
    versions = await listVersions(ctx.db, pkg.id);
  }
  const targets = await listTargets(ctx.db, ecosystem);
  const online = await listOnlineWorkers(ctx.db, ctx.config.lease_s * 2);
  const paused = await getSetting(ctx.db, 'paused', false);
  const lines: WhyLine[] = [];
  if (versions.length === 0) lines.push({ version: '-', target: null, state: 'not queued', reason: pkg.sync_error ? `sync failed: ${pkg.sync_error}` : 'no versions known yet (not synced?)' });
  if (targets.length === 0) lines.push({ version: '-', target: null, state: 'not queued', reason: `no worker has declared a ${ecosystem} target yet` });
  for (const v of versions) {
    if (pkg.skip || v.skip) {
      lines.push({ version: v.version, target: null, state: 'skipped', reason: pkg.skip ? `package skipped: ${pkg.skip}` : `skipped: ${v.skip}` });
      continue;
    }
    const stored = await ctx.db.query<{ target: string; reason: string }>('SELECT target, reason FROM target_skips WHERE version_id = $1', [v.id]);
    for (const t of targets) {
      // The recorded reason also covers what scheduling derived from results (a wheel serving this target).
      const reason = stored.find((s) => s.target === t.name)?.reason ?? eco.targetSkipReason(versionInfo(pkg, v), { name: t.name, facts: t.facts });
      if (reason) {
        lines.push({ version: v.version, target: t.name, state: 'skipped', reason });
        continue;
      }
      const last = (await buildsFor(ctx.db, v.id, t.name)).find((b) => b.status !== 'expired' && b.status !== 'cancelled');
      if (last) {
        const state = last.status === 'passed' ? 'built' : last.status === 'running' ? 'running' : last.status;
        const why = last.status === 'running' ? `build ${last.id} is running` : `build ${last.id} ${last.status}${last.failure_reason ? `: ${last.failure_reason}` : ''}; kiln rebuild requeues it`;
        lines.push({ version: v.version, target: t.name, state: state as WhyLine['state'], reason: why });
        continue;
      }
      if (await isQueued(ctx.db, v.id, t.name)) {
        const served = online.some((w) => w.targets.includes(t.name));
        const notes = [paused ? 'the master is paused (kiln resume)' : null, served ? null : `no worker online for ${t.name}`].filter(Boolean);
        lines.push({ version: v.version, target: t.name, state: 'queued', reason: notes.length ? `queued, but ${notes.join(' and ')}` : 'queued' });
      } else {
        const why = eco.whyNotQueued?.(pkg.name, v.version, t.name) ?? 'not queued (run kiln rebuild to queue it)';
        lines.push({ version: v.version, target: t.name, state: 'not queued', reason: why });
      }
    }
  }
  return lines;
}
