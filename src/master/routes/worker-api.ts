/**
 * Worker protocol v1 (docs/protocol.md): hello, claim (long poll),
 * heartbeat, log chunks, streamed artifact uploads and finish. Every call
 * carries `Authorization: Bearer <worker token>`; the master stores only the
 * token's sha256. The checks and bookkeeping live in WorkerService; this
 * file is the HTTP side: authentication, parsing and the long poll.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Stream, type Readable } from 'node:stream';
import { once } from 'node:events';
import { getWorkerForToken, useWorkerToken, type WorkerRow, type WorkerTokenRow } from '../../db/queries/workers.ts';
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
import { hashToken } from '../auth.ts';
import type { MasterContext } from '../context.ts';
import { httpErrors } from '../http-errors.ts';
import type { WorkerService } from '../worker-service.ts';
import { parseBody } from './parse-body.ts';

/**
 * Worker tokens seen recently, by hash. Every worker request is
 * authenticated; without this each one would also write `last_used_at`.
 * A revoked token stops working within TOKEN_CACHE_MS (or at once on this
 * master, which forgets the cache on revoke).
 */
const TOKEN_CACHE_MS = 10_000;
const tokenCache = new Map<string, { row: WorkerTokenRow; until: number }>();

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

/** Register the worker routes on `app` under `/api/v1`. */
export function registerWorkerRoutes(app: FastifyInstance, service: WorkerService): void {
  const { ctx } = service;
  const heartbeatS = Math.max(1, Math.floor(ctx.config.lease_s / 4));

  app.post('/api/v1/hello', async (req): Promise<HelloResponse> => {
    const token = await tokenOf(ctx, req);
    const hello = parseBody(helloRequest, req.body);
    if (hello.protocol !== PROTOCOL_VERSION) {
      return { accepted: false, reason: `protocol version ${hello.protocol} is not supported: this master (Kiln ${KILN_VERSION}) speaks version ${PROTOCOL_VERSION}; install a matching Kiln on the worker` };
    }
    const worker = await service.register(token.id, hello);
    if (typeof worker === 'string') return { accepted: false, reason: worker };
    workerCache.set(`${worker.id}:${token.id}`, { row: worker, until: Date.now() + TOKEN_CACHE_MS });
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
      await service.touch(worker.id);
      const job = await service.claimOnce(worker);
      if (job) {
        if (!gone) return { job };
        // The worker hung up while we were claiming: give the build back at once.
        await service.release(job.buildId);
        return { job: null };
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
    const r = await service.renew(id, worker);
    return { cancel: r.cancel, leaseExpires: r.leaseExpires.toISOString() };
  });

  app.post('/api/v1/builds/:id/log', async (req) => {
    const id = buildIdOf(req);
    const worker = await workerOf(ctx, req, workerIdHeader(req));
    await service.held(id, worker);
    const offset = Number((req.query as Record<string, string>).offset ?? 'NaN');
    if (!Number.isSafeInteger(offset) || offset < 0) throw httpErrors.badRequest('offset query parameter must be a byte offset');
    if (!Buffer.isBuffer(req.body)) throw httpErrors.unsupportedMedia('log chunks must be sent as text/plain');
    return { stored: await service.appendLog(id, worker, offset, req.body) };
  });

  app.put('/api/v1/builds/:id/artifacts/:filename', async (req) => {
    const id = buildIdOf(req);
    const filename = (req.params as { filename: string }).filename;
    const why = unsafeFilenameReason(filename);
    if (why) throw httpErrors.unsafeFilename(filename, why);
    const worker = await workerOf(ctx, req, workerIdHeader(req));
    await service.held(id, worker);
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
    if (!(req.body instanceof Stream)) throw httpErrors.unsupportedMedia('artifacts must be sent as application/octet-stream');
    const stored = await service.storeArtifact(id, worker, filename, req.body as Readable, { sha256, size }, tags);
    return { filename, sha256: stored.sha256, size: stored.size };
  });

  app.post('/api/v1/builds/:id/finish', async (req) => {
    const id = buildIdOf(req);
    const body = parseBody(finishRequest, req.body);
    const worker = await workerOf(ctx, req, body.workerId);
    await service.finish(id, worker, body);
    return { accepted: true };
  });
}
