/**
 * The piuparts master protocol's backend over Kiln's database: a
 * piuparts-slave is a foreign worker registered through a WorkerGateway
 * (token row `piuparts-slave`), so its reservations are builds held for
 * `reserved-days` and its results go through the same finish as a Kiln
 * worker's, into the same builds table.
 */
import type { Db } from '../../db/connect.ts';
import type { ForeignWorker, WorkerGateway } from '../types.ts';
import type { PiupartsBackend, PiupartsBackendFactory, SubmissionKind } from './piuparts-master/backend.ts';
import type { DebianService } from './section-service.ts';
import { ACTIVE_STATES } from './state-names.ts';
import { firstErrorLine } from './worker-classify.ts';

const STATUS: Record<SubmissionKind, 'passed' | 'failed' | 'untestable'> = { pass: 'passed', fail: 'failed', untestable: 'untestable' };

/**
 * Test time from a piuparts-slave log's `Start:` and `End:` lines
 * (`%Y-%m-%d %H:%M:%S UTC`), ms; 0 when either is missing.
 */
export function logDurationMs(log: string): number {
  const at = (label: string) => {
    const m = new RegExp(`^${label}: (\\d{4}-\\d\\d-\\d\\d) (\\d\\d:\\d\\d:\\d\\d)`, 'm').exec(log);
    return m ? Date.parse(`${m[1]}T${m[2]}Z`) : NaN;
  };
  const ms = at('End') - at('Start');
  return Number.isFinite(ms) && ms >= 0 ? ms : 0;
}

/**
 * The one-line reason shown for a failed or untestable result a
 * piuparts-slave sent, worded as for a Kiln worker's (worker-classify.ts):
 * the slave's `ret=` and piuparts' first `ERROR:` line.
 */
export function logFailureReason(kind: SubmissionKind, log: string): string | null {
  if (kind === 'pass') return null;
  const ret = /^ret=(-?\d+)/m.exec(log)?.[1];
  const error = firstErrorLine(log);
  const what = kind === 'untestable' ? 'untestable (reported by a piuparts-slave)' : 'piuparts failed';
  return `${what}${ret ? ` (ret=${ret})` : ''}${error ? `: ${error.slice(0, 500)}` : ''}`;
}

/** Make the factory the socket server calls once per piuparts-slave connection. */
export function piupartsBackendFactory(service: DebianService, gateway: WorkerGateway, db: Db): PiupartsBackendFactory {
  return (slave: string) => piupartsBackend(service, gateway, db, slave);
}

function piupartsBackend(service: DebianService, gateway: WorkerGateway, db: Db, slave: string): PiupartsBackend {
  const workers = new Map<string, ForeignWorker>();
  const log = gateway.log.child({ slave });

  /** The slave as a worker of one section (registered on first use in this connection). */
  async function workerFor(section: string): Promise<ForeignWorker> {
    const have = workers.get(section);
    if (have) return have;
    const arch = service.section(section)!.arch;
    const w = await gateway.register({
      name: slave,
      facts: { arch, protocol: 'piuparts' },
      targets: [{ name: section, ecosystem: 'debian', facts: { arch } }],
      labels: ['piuparts-slave'],
      software: 'piuparts-slave',
    });
    if (typeof w === 'string') throw new Error(w);
    workers.set(section, w);
    return w;
  }

  async function versionId(name: string, version: string): Promise<number | undefined> {
    const rows = await db.query<{ id: number }>(
      `SELECT v.id FROM versions v JOIN packages p ON p.id = v.package_id WHERE p.ecosystem = 'debian' AND p.name = $1 AND v.version = $2`,
      [name, version],
    );
    return rows[0]?.id;
  }

  /** The running build of (version, section) this slave holds, if any. */
  async function heldBuild(workerId: number, vid: number, section: string): Promise<number | undefined> {
    const rows = await db.query<{ id: number }>(
      `SELECT id::int AS id FROM builds WHERE version_id = $1 AND target = $2 AND status = 'running' AND worker_id = $3 AND lease_expires > now()`,
      [vid, section, workerId],
    );
    return rows[0]?.id;
  }

  /**
   * A running build for a result nobody reserved here (a reservation that
   * expired, a slave restarted): claimed on the spot for a minute, unless
   * someone else is testing it right now.
   */
  async function claimForResult(workerId: number, vid: number, section: string): Promise<number | undefined> {
    return db.tx(async (q) => {
      const busy = await q.query<{ id: number; worker_id: number | null }>(
        'SELECT id::int AS id, worker_id FROM builds WHERE version_id = $1 AND target = $2 AND status = $3',
        [vid, section, 'running'],
      );
      if (busy[0]?.worker_id === workerId) {
        // The slave's own reservation, whose lease lapsed before the sweep saw it: it still counts.
        await q.query(`UPDATE builds SET lease_expires = now() + interval '60 seconds' WHERE id = $1`, [busy[0].id]);
        return busy[0].id;
      }
      if (busy.length) return undefined;
      await q.query('DELETE FROM pending WHERE version_id = $1 AND target = $2', [vid, section]);
      const rows = await q.query<{ id: number }>(
        `INSERT INTO builds (version_id, target, status, worker_id, lease_expires) VALUES ($1, $2, 'running', $3, now() + interval '60 seconds') RETURNING id::int AS id`,
        [vid, section, workerId],
      );
      return rows[0]!.id;
    });
  }

  return {
    hasSection: (section) => service.section(section) !== undefined,

    async canRecycle(section) {
      const snap = service.snapshot(section);
      if (!snap) return false;
      for (const r of snap.results.values()) if (r.ended?.mark === 'retest' && !r.running) return true;
      return false;
    },

    async idleSeconds(section) {
      return service.idleSeconds(section);
    },

    async reserve(section) {
      const w = await workerFor(section);
      const job = await w.claim(service.section(section)!.reservedDays * 86_400);
      if (!job) {
        service.markIdle(section);
        return null;
      }
      service.clearIdle(section);
      log.info({ section, package: job.package, version: job.version, build: job.buildId }, 'reserved for a piuparts-slave');
      return { name: job.package, version: job.version };
    },

    async unreserve(section, name, version) {
      const w = await workerFor(section);
      const vid = await versionId(name, version);
      const id = vid === undefined ? undefined : await heldBuild(w.id, vid, section);
      if (id !== undefined) {
        await w.release(id);
        // As piuparts' idle stamp goes stale when its reserved/ directory changes.
        service.clearIdle(section);
      }
    },

    async submit(section, kind, name, version, text) {
      const w = await workerFor(section);
      const vid = await versionId(name, version);
      if (vid === undefined) {
        // piuparts-master files such a log anyway; Kiln has no version row to hang it on.
        log.warn({ section, package: name, version, kind }, 'result for a package version Kiln does not know; not recorded');
        return;
      }
      const status = STATUS[kind];
      let id = await heldBuild(w.id, vid, section);
      if (id === undefined) {
        const same = await db.query(
          `SELECT 1 FROM builds WHERE version_id = $1 AND target = $2 AND worker_id = $3 AND status = $4
           AND id = (SELECT max(id) FROM builds WHERE version_id = $1 AND target = $2 AND status IN ('passed', 'failed', 'untestable'))`,
          [vid, section, w.id, status],
        );
        if (same.length) return; // a duplicate submission: already recorded
        id = await claimForResult(w.id, vid, section);
        if (id === undefined) {
          log.warn({ section, package: name, version, kind }, 'result for a package another worker is testing right now; not recorded');
          return;
        }
      }
      if (text) await w.appendLog(id, text);
      await w.finish(id, { status, durationMs: logDurationMs(text), failureReason: logFailureReason(kind, text), artifacts: [] });
      log.info({ section, package: name, version, kind, build: id }, 'piuparts-slave result recorded');
    },

    async status(section) {
      const snap = service.snapshot(section);
      return ACTIVE_STATES.map((s) => [s, snap ? snap.states.inState(s).length : 0] as [string, number]);
    },
  };
}
