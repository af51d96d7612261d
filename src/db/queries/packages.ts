import type { Json } from '../../ecosystems/types.ts';
import type { Queryable } from '../connect.ts';

/** A row of `packages`. */
export interface PackageRow {
  id: number;
  ecosystem: string;
  name: string;
  display_name: string;
  summary: string | null;
  skip: string | null;
  meta: Json;
  added_at: Date;
  synced_at: Date | null;
  sync_error: string | null;
}

/** Add a package to track, or return the existing one. */
export async function ensurePackage(q: Queryable, ecosystem: string, name: string, displayName = name): Promise<PackageRow> {
  const rows = await q.query<PackageRow>(
    `INSERT INTO packages (ecosystem, name, display_name) VALUES ($1, $2, $3)
     ON CONFLICT (ecosystem, name) DO UPDATE SET name = excluded.name
     RETURNING *`,
    [ecosystem, name, displayName],
  );
  return rows[0]!;
}

/** One package by ecosystem and normalised name, or undefined. */
export async function getPackage(q: Queryable, ecosystem: string, name: string): Promise<PackageRow | undefined> {
  const rows = await q.query<PackageRow>('SELECT * FROM packages WHERE ecosystem = $1 AND name = $2', [ecosystem, name]);
  return rows[0];
}

/** One package by id. */
export async function getPackageById(q: Queryable, id: number): Promise<PackageRow | undefined> {
  const rows = await q.query<PackageRow>('SELECT * FROM packages WHERE id = $1', [id]);
  return rows[0];
}

/** Packages of one ecosystem (all when omitted), by name. */
export async function listPackages(q: Queryable, ecosystem?: string): Promise<PackageRow[]> {
  return ecosystem
    ? q.query<PackageRow>('SELECT * FROM packages WHERE ecosystem = $1 ORDER BY name', [ecosystem])
    : q.query<PackageRow>('SELECT * FROM packages ORDER BY ecosystem, name');
}

/** Store what sync learned about the package itself. */
export async function updatePackageFromSource(
  q: Queryable,
  id: number,
  p: { displayName: string; summary: string | null; meta: Json },
): Promise<void> {
  await q.query(
    `UPDATE packages SET display_name = $2, summary = $3, meta = $4::jsonb, synced_at = now(), sync_error = NULL
     WHERE id = $1`,
    [id, p.displayName, p.summary, JSON.stringify(p.meta)],
  );
}

/** Record a sync failure for one package. */
export async function setPackageSyncError(q: Queryable, ecosystem: string, name: string, message: string): Promise<void> {
  await q.query('UPDATE packages SET sync_error = $3 WHERE ecosystem = $1 AND name = $2', [ecosystem, name, message]);
}

/** Set or clear (null) a package's skip reason. */
export async function setPackageSkip(q: Queryable, id: number, reason: string | null): Promise<void> {
  await q.query('UPDATE packages SET skip = $2 WHERE id = $1', [id, reason]);
}

/** Delete a package with its versions, builds and artifacts rows. */
export async function deletePackage(q: Queryable, id: number): Promise<void> {
  await q.query('DELETE FROM packages WHERE id = $1', [id]);
}
