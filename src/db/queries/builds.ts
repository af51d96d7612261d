import type { Queryable } from '../connect.ts';

/** Build states (DESIGN.md): running → passed / failed / untestable, or cancelled; expired when its lease ran out. */
export type BuildStatus = 'running' | 'passed' | 'failed' | 'untestable' | 'cancelled' | 'expired';

/** A row of `builds`. */
export interface BuildRow {
  id: number;
  version_id: number;
  target: string;
  status: BuildStatus;
  worker_id: number | null;
  lease_expires: Date | null;
  cancel_requested: boolean;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  failure_reason: string | null;
  log_size: number;
}

/** A claimed build with what the worker needs to know. */
export interface ClaimedBuild extends BuildRow {
  package: string;
  display_name: string;
  ecosystem: string;
  version: string;
}

/**
 * Claim the first queued build among `targets` in one statement: highest
 * priority first (Debian's blocking order; 0 elsewhere), then newest. Each
 * target's queue is probed through its index (`LIMIT 1 FOR UPDATE SKIP
 * LOCKED`, so concurrent claims never collide or wait), the newest of those
 * candidates is deleted from the queue and becomes a running build with a
 * lease. A plain `target = ANY(...)` scan would sort the whole queue on every
 * claim: 400 ms at 2M versions against about 2 ms (npm run bench).
 * @param leaseS lease length, seconds.
 * @returns the build, or undefined when nothing is queued for these targets.
 */
export async function claimBuild(
  q: Queryable,
  workerId: number,
  targets: string[],
  leaseS: number,
): Promise<ClaimedBuild | undefined> {
  const rows = await q.query<ClaimedBuild>(
    `WITH next AS (
       SELECT c.target, c.version_id
       FROM unnest($2::text[]) AS t(name)
       CROSS JOIN LATERAL (
         SELECT target, version_id, released, priority FROM pending
         WHERE target = t.name
           -- A section-wide plan (Debian) may queue a version a claim took meanwhile.
           AND NOT EXISTS (SELECT 1 FROM builds r WHERE r.version_id = pending.version_id AND r.target = pending.target AND r.status = 'running')
         ORDER BY priority DESC, released DESC, version_id DESC
         LIMIT 1
         FOR UPDATE SKIP LOCKED
       ) c
       ORDER BY c.priority DESC, c.released DESC, c.version_id DESC
       LIMIT 1
     ), taken AS (
       DELETE FROM pending p USING next
       WHERE p.target = next.target AND p.version_id = next.version_id
       RETURNING p.target, p.version_id
     ), b AS (
       INSERT INTO builds (version_id, target, status, worker_id, lease_expires)
       SELECT version_id, target, 'running', $1, now() + make_interval(secs => $3)
       FROM taken
       RETURNING *
     )
     SELECT b.*, pk.name AS package, pk.display_name, pk.ecosystem, v.version
     FROM b JOIN versions v ON v.id = b.version_id JOIN packages pk ON pk.id = v.package_id`,
    [workerId, targets, leaseS],
  );
  return rows[0];
}

/** One build by id. */
export async function getBuild(q: Queryable, id: number): Promise<BuildRow | undefined> {
  const rows = await q.query<BuildRow>('SELECT * FROM builds WHERE id = $1', [id]);
  return rows[0];
}

/**
 * Extend the lease of a running build held by this worker.
 * @returns the row (with `cancel_requested`) or undefined when the build is
 *   no longer this worker's running build.
 */
export async function extendLease(q: Queryable, id: number, workerId: number, leaseS: number): Promise<BuildRow | undefined> {
  const rows = await q.query<BuildRow>(
    `UPDATE builds SET lease_expires = now() + make_interval(secs => $3)
     WHERE id = $1 AND worker_id = $2 AND status = 'running' AND lease_expires > now()
     RETURNING *`,
    [id, workerId, leaseS],
  );
  return rows[0];
}

/** Add to the stored log size of a running build. */
export async function addLogSize(q: Queryable, id: number, bytes: number): Promise<void> {
  await q.query('UPDATE builds SET log_size = log_size + $2 WHERE id = $1', [id, bytes]);
}

/**
 * End a running build held by this worker whose lease is still valid. The
 * lease check makes a late result from an expired lease change nothing.
 * @returns the finished row, or undefined when the result was refused.
 */
export async function finishBuild(
  q: Queryable,
  id: number,
  workerId: number,
  r: { status: 'passed' | 'failed' | 'untestable' | 'cancelled'; durationMs: number; failureReason: string | null },
): Promise<BuildRow | undefined> {
  const rows = await q.query<BuildRow>(
    `UPDATE builds SET status = $3, duration_ms = $4, failure_reason = $5, finished_at = now(), lease_expires = NULL
     WHERE id = $1 AND worker_id = $2 AND status = 'running' AND lease_expires > now()
     RETURNING *`,
    [id, workerId, r.status, r.durationMs, r.failureReason],
  );
  return rows[0];
}

/**
 * Expire running builds whose lease ran out and put them back in the queue
 * (unless their version or package has since been skipped).
 * @returns the expired builds.
 */
export async function expireLeases(q: Queryable): Promise<BuildRow[]> {
  const expired = await q.query<BuildRow>(
    `UPDATE builds SET status = 'expired', finished_at = now(), failure_reason = 'lease expired: the worker stopped heartbeating'
     WHERE status = 'running' AND lease_expires <= now()
     RETURNING *`,
  );
  for (const b of expired) {
    await q.query(
      `INSERT INTO pending (target, version_id, released)
       SELECT $2, v.id, v.released FROM versions v JOIN packages p ON p.id = v.package_id
       WHERE v.id = $1 AND v.skip IS NULL AND p.skip IS NULL
       ON CONFLICT DO NOTHING`,
      [b.version_id, b.target],
    );
  }
  return expired;
}

/** Ask the worker of a running build to stop it (answered at its next heartbeat). */
export async function requestCancel(q: Queryable, versionIds: number[]): Promise<number> {
  const rows = await q.query(
    `UPDATE builds SET cancel_requested = true WHERE status = 'running' AND version_id = ANY($1::int[]) RETURNING 1`,
    [versionIds],
  );
  return rows.length;
}

/** Builds of one package's versions, newest first. */
export async function listBuildsForPackage(q: Queryable, packageId: number): Promise<Array<BuildRow & { version: string; worker_name: string | null }>> {
  return q.query(
    `SELECT b.*, v.version, w.name AS worker_name FROM builds b
     JOIN versions v ON v.id = b.version_id LEFT JOIN workers w ON w.id = b.worker_id
     WHERE v.package_id = $1 ORDER BY b.id DESC`,
    [packageId],
  );
}

/** Latest builds for one (version, target), newest first. */
export async function buildsFor(q: Queryable, versionId: number, target: string): Promise<BuildRow[]> {
  return q.query<BuildRow>('SELECT * FROM builds WHERE version_id = $1 AND target = $2 ORDER BY id DESC', [versionId, target]);
}

/**
 * Forget ended builds so the versions can be queued again (`kiln rebuild`,
 * `kiln remove --builds`), optionally only those with one of `statuses`
 * (`kiln rebuild --failed`). Running builds are left alone.
 * @returns ids of the builds deleted.
 */
export async function deleteEndedBuilds(q: Queryable, versionIds: number[], target?: string, statuses?: BuildStatus[]): Promise<number[]> {
  const rows = await q.query<{ id: number }>(
    `DELETE FROM builds WHERE version_id = ANY($1::int[]) AND status <> 'running' AND ($2::text IS NULL OR target = $2)
       AND ($3::text[] IS NULL OR status = ANY($3::text[]))
     RETURNING id`,
    [versionIds, target ?? null, statuses ?? null],
  );
  return rows.map((r) => Number(r.id));
}

/** Running builds with their package, version and worker. */
export async function listRunning(q: Queryable): Promise<Array<{ id: number; package: string; ecosystem: string; version: string; target: string; worker: string | null; started_at: Date; lease_expires: Date }>> {
  return q.query(
    `SELECT b.id, pk.name AS package, pk.ecosystem, v.version, b.target, w.name AS worker, b.started_at, b.lease_expires
     FROM builds b JOIN versions v ON v.id = b.version_id JOIN packages pk ON pk.id = v.package_id
     LEFT JOIN workers w ON w.id = b.worker_id WHERE b.status = 'running' ORDER BY b.id`,
  );
}

/**
 * Undo a claim that never reached its worker (it hung up, or the job could
 * not be described): delete the running build and put the pair back in the
 * queue, as if it had never been claimed.
 */
export async function releaseClaim(q: Queryable, id: number): Promise<void> {
  const rows = await q.query<{ version_id: number; target: string }>(
    `DELETE FROM builds WHERE id = $1 AND status = 'running' RETURNING version_id, target`,
    [id],
  );
  for (const r of rows) {
    await q.query(
      `INSERT INTO pending (target, version_id, released)
       SELECT $2, v.id, v.released FROM versions v JOIN packages p ON p.id = v.package_id
       WHERE v.id = $1 AND v.skip IS NULL AND p.skip IS NULL ON CONFLICT DO NOTHING`,
      [r.version_id, r.target],
    );
  }
}

/**
 * Record a build made elsewhere (`kiln import`): passed, with no worker,
 * started `durationMs` before now.
 * @returns the new row.
 */
export async function insertImportedBuild(q: Queryable, versionId: number, target: string, durationMs: number): Promise<BuildRow> {
  const rows = await q.query<BuildRow>(
    `INSERT INTO builds (version_id, target, status, worker_id, started_at, finished_at, duration_ms)
     VALUES ($1, $2, 'passed', NULL, now() - make_interval(secs => $3::double precision / 1000), now(), $3)
     RETURNING *`,
    [versionId, target, durationMs],
  );
  return rows[0]!;
}
