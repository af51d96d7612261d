import type { Queryable } from '../connect.ts';

/** Totals shown on the home page and by `kiln status`. */
export interface Totals {
  packages: number;
  versions: number;
  builds_passed: number;
  builds_failed: number;
  builds_untestable: number;
  builds_running: number;
  artifacts: number;
  artifact_bytes: number;
  queued: number;
}

/** Compute the totals in one round trip. */
export async function totals(q: Queryable): Promise<Totals> {
  const rows = await q.query<Totals>(
    `SELECT
       (SELECT count(*) FROM packages)::int AS packages,
       (SELECT count(*) FROM versions)::int AS versions,
       (SELECT count(*) FROM builds WHERE status = 'passed')::int AS builds_passed,
       (SELECT count(*) FROM builds WHERE status = 'failed')::int AS builds_failed,
       (SELECT count(*) FROM builds WHERE status = 'untestable')::int AS builds_untestable,
       (SELECT count(*) FROM builds WHERE status = 'running')::int AS builds_running,
       (SELECT count(*) FROM artifacts a JOIN builds b ON b.id = a.build_id WHERE b.status = 'passed')::int AS artifacts,
       (SELECT coalesce(sum(a.size), 0) FROM artifacts a JOIN builds b ON b.id = a.build_id WHERE b.status = 'passed')::bigint AS artifact_bytes,
       (SELECT count(*) FROM pending)::int AS queued`,
  );
  return rows[0]!;
}
