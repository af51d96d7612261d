/**
 * What a worker may do to the farm, independent of how it talks to the
 * master: register, claim, renew a lease, append to its log, store an
 * artifact, finish. Kiln's HTTP worker API (routes/worker-api.ts) and the
 * gateways for other protocols (piwheels' slave queue) both call these, so
 * every worker's results get the same checks: the lease, the artifact's
 * name, size and sha256, and the finish's artifact list.
 */
import type { Readable } from 'node:stream';
import { insertArtifact, listArtifactsForBuild } from '../db/queries/artifacts.ts';
import { addLogSize, claimBuild, extendLease, finishBuild, getBuild, releaseClaim, type BuildRow } from '../db/queries/builds.ts';
import { getPackageById } from '../db/queries/packages.ts';
import { queueVersion } from '../db/queries/pending.ts';
import { getSetting } from '../db/queries/settings.ts';
import { getTarget, upsertTargets } from '../db/queries/targets.ts';
import { getVersionById } from '../db/queries/versions.ts';
import { touchWorker, upsertWorker, type WorkerRow } from '../db/queries/workers.ts';
import type { Json, TargetDecl } from '../ecosystems/types.ts';
import type { ClaimResponse, FinishRequest } from '../protocol/messages.ts';
import { unsafeFilenameReason } from '../protocol/messages.ts';
import { receiveUpload } from './artifact-store.ts';
import { appendLogChunk, publishLog } from './build-logs.ts';
import { ecosystemOf, type MasterContext } from './context.ts';
import { httpErrors } from './http-errors.ts';
import type { Publisher } from './publisher.ts';
import { nudgePlanners, scheduleVersion, versionInfo } from './scheduler.ts';

/** Seconds a worker has to acknowledge a claimed build with its first heartbeat. */
export const CLAIM_ACK_S = 15;

/** Largest artifact accepted, bytes (2 GiB). */
export const MAX_ARTIFACT_BYTES = 2 * 1024 ** 3;

/** A job as handed to a worker (the `job` of a claim answer). */
export type ClaimedJob = NonNullable<ClaimResponse['job']>;

/** A worker's introduction, whatever protocol it came by. */
export interface WorkerIntroduction {
  name: string;
  kilnVersion: string;
  facts: Json;
  targets: TargetDecl[];
  labels: string[];
}

/** The farm's side of every worker protocol. One per master. */
export class WorkerService {
  private readonly lastTouch = new Map<number, number>();
  private readonly log;

  /**
   * @param onNewTargets called with the ecosystems of targets a hello
   *   declared for the first time (they get rescheduled).
   */
  constructor(
    readonly ctx: MasterContext,
    private readonly publisher: Publisher,
    private readonly onNewTargets: (ecosystems: string[]) => void,
  ) {
    this.log = ctx.log.child({ module: 'api' });
  }

  /**
   * Register (or re-register) a worker under a token.
   * @returns the worker row, or the reason it is refused (none of its targets
   *   belongs to an ecosystem this master runs).
   */
  async register(tokenId: number, w: WorkerIntroduction): Promise<WorkerRow | string> {
    const { ctx } = this;
    const known = w.targets.filter((t) => ctx.ecosystems.has(t.ecosystem));
    if (known.length === 0) {
      const offered = [...new Set(w.targets.map((t) => t.ecosystem))].join(', ') || 'none';
      return `none of the worker's targets belongs to an ecosystem this master runs (worker offers: ${offered}; master runs: ${[...ctx.ecosystems.keys()].join(', ')})`;
    }
    const fresh = await upsertTargets(ctx.db, known);
    const worker = await upsertWorker(ctx.db, {
      tokenId,
      name: w.name,
      kilnVersion: w.kilnVersion,
      facts: w.facts,
      targets: known.map((t) => t.name),
      labels: w.labels,
    });
    this.log.info({ worker: worker.name, targets: worker.targets }, 'worker connected');
    if (fresh.length) this.onNewTargets([...new Set(known.filter((t) => fresh.includes(t.name)).map((t) => t.ecosystem))]);
    this.publisher.home();
    return worker;
  }

  /** Record that a worker is alive, at most every 5 s per worker (it feeds "workers online", not leases). */
  async touch(workerId: number): Promise<void> {
    const now = Date.now();
    if ((this.lastTouch.get(workerId) ?? 0) + 5000 > now) return;
    this.lastTouch.set(workerId, now);
    await touchWorker(this.ctx.db, workerId);
  }

  /** Whether an operator paused the farm (`kiln pause`). */
  paused(): Promise<boolean> {
    return getSetting(this.ctx.db, 'paused', false);
  }

  /**
   * Claim the next build for one of the worker's targets, without waiting.
   * The build holds a short lease ({@link CLAIM_ACK_S}) until the worker's
   * first heartbeat, so a job lost in transit is queued again within seconds.
   * A job the master cannot describe is recorded as failed and the next one
   * is tried.
   * @param holdS instead of the short lease, hold the build this long (s)
   *   without heartbeats (a piuparts-slave's reservation).
   * @returns the job, or null when nothing is queued (or the farm is paused).
   */
  async claimOnce(worker: WorkerRow, holdS?: number): Promise<ClaimedJob | null> {
    const { ctx } = this;
    for (;;) {
      if (await this.paused()) return null;
      const b = await claimBuild(ctx.db, worker.id, worker.targets, holdS ?? Math.min(ctx.config.lease_s, CLAIM_ACK_S));
      if (!b) return null;
      const { pkg, eco, info, target } = await this.subjectOf(b);
      let spec: Json;
      try {
        spec = eco.jobSpec(info, target);
      } catch (err) {
        // A job the master cannot describe would fail the same way on every claim:
        // record it as a failed build (kiln rebuild retries it) instead of looping.
        await this.endByMaster(b.id, `the master could not prepare the job: ${(err as Error).message}`);
        continue;
      }
      this.log.info({ build: b.id, package: b.package, version: b.version, target: b.target, worker: worker.name }, 'build claimed');
      this.publisher.package(pkg.id);
      return { buildId: b.id, ecosystem: b.ecosystem, package: b.package, displayName: b.display_name, version: b.version, target: b.target, timeoutS: ctx.config.build_timeout_s, spec };
    }
  }

  /** Give a just-claimed build back to the queue (its worker hung up before it got the job). */
  async release(buildId: number): Promise<void> {
    await this.ctx.db.tx((q) => releaseClaim(q, buildId));
    this.ctx.events.emit('queued');
    nudgePlanners(this.ctx);
  }

  /**
   * Renew a running build's lease. The master enforces the build timeout
   * here too, so a worker that keeps renewing cannot hold a build forever:
   * past the timeout plus one lease the build ends as failed (not queued
   * again until `kiln rebuild`) and the answer says cancel.
   * @returns whether the worker should stop the build, and the new expiry.
   * @throws HttpError 404 for an unknown build, 409 lease_lost when it is not this worker's.
   */
  async renew(buildId: number, worker: WorkerRow): Promise<{ cancel: boolean; leaseExpires: Date }> {
    const { ctx } = this;
    await this.touch(worker.id);
    const b = await extendLease(ctx.db, buildId, worker.id, ctx.config.lease_s);
    if (!b) {
      if (!(await getBuild(ctx.db, buildId))) throw httpErrors.notFound(`build ${buildId}`);
      throw httpErrors.leaseLost(buildId);
    }
    const limitS = ctx.config.build_timeout_s + ctx.config.lease_s;
    if (Date.now() - b.started_at.getTime() > limitS * 1000) {
      await this.endByMaster(buildId, `timed out: still running after ${limitS} s (build timeout plus one lease), ended by the master`);
      return { cancel: true, leaseExpires: new Date() };
    }
    return { cancel: b.cancel_requested, leaseExpires: b.lease_expires! };
  }

  /** The running build `id` if this worker still holds its lease. @throws HttpError 404, or 409 lease_lost. */
  async held(buildId: number, worker: Pick<WorkerRow, 'id'>): Promise<BuildRow> {
    const b = await getBuild(this.ctx.db, buildId);
    if (!b) throw httpErrors.notFound(`build ${buildId}`);
    if (b.worker_id !== worker.id || b.status !== 'running' || !b.lease_expires || b.lease_expires <= new Date()) {
      throw httpErrors.leaseLost(buildId);
    }
    return b;
  }

  /**
   * Append a chunk at byte `offset` of a held build's log (retries are trimmed, gaps refused).
   * @returns the log's stored size, bytes.
   * @throws HttpError 409 lease_lost or log_gap.
   */
  async appendLog(buildId: number, worker: WorkerRow, offset: number, chunk: Buffer): Promise<number> {
    await this.held(buildId, worker);
    const r = await appendLogChunk(this.ctx.paths, buildId, offset, chunk);
    if (r.added < 0) throw httpErrors.logGap(offset, r.size);
    if (r.added > 0) await addLogSize(this.ctx.db, buildId, r.added);
    return r.size;
  }

  /**
   * Receive one artifact of a held build: the file name must be safe and
   * right for the build (the ecosystem's checkArtifactName), and the bytes
   * must match `expected`; only then does the file enter the store and the
   * build's artifact list. Nothing is published until finish.
   * @param expected declared sha256 (lower-case hex) and size, bytes.
   * @throws HttpError 400 unsafe_filename, 422 bad_artifact_name /
   *   checksum_mismatch / size_mismatch, 413 too_large, 409 lease_lost.
   */
  async storeArtifact(
    buildId: number,
    worker: WorkerRow,
    filename: string,
    body: Readable,
    expected: { sha256: string; size: number },
    tags: Json,
  ): Promise<{ sha256: string; size: number }> {
    const why = unsafeFilenameReason(filename);
    if (why) throw httpErrors.unsafeFilename(filename, why);
    const build = await this.held(buildId, worker);
    const { eco, info, target } = await this.subjectOf(build);
    const nameError = eco.checkArtifactName(filename, info, target);
    if (nameError) throw httpErrors.badArtifactName(nameError);
    // The lease may run out while the bytes stream in: re-check before the file enters the store.
    const stored = await receiveUpload(body, expected, this.ctx.paths, MAX_ARTIFACT_BYTES, () => this.held(buildId, worker).then(() => undefined));
    await this.held(buildId, worker);
    await insertArtifact(this.ctx.db, { buildId, filename, size: stored.size, sha256: stored.sha256, tags });
    this.log.debug({ build: buildId, filename, size: stored.size }, 'artifact stored');
    return { sha256: stored.sha256, size: stored.size };
  }

  /**
   * Record how a held build ended. A passed build publishes exactly the
   * artifacts listed (each must have been stored with that size and hash);
   * a cancelled one was no attempt and is queued again. Idempotent: a
   * retried finish whose first answer was lost succeeds again.
   * @throws HttpError 409 lease_lost, 422 missing_artifact.
   */
  async finish(buildId: number, worker: WorkerRow, body: FinishRequest): Promise<void> {
    const { ctx } = this;
    const prior = await getBuild(ctx.db, buildId);
    if (prior && prior.worker_id === worker.id && prior.status === body.status && prior.finished_at) return;
    await this.held(buildId, worker);
    let extra: number[] = [];
    if (body.status === 'passed') {
      const have = await listArtifactsForBuild(ctx.db, buildId);
      for (const a of body.artifacts) {
        if (!have.some((h) => h.filename === a.filename && h.sha256 === a.sha256 && h.size === a.size)) throw httpErrors.missingArtifact(a.filename);
      }
      // Only what the worker vouches for at finish is published.
      const listed = new Set(body.artifacts.map((a) => a.filename));
      extra = have.filter((h) => !listed.has(h.filename)).map((h) => h.id);
    }
    ctx.finishing++;
    try {
      const versionOf = (await getVersionById(ctx.db, prior!.version_id))!;
      const pkgOf = (await getPackageById(ctx.db, versionOf.package_id))!;
      // One transaction: a lease that ran out meanwhile changes nothing at all.
      const done = await ctx.db.tx(async (q) => {
        const row = await finishBuild(q, buildId, worker.id, { status: body.status, durationMs: body.durationMs, failureReason: body.failureReason });
        if (row && extra.length) await q.query('DELETE FROM artifacts WHERE id = ANY($1::bigint[])', [extra]);
        return row;
      });
      if (!done) throw httpErrors.leaseLost(buildId);
      // A cancelled build (worker fault, operator cancel) was no attempt: owe it again unless it is now skipped.
      if (done.status === 'cancelled' && (await queueVersion(ctx.db, done.version_id, [done.target])) > 0) ctx.events.emit('queued');
      if (done.status === 'cancelled') nudgePlanners(ctx);
      // A passed build's artifacts may serve other targets too (a py3-none-any wheel): reschedule the version.
      if (done.status === 'passed' && ctx.ecosystems.get(pkgOf.ecosystem)?.serves) {
        await ctx.db.tx((q) => scheduleVersion(ctx, q, pkgOf, versionOf));
      }
      await publishLog(ctx.paths, buildId);
      this.log.info({ build: buildId, status: body.status, durationMs: body.durationMs, worker: worker.name }, 'build finished');
      ctx.events.emit('finished', { buildId, packageId: pkgOf.id, status: body.status });
      this.publisher.package(pkgOf.id);
    } finally {
      ctx.finishing--;
    }
  }

  /**
   * End a running build on the master's own authority (timeout, a job it
   * cannot prepare): record it as failed with `reason`, close its log and
   * republish its package. A no-op if the build is no longer running.
   */
  async endByMaster(buildId: number, reason: string): Promise<void> {
    const { ctx } = this;
    const rows = await ctx.db.query<{ version_id: number }>(
      `UPDATE builds SET status = 'failed', failure_reason = $2, finished_at = now(), lease_expires = NULL,
         duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int
       WHERE id = $1 AND status = 'running' RETURNING version_id`,
      [buildId, reason],
    );
    if (!rows[0]) return;
    await publishLog(ctx.paths, buildId, reason);
    const v = await getVersionById(ctx.db, rows[0].version_id);
    if (v) this.publisher.package(v.package_id);
  }

  /** The package, version and target a build is about, with the ecosystem's view of them. */
  async subjectOf(b: Pick<BuildRow, 'version_id' | 'target'>) {
    const { ctx } = this;
    const v = (await getVersionById(ctx.db, b.version_id))!;
    const pkg = (await getPackageById(ctx.db, v.package_id))!;
    const t = (await getTarget(ctx.db, b.target))!;
    return { pkg, version: v, eco: ecosystemOf(ctx, pkg.ecosystem), info: versionInfo(pkg, v), target: { name: t.name, facts: t.facts } };
  }
}
