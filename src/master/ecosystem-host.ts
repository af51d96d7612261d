/**
 * The EcosystemHost a master lends an ecosystem that works section-wide
 * (MasterEcosystem.start): its database, paths, queue planning and
 * publishing, with events filtered to that ecosystem.
 */
import { getPackageById } from '../db/queries/packages.ts';
import { setPlannedQueue } from '../db/queries/pending.ts';
import type { EcosystemHost } from '../ecosystems/types.ts';
import type { MasterContext } from './context.ts';
import { rm } from 'node:fs/promises';
import { outputFile, writeFileAtomic } from './atomic-write.ts';
import { publishedLogRel } from './build-logs.ts';
import { Periodic } from './loops.ts';
import type { Publisher } from './publisher.ts';

/** Make the host for ecosystem `name`. */
export function ecosystemHost(ctx: MasterContext, publisher: Publisher, name: string): EcosystemHost {
  return {
    db: ctx.db,
    log: ctx.log.child({ module: name }),
    dataDir: ctx.paths.dataDir,
    outputPath: ctx.paths.outputPath,
    baseUrl: () => ctx.baseUrl,
    buildTimeoutS: ctx.config.build_timeout_s,
    async setQueue(target, entries) {
      const queued = await ctx.db.tx((q) => setPlannedQueue(q, name, target, entries));
      if (queued > 0) ctx.events.emit('queued');
      return queued;
    },
    onFinished(listener) {
      ctx.events.on('finished', (e) => {
        // The event names the package; only this ecosystem's builds concern it.
        void getPackageById(ctx.db, e.packageId).then((p) => {
          if (p?.ecosystem === name) listener(e);
        }).catch((err) => ctx.log.error({ err }, 'finished listener failed'));
      });
    },
    onSynced(listener) {
      ctx.events.on('synced', (eco) => {
        if (eco === name) listener();
      });
    },
    onChanged(listener) {
      ctx.events.on('replan', (eco) => {
        if (eco === name) listener();
      });
    },
    publishPackage: (id) => publisher.package(id),
    logPath: (id) => publishedLogRel(id),
    writeOutput: (rel, content) => writeFileAtomic(outputFile(ctx.paths.outputPath, rel), content),
    removeOutput: (rel) => rm(outputFile(ctx.paths.outputPath, rel), { force: true }),
    publishHome: () => publisher.home(),
    every(label, everyMs, task) {
      return new Periodic(everyMs, task, ctx.log.child({ module: name }), label);
    },
  };
}
