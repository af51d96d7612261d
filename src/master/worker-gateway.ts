/**
 * The master's side of foreign worker protocols (piwheels' piw-slave): a
 * WorkerGateway over the same WorkerService Kiln's HTTP API uses, so a
 * foreign worker's results get exactly the same lease, name, size and
 * sha256 checks.
 *
 * Foreign workers carry no Kiln token. Each gateway registers its workers
 * under one token row of its own (for example `piw-slave`), created with a
 * hash nobody holds, so it can never be used over HTTP. Revoking it (`kiln
 * worker-token revoke piw-slave`) shuts the gateway's new workers out.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { WorkerRow } from '../db/queries/workers.ts';
import type { ForeignJob, ForeignResult, ForeignWorker, Json, WorkerGateway } from '../ecosystems/types.ts';
import { HttpError } from '../errors.ts';
import { hashToken } from './auth.ts';
import type { WorkerService } from './worker-service.ts';

/** The gateway's token row, created on first use. @returns its id and whether it is revoked. */
async function gatewayToken(service: WorkerService, name: string): Promise<{ id: number; revoked: boolean }> {
  const { db } = service.ctx;
  await db.query('INSERT INTO worker_tokens (name, token_hash) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
    name,
    hashToken(`unusable:${randomBytes(32).toString('hex')}`),
  ]);
  const rows = await db.query<{ id: number; revoked_at: Date | null }>('SELECT id, revoked_at FROM worker_tokens WHERE name = $1', [name]);
  return { id: rows[0]!.id, revoked: rows[0]!.revoked_at !== null };
}

/** Wrap a registered worker row as the ForeignWorker an ecosystem sees. */
function foreignWorker(service: WorkerService, row: WorkerRow): ForeignWorker {
  return {
    id: row.id,
    name: row.name,
    touch: () => service.touch(row.id),
    paused: () => service.paused(),
    async claim(holdS?: number): Promise<ForeignJob | null> {
      await service.touch(row.id);
      const job = await service.claimOnce(row, holdS);
      return job && { buildId: job.buildId, package: job.package, version: job.version, target: job.target };
    },
    async release(buildId: number): Promise<void> {
      await service.held(buildId, row);
      await service.release(buildId);
    },
    async renew(buildId: number): Promise<boolean> {
      try {
        return !(await service.renew(buildId, row)).cancel;
      } catch (err) {
        if (err instanceof HttpError && (err.code === 'lease_lost' || err.status === 404)) return false;
        throw err;
      }
    },
    async appendLog(buildId: number, text: string): Promise<void> {
      const b = await service.held(buildId, row);
      await service.appendLog(buildId, row, Number(b.log_size), Buffer.from(text, 'utf8'));
    },
    storeArtifact: (buildId: number, filename: string, body: Readable, expected: { sha256: string; size: number }, tags: Json) =>
      service.storeArtifact(buildId, row, filename, body, expected, tags),
    finish: (buildId: number, r: ForeignResult) => service.finish(buildId, row, { ...r, workerId: row.id }),
  };
}

/**
 * A gateway whose workers register under the token row `tokenName`, which
 * also names the gateway's log lines (`piw-slave`).
 */
export function createWorkerGateway(service: WorkerService, tokenName: string): WorkerGateway {
  return {
    log: service.ctx.log.child({ module: tokenName }),
    incomingDir: service.ctx.paths.incomingDir,
    async register(w) {
      const token = await gatewayToken(service, tokenName);
      if (token.revoked) return `the worker token ${tokenName} is revoked, so ${tokenName} workers are refused`;
      const row = await service.register(token.id, { name: w.name, kilnVersion: w.software, facts: w.facts, targets: w.targets, labels: w.labels });
      return typeof row === 'string' ? row : foreignWorker(service, row);
    },
  };
}
