/**
 * Debian's reads and writes of Kiln's database: results of a section (the
 * builds of its target), retest and expiry marks (piuparts' recycle/ and
 * its expiry), daily state counts and known problems found in logs.
 */
import type { Queryable } from '../../db/connect.ts';

/** One result or reservation of a package version in a section. */
export interface ResultRow {
  build_id: number;
  name: string;
  version: string;
  version_id: number;
  status: 'running' | 'passed' | 'failed' | 'untestable';
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  worker: string | null;
  /** `retest`, `expired` or null. */
  mark: 'retest' | 'expired' | null;
  marked_at: Date | null;
}

/**
 * The results that count in a section: for each version, its newest ended
 * build (passed, failed or untestable) and any running one (a reservation).
 * Expired and cancelled builds never count.
 */
export async function sectionResults(q: Queryable, section: string): Promise<ResultRow[]> {
  return q.query<ResultRow>(
    `SELECT * FROM (
       SELECT DISTINCT ON (b.version_id, b.status = 'running')
              b.id::int AS build_id, pk.name, v.version, v.id AS version_id, b.status, b.started_at, b.finished_at,
              b.duration_ms, w.name AS worker, m.kind AS mark, m.marked_at
       FROM builds b
       JOIN versions v ON v.id = b.version_id JOIN packages pk ON pk.id = v.package_id
       LEFT JOIN workers w ON w.id = b.worker_id
       LEFT JOIN debian_marks m ON m.build_id = b.id
       WHERE b.target = $1 AND pk.ecosystem = 'debian' AND b.status IN ('running', 'passed', 'failed', 'untestable')
       ORDER BY b.version_id, b.status = 'running', b.id DESC
     ) r ORDER BY r.name`,
    [section],
  );
}

/** Version ids of Debian versions that may be queued (neither they nor their package skipped), by `name version`. */
export async function queueableVersions(q: Queryable, section: string): Promise<Map<string, number>> {
  const rows = await q.query<{ name: string; version: string; id: number }>(
    `SELECT pk.name, v.version, v.id FROM versions v JOIN packages pk ON pk.id = v.package_id
     WHERE pk.ecosystem = 'debian' AND v.skip IS NULL AND pk.skip IS NULL
       AND NOT EXISTS (SELECT 1 FROM target_skips s WHERE s.version_id = v.id AND s.target = $1)`,
    [section],
  );
  return new Map(rows.map((r) => [`${r.name} ${r.version}`, r.id]));
}

/** Mark results (build ids) for retest or as expired, with why; a result keeps its first mark unless `kind` is `expired`. */
export async function markResults(q: Queryable, buildIds: number[], kind: 'retest' | 'expired', reason: string): Promise<number> {
  if (buildIds.length === 0) return 0;
  const rows = await q.query(
    `INSERT INTO debian_marks (build_id, kind, reason) SELECT unnest($1::bigint[]), $2, $3
     ON CONFLICT (build_id) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, marked_at = now()
       WHERE debian_marks.kind = 'retest' AND excluded.kind = 'expired'
     RETURNING 1`,
    [buildIds, kind, reason],
  );
  return rows.length;
}

/** Record today's state counts of a section (one row per day, the last count of the day wins). */
export async function recordCounts(q: Queryable, section: string, counts: Record<string, number>): Promise<void> {
  await q.query(
    `INSERT INTO debian_counts (section, day, counts) VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2)
     ON CONFLICT (section, day) DO UPDATE SET counts = excluded.counts`,
    [section, JSON.stringify(counts)],
  );
}

/** A section's counts history, oldest day first. */
export async function countsHistory(q: Queryable, section: string): Promise<Array<{ day: string; counts: Record<string, number> }>> {
  const rows = await q.query<{ day: string; counts: Record<string, number> }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, counts FROM debian_counts WHERE section = $1 ORDER BY day`,
    [section],
  );
  return rows;
}

/** Record the known problems found in one result's log (replacing earlier findings). */
export async function recordProblems(q: Queryable, buildId: number, problems: string[]): Promise<void> {
  await q.query('DELETE FROM debian_log_problems WHERE build_id = $1', [buildId]);
  if (problems.length) {
    await q.query('INSERT INTO debian_log_problems (build_id, problem) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [buildId, problems]);
  }
}

/** Known problems per build id, for the builds of one section. */
export async function sectionProblems(q: Queryable, section: string): Promise<Map<number, string[]>> {
  const rows = await q.query<{ build_id: string | number; problem: string }>(
    `SELECT lp.build_id, lp.problem FROM debian_log_problems lp JOIN builds b ON b.id = lp.build_id WHERE b.target = $1`,
    [section],
  );
  const out = new Map<number, string[]>();
  for (const r of rows) {
    const id = Number(r.build_id);
    out.set(id, [...(out.get(id) ?? []), r.problem]);
  }
  return out;
}

/** Builds of a section whose logs show one of these problems (infrastructure failures), not yet expired. */
export async function buildsWithProblems(q: Queryable, section: string, problems: string[]): Promise<number[]> {
  if (problems.length === 0) return [];
  const rows = await q.query<{ id: number }>(
    `SELECT DISTINCT b.id::int AS id FROM debian_log_problems lp JOIN builds b ON b.id = lp.build_id
     LEFT JOIN debian_marks m ON m.build_id = b.id
     WHERE b.target = $1 AND lp.problem = ANY($2::text[]) AND b.status IN ('failed', 'untestable')
       AND (m.kind IS NULL OR m.kind <> 'expired')`,
    [section, problems],
  );
  return rows.map((r) => r.id);
}
