import type { Json } from '../../ecosystems/types.ts';
import type { Queryable } from '../connect.ts';

/** A row of `artifacts`. Files live in the artifact store under their sha256. */
export interface ArtifactRow {
  id: number;
  build_id: number;
  filename: string;
  size: number;
  sha256: string;
  tags: Json;
  uploaded_at: Date;
}

/** Record a verified upload; a second upload of the same name for the build replaces the first. */
export async function insertArtifact(
  q: Queryable,
  a: { buildId: number; filename: string; size: number; sha256: string; tags: Json },
): Promise<void> {
  await q.query(
    `INSERT INTO artifacts (build_id, filename, size, sha256, tags) VALUES ($1, $2, $3, $4, $5::jsonb)
     ON CONFLICT (build_id, filename) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, tags = excluded.tags, uploaded_at = now()`,
    [a.buildId, a.filename, a.size, a.sha256, JSON.stringify(a.tags)],
  );
}

/** Artifacts of one build. */
export async function listArtifactsForBuild(q: Queryable, buildId: number): Promise<ArtifactRow[]> {
  return q.query<ArtifactRow>('SELECT * FROM artifacts WHERE build_id = $1 ORDER BY filename', [buildId]);
}

/**
 * The published artifacts of a package: those of passed builds only, with
 * their version and target. Failed or running builds' uploads are never
 * published. A skipped version keeps its binaries (skip means "do not
 * build"; lockfiles still point at them) unless it is gone upstream or was
 * removed by an operator.
 */
export async function listPublishedArtifacts(
  q: Queryable,
  packageId: number,
): Promise<Array<ArtifactRow & { version: string; target: string }>> {
  return q.query(
    `SELECT a.*, v.version, b.target FROM artifacts a
     JOIN builds b ON b.id = a.build_id JOIN versions v ON v.id = b.version_id
     WHERE v.package_id = $1 AND b.status = 'passed' AND NOT (v.meta ? 'gone') AND NOT (v.meta ? 'removed')
     ORDER BY v.released DESC, b.target, a.filename`,
    [packageId],
  );
}

/** Every sha256 still referenced, for pruning the store. */
export async function listReferencedHashes(q: Queryable): Promise<Set<string>> {
  const rows = await q.query<{ sha256: string }>('SELECT DISTINCT sha256 FROM artifacts');
  return new Set(rows.map((r) => r.sha256));
}
