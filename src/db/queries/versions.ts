import type { Json } from '../../ecosystems/types.ts';
import type { Queryable } from '../connect.ts';

/** A row of `versions`. */
export interface VersionRow {
  id: number;
  package_id: number;
  version: string;
  released: Date;
  skip: string | null;
  yanked: boolean;
  meta: Json;
}

/**
 * Insert or update one version from the source. A skip set by an operator
 * (`kiln skip`, `meta.operatorSkip`) and a removal (`kiln remove NAME
 * VERSION`, `meta.removed`) are kept.
 * @returns the version's id.
 */
export async function upsertVersion(
  q: Queryable,
  packageId: number,
  v: { version: string; released: Date; skip: string | null; yanked: boolean; meta: Json },
): Promise<number> {
  const rows = await q.query<{ id: number }>(
    `INSERT INTO versions (package_id, version, released, skip, yanked, meta)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb)
     ON CONFLICT (package_id, version) DO UPDATE SET
       released = excluded.released,
       yanked = excluded.yanked,
       -- What an operator said (skip, removal) outlives the source's view of the version.
       meta = excluded.meta || jsonb_strip_nulls(jsonb_build_object(
                'operatorSkip', versions.meta->'operatorSkip', 'removed', versions.meta->'removed')),
       skip = COALESCE(versions.meta->>'operatorSkip', excluded.skip)
     RETURNING id`,
    [packageId, v.version, v.released, v.skip, v.yanked, JSON.stringify({ ...v.meta, sourceSkip: v.skip })],
  );
  return rows[0]!.id;
}

/** Versions of one package, newest release first. */
export async function listVersions(q: Queryable, packageId: number): Promise<VersionRow[]> {
  return q.query<VersionRow>('SELECT * FROM versions WHERE package_id = $1 ORDER BY released DESC, id DESC', [packageId]);
}

/** One version of a package by its version string. */
export async function getVersion(q: Queryable, packageId: number, version: string): Promise<VersionRow | undefined> {
  const rows = await q.query<VersionRow>('SELECT * FROM versions WHERE package_id = $1 AND version = $2', [packageId, version]);
  return rows[0];
}

/**
 * Mark versions of a package that the source no longer lists (unpublished)
 * as gone: skipped with `reason`, and withdrawn from the repository. Unskip
 * restores the same reason; a version that reappears upstream loses the mark
 * at its next upsert. @returns the ids that changed.
 */
export async function skipVersionsNotIn(q: Queryable, packageId: number, keep: string[], reason: string): Promise<number[]> {
  const rows = await q.query<{ id: number }>(
    `UPDATE versions SET skip = $3,
       meta = meta || jsonb_build_object('gone', true, 'sourceSkip', $3::text)
     WHERE package_id = $1 AND NOT (version = ANY($2::text[])) AND NOT (meta ? 'gone')
     RETURNING id`,
    [packageId, keep, reason],
  );
  return rows.map((r) => r.id);
}

/**
 * Set or clear an operator's skip on one version. An operator's skip
 * survives syncs; clearing it restores the source's own reason, if any.
 */
export async function setVersionOperatorSkip(q: Queryable, id: number, reason: string | null): Promise<void> {
  await q.query(
    `UPDATE versions SET
       skip = COALESCE($2, meta->>'sourceSkip'),
       meta = CASE WHEN $2::text IS NULL THEN meta - 'operatorSkip' ELSE meta || jsonb_build_object('operatorSkip', $2::text) END
     WHERE id = $1`,
    [id, reason],
  );
}


/** One version by id. */
export async function getVersionById(q: Queryable, id: number): Promise<VersionRow | undefined> {
  const rows = await q.query<VersionRow>('SELECT * FROM versions WHERE id = $1', [id]);
  return rows[0];
}

/**
 * Mark a version removed by an operator: skipped with `reason` and withdrawn
 * from the repository, and kept that way across syncs (deleting the row
 * would let the next sync bring it back).
 */
export async function markVersionRemoved(q: Queryable, id: number, reason: string): Promise<void> {
  await q.query(
    `UPDATE versions SET skip = $2, meta = meta || jsonb_build_object('removed', true, 'operatorSkip', $2::text) WHERE id = $1`,
    [id, reason],
  );
}
