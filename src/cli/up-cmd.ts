/**
 * `kiln up`: the whole farm on one machine with the embedded defaults:
 * a master on PGlite, one local worker (a child process, so PGlite's
 * blocking queries never stall a build) and the website on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { hashToken, generateToken } from '../master/auth.ts';
import { deleteWorkerToken, insertWorkerToken } from '../db/queries/workers.ts';
import { startMaster, type RunningMaster } from '../master/master.ts';
import { addMasterOptions, masterEcosystems, setupMaster, type MasterFlags } from './common.ts';
import { untilSignal } from './signals.ts';

const KILN_BIN = fileURLToPath(new URL('../../bin/kiln.js', import.meta.url));

/**
 * Whether the farm has nothing left to do: a worker has connected, nothing
 * is running, no target a worker serves has anything queued, and no sync or
 * publishing is in progress.
 */
export async function isIdle(master: RunningMaster): Promise<boolean> {
  if (master.busy()) return false;
  // Only workers seen within two leases count: one that died long ago serves nothing.
  const rows = await master.ctx.db.query<{ workers: number; running: number; queued: number }>(
    `WITH online AS (SELECT * FROM workers WHERE last_seen > now() - make_interval(secs => $1))
     SELECT (SELECT count(*) FROM online)::int AS workers,
            (SELECT count(*) FROM builds WHERE status = 'running')::int AS running,
            (SELECT count(*) FROM pending p WHERE EXISTS (SELECT 1 FROM online w WHERE p.target = ANY(w.targets)))::int AS queued`,
    [master.ctx.config.lease_s * 2],
  );
  const r = rows[0]!;
  return r.workers > 0 && r.running === 0 && r.queued === 0;
}

/** Register `kiln up`. */
export function registerUp(program: Command): void {
  addMasterOptions(program.command('up').description('run master, one local worker and the website on the embedded defaults'))
    .option('--exit-when-idle', 'exit 0 once every queued build has finished')
    .option('--no-worker', 'do not start the local worker')
    .action(async (f: MasterFlags & { exitWhenIdle?: boolean; worker: boolean }) => {
      // kiln up prints its own progress; the master's log shows warnings unless -v asks for more.
      const { config, log } = setupMaster({ ...f, quiet: (f.quiet ?? 0) + 1 });
      const master = await startMaster({
        config: config.master,
        log,
        ecosystems: await masterEcosystems(config),
        configuredPackages: { npm: config.npm.packages, pypi: config.pypi.packages },
        autoMigrate: true,
      });
      const say = (s: string) => process.stdout.write(`${s}\n`);
      say(`Kiln is up.`);
      say(`  site and repositories: ${master.url}/   (files under ${master.ctx.paths.outputPath})`);
      say(`  database: ${master.ctx.db.where}`);
      say(`  tracking: ${config.npm.enabled ? `npm: ${config.npm.packages.join(', ') || '(none yet: kiln add NAME)'}` : ''}${config.pypi.enabled ? `  pypi: ${config.pypi.packages.join(', ') || `every project in ${config.pypi.xmlrpc}'s changelog`}` : ''}${config.debian.enabled ? `  debian: ${Object.keys(config.debian.sections).join(', ') || '(no sections)'}` : ''}`);
      say(`  admin: kiln status --master ${master.url} --data-dir ${config.master.data_dir}`);

      let worker: ChildProcess | null = null;
      let workerDied = false;
      if (f.worker) {
        const token = generateToken();
        await master.ctx.db.tx(async (q) => {
          await deleteWorkerToken(q, 'local');
          await insertWorkerToken(q, 'local', hashToken(token));
        });
        worker = spawn(process.execPath, [KILN_BIN, 'worker', '--master', master.url, '--name', 'local', '-q', '--hide', master.ctx.paths.dataDir], {
          stdio: ['ignore', 'inherit', 'inherit'],
          // The local worker builds for every ecosystem this master runs.
          env: {
            ...process.env,
            KILN_WORKER_TOKEN: token,
            KILN_WORKER_ECOSYSTEMS: [...master.ctx.ecosystems.keys()].join(','),
            KILN_WORKER_DEBIAN_SECTIONS: Object.keys(config.debian.sections).join(','),
          },
        });
        worker.on('exit', (code, sig) => {
          if (stopping) return;
          // Without its worker the farm builds nothing: say so and stop rather than wait forever.
          process.stderr.write(`kiln up: the local worker exited unexpectedly (${sig ?? `exit ${code}`}); stopping\n`);
          workerDied = true;
          process.kill(process.pid, 'SIGTERM');
        });
      }
      let done = 0;
      master.ctx.events.on('finished', (e) => {
        done++;
        void master.ctx.db
          .query<{ package: string; version: string; target: string; duration_ms: number; failure_reason: string | null; queued: number }>(
            `SELECT pk.display_name AS package, v.version, b.target, b.duration_ms, b.failure_reason,
                    (SELECT count(*) FROM pending)::int AS queued
             FROM builds b JOIN versions v ON v.id = b.version_id JOIN packages pk ON pk.id = v.package_id WHERE b.id = $1`,
            [e.buildId],
          )
          .then(([r]) => {
            if (!r) return;
            say(`[${done} done, ${r.queued} queued] ${r.package} ${r.version} on ${r.target}: ${e.status} in ${((r.duration_ms ?? 0) / 1000).toFixed(1)} s${r.failure_reason ? ` (${r.failure_reason})` : ''}`);
          })
          .catch(() => undefined); // the database may be closing under a late finish
      });

      let stopping = false;
      const shutdown = async (code: number) => {
        stopping = true;
        worker?.kill('SIGTERM');
        await master.close();
        process.exitCode = code;
      };
      if (f.exitWhenIdle) {
        await master.syncNow();
        let idleChecks = 0;
        const stopOnSignal = untilSignal().then(() => 'signal' as const);
        for (;;) {
          const r = await Promise.race([new Promise((res) => setTimeout(res, 1000)).then(() => 'tick' as const), stopOnSignal]);
          if (r === 'signal') break;
          idleChecks = (await isIdle(master)) ? idleChecks + 1 : 0;
          // Two idle checks in a row: a hello's reschedule can briefly look idle.
          if (idleChecks >= 3) {
            await master.publisher.flush();
            say(`idle: ${done} builds finished. Site: ${master.ctx.paths.outputPath}/index.html`);
            break;
          }
        }
        await shutdown(workerDied ? 1 : 0);
        return;
      }
      await untilSignal();
      await shutdown(workerDied ? 1 : 0);
    });
}
