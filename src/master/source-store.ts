import type { Logger } from 'pino';
import { recordPackageNames } from '../db/queries/package-names.ts';
import { ensurePackage, getPackage, listPackages, setPackageSyncError, updatePackageFromSource } from '../db/queries/packages.ts';
import { unqueueVersions } from '../db/queries/pending.ts';
import { getSetting, setSetting } from '../db/queries/settings.ts';
import { listTargets } from '../db/queries/targets.ts';
import { listVersions, skipVersionsNotIn, upsertVersion } from '../db/queries/versions.ts';
import type { SourcePackage, SourceStore } from '../ecosystems/types.ts';
import type { MasterContext } from './context.ts';
import { scheduleVersion } from './scheduler.ts';

/**
 * The SourceStore a syncing ecosystem writes through. Each package is
 * applied in one transaction, and every changed version is rescheduled, so
 * the queue never lags the source.
 * @param onChanged called with a package id after its rows changed, to republish it.
 */
export function createSourceStore(ctx: MasterContext, ecosystem: string, log: Logger, onChanged: (packageId: number) => void): SourceStore {
  return {
    async trackedPackages() {
      return (await listPackages(ctx.db, ecosystem)).map((p) => p.name);
    },
    async applyPackage(src: SourcePackage, goneReason: string) {
      const id = await ctx.db.tx(async (q) => {
        const pkg = (await getPackage(q, ecosystem, src.name)) ?? (await ensurePackage(q, ecosystem, src.name, src.displayName));
        // One writer per package at a time (a sync and a kiln add or skip of the same package on PostgreSQL).
        await q.query('SELECT 1 FROM packages WHERE id = $1 FOR UPDATE', [pkg.id]);
        const meta = src.meta;
        await updatePackageFromSource(q, pkg.id, { displayName: src.displayName, summary: src.summary, meta });
        // The display name is upstream's current spelling, seen now: by construction the spelling seen last.
        await recordPackageNames(q, pkg.id, [...(src.names ?? []), { name: src.displayName, seen: null }]);
        const fresh = { ...pkg, display_name: src.displayName, summary: src.summary, meta };
        for (const v of src.versions) await upsertVersion(q, pkg.id, v);
        const gone = await skipVersionsNotIn(q, pkg.id, src.versions.map((v) => v.version), goneReason);
        if (gone.length) await unqueueVersions(q, gone);
        const targets = await listTargets(q, ecosystem);
        for (const v of await listVersions(q, pkg.id)) await scheduleVersion(ctx, q, fresh, v, targets);
        if (gone.length) log.info({ package: src.name, count: gone.length }, 'versions no longer listed upstream were skipped');
        return pkg.id;
      });
      onChanged(id);
    },
    async removePackage(name: string, reason: string) {
      const pkg = await getPackage(ctx.db, ecosystem, name);
      if (!pkg) return;
      await this.applyPackage({ name, displayName: pkg.display_name, summary: pkg.summary, meta: pkg.meta, versions: [] }, reason);
    },
    async getState<T>(key: string, fallback: T): Promise<T> {
      return getSetting(ctx.db, `source:${ecosystem}:${key}`, fallback);
    },
    async setState(key: string, value: unknown) {
      await setSetting(ctx.db, `source:${ecosystem}:${key}`, value);
    },
    async recordSyncError(name: string, message: string) {
      await setPackageSyncError(ctx.db, ecosystem, name, message);
      log.warn({ package: name, err: message }, 'sync failed for package');
    },
  };
}
