import type { Queryable } from '../connect.ts';

/**
 * The queue. `pending` holds (target, version) pairs still owed; these
 * functions keep it in step with versions, skips and results, so that
 * claiming is an index scan rather than a recomputation (DESIGN.md,
 * "Measured facts").
 */

/** Replace the per-target skip reasons of one version. */
export async function setTargetSkips(q: Queryable, versionId: number, skips: Map<string, string>): Promise<void> {
  await q.query('DELETE FROM target_skips WHERE version_id = $1', [versionId]);
  for (const [target, reason] of skips) {
    await q.query(
      `INSERT INTO target_skips (version_id, target, reason) VALUES ($1, $2, $3)
       ON CONFLICT (version_id, target) DO UPDATE SET reason = excluded.reason`,
      [versionId, target, reason],
    );
  }
}

/**
 * Queue one version for the given targets, except where it is skipped (as a
 * version, package or for that target) or already attempted (a build that
 * is running or ended other than expired/cancelled).
 * @returns how many rows were queued.
 */
export async function queueVersion(q: Queryable, versionId: number, targets: string[]): Promise<number> {
  if (targets.length === 0) return 0;
  const rows = await q.query(
    `INSERT INTO pending (target, version_id, released)
     SELECT t.name, v.id, v.released
     FROM versions v
     JOIN packages p ON p.id = v.package_id
     CROSS JOIN unnest($2::text[]) AS t(name)
     WHERE v.id = $1 AND v.skip IS NULL AND p.skip IS NULL
       AND NOT EXISTS (SELECT 1 FROM target_skips s WHERE s.version_id = v.id AND s.target = t.name)
       AND NOT EXISTS (SELECT 1 FROM builds b WHERE b.version_id = v.id AND b.target = t.name
                       AND b.status NOT IN ('expired', 'cancelled'))
     ON CONFLICT DO NOTHING
     RETURNING 1`,
    [versionId, targets],
  );
  return rows.length;
}

/** Remove every pending row of these versions (skipped, removed…). */
export async function unqueueVersions(q: Queryable, versionIds: number[]): Promise<void> {
  await q.query('DELETE FROM pending WHERE version_id = ANY($1::int[])', [versionIds]);
}

/** Remove the pending rows of one version for these targets. */
export async function unqueueTargets(q: Queryable, versionId: number, targets: string[]): Promise<void> {
  await q.query('DELETE FROM pending WHERE version_id = $1 AND target = ANY($2::text[])', [versionId, targets]);
}

/** Remove every pending row of one package. */
export async function unqueuePackage(q: Queryable, packageId: number): Promise<void> {
  await q.query('DELETE FROM pending WHERE version_id IN (SELECT id FROM versions WHERE package_id = $1)', [packageId]);
}

/** Queue length per target (targets with nothing queued included, as 0). */
export async function queueLengths(q: Queryable): Promise<Array<{ target: string; ecosystem: string; queued: number }>> {
  return q.query(
    `SELECT t.name AS target, t.ecosystem, count(p.version_id)::int AS queued
     FROM targets t LEFT JOIN pending p ON p.target = t.name
     GROUP BY t.name, t.ecosystem ORDER BY t.name`,
  );
}

/** Whether (version, target) is queued. */
export async function isQueued(q: Queryable, versionId: number, target: string): Promise<boolean> {
  const rows = await q.query('SELECT 1 FROM pending WHERE version_id = $1 AND target = $2', [versionId, target]);
  return rows.length > 0;
}

/** The first `limit` queued builds of one target, in claim order (priority, then newest release). */
export async function peekQueue(
  q: Queryable,
  target: string,
  limit: number,
): Promise<Array<{ package: string; version: string; released: Date }>> {
  return q.query(
    `SELECT pk.name AS package, v.version, p.released
     FROM pending p JOIN versions v ON v.id = p.version_id JOIN packages pk ON pk.id = v.package_id
     WHERE p.target = $1 ORDER BY p.priority DESC, p.released DESC, p.version_id DESC LIMIT $2`,
    [target, limit],
  );
}

/**
 * Make one target's queue exactly `entries` (for an ecosystem that plans
 * its queue section-wide, Debian): rows of this ecosystem's versions not
 * listed are removed, listed ones are queued or get their new priority.
 * A version with a running build on the target is never queued again (a
 * claim may have taken it since the plan was made).
 * @param entries version ids with their priority (higher is claimed first).
 * @returns how many rows were newly queued.
 */
export async function setPlannedQueue(q: Queryable, ecosystem: string, target: string, entries: Array<{ versionId: number; priority: number }>): Promise<number> {
  const ids = entries.map((e) => e.versionId);
  await q.query(
    `DELETE FROM pending p USING versions v, packages pk
     WHERE p.target = $2 AND p.version_id = v.id AND v.package_id = pk.id AND pk.ecosystem = $1
       AND NOT (p.version_id = ANY($3::int[]))`,
    [ecosystem, target, ids],
  );
  if (entries.length === 0) return 0;
  const rows = await q.query<{ inserted: boolean }>(
    `INSERT INTO pending (target, version_id, released, priority)
     SELECT $1, v.id, v.released, e.priority
     FROM unnest($2::int[], $3::float8[]) AS e(version_id, priority)
     JOIN versions v ON v.id = e.version_id
     WHERE NOT EXISTS (SELECT 1 FROM builds b WHERE b.version_id = v.id AND b.target = $1 AND b.status = 'running')
     ON CONFLICT (target, version_id) DO UPDATE SET priority = excluded.priority
       WHERE pending.priority IS DISTINCT FROM excluded.priority
     RETURNING (xmax = 0) AS inserted`,
    [target, ids, entries.map((e) => e.priority)],
  );
  return rows.filter((r) => r.inserted).length;
}
