/**
 * Worker protocol v1 (docs/protocol.md): hello, claim (long poll),
 * heartbeat, log chunks, streamed artifact uploads and finish. Every call
 * carries `Authorization: Bearer <worker token>`; the master stores only the
 * token's sha256.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Stream, type Readable } from 'node:stream';
import { once } from 'node:events';
import { insertArtifact, listArtifactsForBuild } from '../../db/queries/artifacts.ts';
import { addLogSize, claimBuild, extendLease, finishBuild, getBuild, releaseClaim, type BuildRow } from '../../db/queries/builds.ts';
import { getPackageById } from '../../db/queries/packages.ts';
import { getSetting } from '../../db/queries/settings.ts';
import { getTarget, upsertTargets } from '../../db/queries/targets.ts';
import { queueVersion } from '../../db/queries/pending.ts';
import { getVersionById } from '../../db/queries/versions.ts';
import { getWorkerForToken, touchWorker, upsertWorker, useWorkerToken, type WorkerRow, type WorkerTokenRow } from '../../db/queries/workers.ts';
import {
  claimRequest,
  finishRequest,
  heartbeatRequest,
  helloRequest,
  HEADER_SHA256,
  HEADER_TAGS,
  HEADER_WORKER,
  unsafeFilenameReason,
  type ClaimResponse,
  type HelloResponse,
} from '../../protocol/messages.ts';
import { KILN_VERSION, PROTOCOL_VERSION } from '../../version.ts';
import { receiveUpload } from '../artifact-store.ts';
import { hashToken } from '../auth.ts';
import { appendLogChunk, publishLog } from '../build-logs.ts';
import { ecosystemOf, type MasterContext } from '../context.ts';
import { httpErrors } from '../http-errors.ts';
import type { Publisher } from '../publisher.ts';
import { scheduleVersion, versionInfo } from '../scheduler.ts';
import { parseBody } from './parse-body.ts';

/** Seconds a worker has to acknowledge a claimed build with its first heartbeat. */
export const CLAIM_ACK_S = 15;

/** Largest artifact accepted, bytes (2 GiB). */
export const MAX_ARTIFACT_BYTES = 2 * 1024 ** 3;

/**
 * Worker tokens seen recently, by hash. Every worker request is
 * authenticated; without this each one would also write `last_used_at`.
 * A revoked token stops working within TOKEN_CACHE_MS (or at once on this
 * master, which forgets the cache on revoke).
 */
const TOKEN_CACHE_MS = 10_000;
const tokenCache = new Map<string, { row: WorkerTokenRow; until: number }>();

const lastTouch = new Map<number, number>();
/** Record that a worker is alive, at most every 5 s per worker (it feeds "workers online", not leases). */
async function touch(ctx: MasterContext, workerId: number): Promise<void> {
  const now = Date.now();
  if ((lastTouch.get(workerId) ?? 0) + 5000 > now) return;
  lastTouch.set(workerId, now);
  await touchWorker(ctx.db, workerId);
}

/** Forget cached tokens (after a revoke). */
export function forgetWorkerTokens(): void {
  tokenCache.clear();
  workerCache.clear();
}

async function tokenOf(ctx: MasterContext, req: FastifyRequest): Promise<WorkerTokenRow> {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (!m) throw httpErrors.unauthorized();
  const hash = hashToken(m[1]!);
  const hit = tokenCache.get(hash);
  if (hit && hit.until > Date.now()) return hit.row;
  const row = await useWorkerToken(ctx.db, hash);
  if (!row) {
    tokenCache.delete(hash);
    throw httpErrors.unauthorized();
  }
  tokenCache.set(hash, { row, until: Date.now() + TOKEN_CACHE_MS });
  return row;
}

/** Worker rows by `id:tokenId`, for TOKEN_CACHE_MS; a hello replaces its worker's entry. */
const workerCache = new Map<string, { row: WorkerRow; until: number }>();

async function workerOf(ctx: MasterContext, req: FastifyRequest, workerId: number): Promise<WorkerRow> {
  const token = await tokenOf(ctx, req);
  const key = `${workerId}:${token.id}`;
  const hit = workerCache.get(key);
  if (hit && hit.until > Date.now()) return hit.row;
  const worker = await getWorkerForToken(ctx.db, workerId, token.id);
  if (!worker) throw httpErrors.unknownWorker();
  workerCache.set(key, { row: worker, until: Date.now() + TOKEN_CACHE_MS });
  return worker;
}

function buildIdOf(req: FastifyRequest): number {
  const id = Number((req.params as { id: string }).id);
  if (!Number.isSafeInteger(id) || id <= 0) throw httpErrors.badRequest('build id must be a positive integer');
  return id;
}

function workerIdHeader(req: FastifyRequest): number {
  const id = Number(req.headers[HEADER_WORKER]);
  if (!Number.isSafeInteger(id) || id <= 0) throw httpErrors.badRequest(`${HEADER_WORKER} header must be the worker id`);
  return id;
}

/** The running build `id` if this worker still holds its lease. @throws 409 lease_lost otherwise. */
async function heldBuild(ctx: MasterContext, id: number, worker: WorkerRow): Promise<BuildRow> {
  const b = await getBuild(ctx.db, id);
  if (!b) throw httpErrors.notFound(`build ${id}`);
  if (b.worker_id !== worker.id || b.status !== 'running' || !b.lease_expires || b.lease_expires <= new Date()) {
    throw httpErrors.leaseLost(id);
  }
  return b;
}

/** The package, version and target a build is about, with the ecosystem's view of them. */
async function subjectOf(ctx: MasterContext, b: Pick<BuildRow, 'version_id' | 'target'>) {
  const v = (await getVersionById(ctx.db, b.version_id))!;
  const pkg = (await getPackageById(ctx.db, v.package_id))!;
  const t = (await getTarget(ctx.db, b.target))!;
  return { pkg, eco: ecosystemOf(ctx, pkg.ecosystem), info: versionInfo(pkg, v), target: { name: t.name, facts: t.facts } };
}

/**
 * End a running build on the master's own authority (timeout, a job it
 * cannot prepare): record it as failed with `reason`, close its log and
 * republish its package. A no-op if the build is no longer running.
 */
async function endByMaster(ctx: MasterContext, publisher: Publisher, buildId: number, reason: string): Promise<void> {
  const rows = await ctx.db.query<{ version_id: number; started_at: Date }>(
    `UPDATE builds SET status = 'failed', failure_reason = $2, finished_at = now(), lease_expires = NULL,
       duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int
     WHERE id = $1 AND status = 'running' RETURNING version_id, started_at`,
    [buildId, reason],
  );
  if (!rows[0]) return;
  await publishLog(ctx.paths, buildId, reason);
  const v = await getVersionById(ctx.db, rows[0].version_id);
  if (v) publisher.package(v.package_id);
}

/** Register the worker routes on `app` under `/api/v1`. */
export function registerWorkerRoutes(app: FastifyInstance, ctx: MasterContext, publisher: Publisher, onNewTargets: (ecosystems: string[]) => void): void {
  const log = ctx.log.child({ module: 'api' });
  const heartbeatS = Math.max(1, Math.floor(ctx.config.lease_s / 4));

  app.post('/api/v1/hello', async (req): Promise<HelloResponse> => {
    const token = await tokenOf(ctx, req);
    const hello = parseBody(helloRequest, req.body);
    if (hello.protocol !== PROTOCOL_VERSION) {
      return { accepted: false, reason: `protocol version ${hello.protocol} is not supported: this master (Kiln ${KILN_VERSION}) speaks version ${PROTOCOL_VERSION}; install a matching Kiln on the worker` };
    }
    const known = hello.targets.filter((t) => ctx.ecosystems.has(t.ecosystem));
    if (known.length === 0) {
      const offered = [...new Set(hello.targets.map((t) => t.ecosystem))].join(', ') || 'none';
      return { accepted: false, reason: `none of the worker's targets belongs to an ecosystem this master runs (worker offers: ${offered}; master runs: ${[...ctx.ecosystems.keys()].join(', ')})` };
    }
    const fresh = await upsertTargets(ctx.db, known);
    const worker = await upsertWorker(ctx.db, {
      tokenId: token.id,
      name: hello.name,
      kilnVersion: hello.kilnVersion,
      facts: hello.facts,
      targets: known.map((t) => t.name),
      labels: hello.labels,
    });
    workerCache.set(`${worker.id}:${token.id}`, { row: worker, until: Date.now() + TOKEN_CACHE_MS });
    log.info({ worker: worker.name, targets: worker.targets }, 'worker connected');
    if (fresh.length) onNewTargets([...new Set(known.filter((t) => fresh.includes(t.name)).map((t) => t.ecosystem))]);
    publisher.home();
    return { accepted: true, workerId: worker.id, leaseS: ctx.config.lease_s, heartbeatS, claimWaitS: ctx.config.claim_wait_s, masterVersion: KILN_VERSION };
  });

  app.post('/api/v1/claim', async (req, reply): Promise<ClaimResponse> => {
    const body = parseBody(claimRequest, req.body);
    const worker = await workerOf(ctx, req, body.workerId);
    const waitMs = Math.min(body.waitS ?? ctx.config.claim_wait_s, ctx.config.claim_wait_s) * 1000;
    const deadline = Date.now() + waitMs;
    let gone = false;
    const hangup = new AbortController();
    // The response closing before we answer means the worker hung up.
    reply.raw.once('close', () => {
      gone = true;
      hangup.abort();
    });
    for (;;) {
      if (gone) return { job: null };
      await touch(ctx, worker.id);
      if (!(await getSetting(ctx.db, 'paused', false))) {
        // Until the worker's first heartbeat acknowledges it, a claim holds only a short lease: a job
        // lost in transit (the worker hung up as it was sent) goes back to the queue within seconds.
        const b = await claimBuild(ctx.db, worker.id, worker.targets, Math.min(ctx.config.lease_s, CLAIM_ACK_S));
        if (b) {
          if (gone) {
            // The worker hung up while we were claiming: give the build back at once.
            await ctx.db.tx((q) => releaseClaim(q, b.id));
            ctx.events.emit('queued');
            return { job: null };
          }
          const { pkg, eco, info, target } = await subjectOf(ctx, b);
          let spec: Record<string, unknown>;
          try {
            spec = eco.jobSpec(info, target);
          } catch (err) {
            // A job the master cannot describe would fail the same way on every claim:
            // record it as a failed build (kiln rebuild retries it) instead of looping.
            await endByMaster(ctx, publisher, b.id, `the master could not prepare the job: ${(err as Error).message}`);
            continue;
          }
          log.info({ build: b.id, package: b.package, version: b.version, target: b.target, worker: worker.name }, 'build claimed');
          publisher.package(pkg.id);
          return {
            job: { buildId: b.id, ecosystem: b.ecosystem, package: b.package, displayName: b.display_name, version: b.version, target: b.target, timeoutS: ctx.config.build_timeout_s, spec },
          };
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || gone) return { job: null };
      // Sleep until new work is queued, with polling as the backstop (another master may have queued it).
      const signal = AbortSignal.any([AbortSignal.timeout(Math.min(left, 1000)), hangup.signal]);
      await once(ctx.events, 'queued', { signal }).catch(() => undefined);
    }
  });

  app.post('/api/v1/builds/:id/heartbeat', async (req) => {
    const id = buildIdOf(req);
    const body = parseBody(heartbeatRequest, req.body);
    const worker = await workerOf(ctx, req, body.workerId);
    await touch(ctx, worker.id);
    const b = await extendLease(ctx.db, id, worker.id, ctx.config.lease_s);
    if (!b) {
      if (!(await getBuild(ctx.db, id))) throw httpErrors.notFound(`build ${id}`);
      throw httpErrors.leaseLost(id);
    }
    // The master enforces the build timeout too, so a worker that keeps heartbeating cannot hold a build
    // forever. It ends as failed (not cancelled), so it is not queued again until kiln rebuild.
    const limitS = ctx.config.build_timeout_s + ctx.config.lease_s;
    if (Date.now() - b.started_at.getTime() > limitS * 1000) {
      await endByMaster(ctx, publisher, id, `timed out: still running after ${limitS} s (build timeout plus one lease), ended by the master`);
      return { cancel: true, leaseExpires: new Date().toISOString() };
    }
    return { cancel: b.cancel_requested, leaseExpires: b.lease_expires!.toISOString() };
  });

  app.post('/api/v1/builds/:id/log', async (req) => {
    const id = buildIdOf(req);
    const worker = await workerOf(ctx, req, workerIdHeader(req));
    await heldBuild(ctx, id, worker);
    const offset = Number((req.query as Record<string, string>).offset ?? 'NaN');
    if (!Number.isSafeInteger(offset) || offset < 0) throw httpErrors.badRequest('offset query parameter must be a byte offset');
    if (!Buffer.isBuffer(req.body)) throw httpErrors.unsupportedMedia('log chunks must be sent as text/plain');
    const r = await appendLogChunk(ctx.paths, id, offset, req.body);
    if (r.added < 0) throw httpErrors.logGap(offset, r.size);
    if (r.added > 0) await addLogSize(ctx.db, id, r.added);
    return { stored: r.size };
  });

  app.put('/api/v1/builds/:id/artifacts/:filename', async (req) => {
    const id = buildIdOf(req);
    const filename = (req.params as { filename: string }).filename;
    const why = unsafeFilenameReason(filename);
    if (why) throw httpErrors.unsafeFilename(filename, why);
    const worker = await workerOf(ctx, req, workerIdHeader(req));
    const build = await heldBuild(ctx, id, worker);
    const sha256 = String(req.headers[HEADER_SHA256] ?? '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw httpErrors.badRequest(`${HEADER_SHA256} header must be a hex sha256`);
    const size = Number(req.headers['content-length']);
    if (!Number.isSafeInteger(size) || size < 0) throw httpErrors.badRequest('content-length is required');
    let tags: Record<string, unknown> = {};
    if (req.headers[HEADER_TAGS]) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(String(req.headers[HEADER_TAGS]), 'base64url').toString('utf8'));
      } catch {
        parsed = null;
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw httpErrors.badRequest(`${HEADER_TAGS} must be a base64url JSON object`);
      tags = parsed as Record<string, unknown>;
    }
    const { eco, info, target } = await subjectOf(ctx, build);
    const nameError = eco.checkArtifactName(filename, info, target);
    if (nameError) throw httpErrors.badArtifactName(nameError);
    if (!(req.body instanceof Stream)) throw httpErrors.unsupportedMedia('artifacts must be sent as application/octet-stream');
    // The lease may run out while the bytes stream in: re-check before the file enters the store.
    const stored = await receiveUpload(req.body as Readable, { sha256, size }, ctx.paths, MAX_ARTIFACT_BYTES, () => heldBuild(ctx, id, worker).then(() => undefined));
    await heldBuild(ctx, id, worker);
    await insertArtifact(ctx.db, { buildId: id, filename, size: stored.size, sha256: stored.sha256, tags });
    log.debug({ build: id, filename, size }, 'artifact stored');
    return { filename, sha256: stored.sha256, size: stored.size };
  });

  app.post('/api/v1/builds/:id/finish', async (req) => {
    const id = buildIdOf(req);
    const body = parseBody(finishRequest, req.body);
    const worker = await workerOf(ctx, req, body.workerId);
    const prior = await getBuild(ctx.db, id);
    // A retried finish whose first answer was lost: the result is already recorded.
    if (prior && prior.worker_id === worker.id && prior.status === body.status && prior.finished_at) return { accepted: true };
    await heldBuild(ctx, id, worker);
    let extra: number[] = [];
    if (body.status === 'passed') {
      const have = await listArtifactsForBuild(ctx.db, id);
      for (const a of body.artifacts) {
        if (!have.some((h) => h.filename === a.filename && h.sha256 === a.sha256 && h.size === a.size)) throw httpErrors.missingArtifact(a.filename);
      }
      // Only what the worker vouches for at finish is published.
      const listed = new Set(body.artifacts.map((a) => a.filename));
      extra = have.filter((h) => !listed.has(h.filename)).map((h) => h.id);
    }
    ctx.finishing++;
    try {
      // One transaction: a lease that ran out meanwhile changes nothing at all.
      const versionOf = (await getVersionById(ctx.db, prior!.version_id))!;
      const pkgOf = (await getPackageById(ctx.db, versionOf.package_id))!;
      const done = await ctx.db.tx(async (q) => {
        const row = await finishBuild(q, id, worker.id, { status: body.status, durationMs: body.durationMs, failureReason: body.failureReason });
        if (row && extra.length) await q.query('DELETE FROM artifacts WHERE id = ANY($1::bigint[])', [extra]);
        return row;
      });
      if (!done) throw httpErrors.leaseLost(id);
      // A cancelled build (worker fault, operator cancel) was no attempt: owe it again unless it is now skipped.
      if (done.status === 'cancelled' && (await queueVersion(ctx.db, done.version_id, [done.target])) > 0) ctx.events.emit('queued');
      // A passed build's artifacts may serve other targets too (a py3-none-any wheel): reschedule the version.
      if (done.status === 'passed' && ctx.ecosystems.get(pkgOf.ecosystem)?.serves) {
        await ctx.db.tx((q) => scheduleVersion(ctx, q, pkgOf, versionOf));
      }
      await publishLog(ctx.paths, id);
      const pkgId = (await getVersionById(ctx.db, done.version_id))!.package_id;
      log.info({ build: id, status: body.status, durationMs: body.durationMs, worker: worker.name }, 'build finished');
      ctx.events.emit('finished', { buildId: id, packageId: pkgId, status: body.status });
      publisher.package(pkgId);
      return { accepted: true };
    } finally {
      ctx.finishing--;
    }
  });
}
