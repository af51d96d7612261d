import type { Json } from '../../ecosystems/types.ts';
import type { Queryable } from '../connect.ts';

/** A row of `worker_tokens` (the token itself is never stored, only its sha256). */
export interface WorkerTokenRow {
  id: number;
  name: string;
  token_hash: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** A row of `workers`. */
export interface WorkerRow {
  id: number;
  token_id: number;
  name: string;
  kiln_version: string;
  facts: Json;
  targets: string[];
  labels: string[];
  connected_at: Date;
  last_seen: Date;
}

/** Store a new worker token's hash. @throws on a duplicate name (unique violation 23505). */
export async function insertWorkerToken(q: Queryable, name: string, hash: string): Promise<WorkerTokenRow> {
  const rows = await q.query<WorkerTokenRow>('INSERT INTO worker_tokens (name, token_hash) VALUES ($1, $2) RETURNING *', [name, hash]);
  return rows[0]!;
}

/** All worker tokens, by name. */
export async function listWorkerTokens(q: Queryable): Promise<WorkerTokenRow[]> {
  return q.query<WorkerTokenRow>('SELECT * FROM worker_tokens ORDER BY name');
}

/** Revoke a token by name. @returns whether a live token was revoked. */
export async function revokeWorkerToken(q: Queryable, name: string): Promise<boolean> {
  const rows = await q.query('UPDATE worker_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING 1', [name]);
  return rows.length > 0;
}

/** Delete a token row by name (used when `kiln up` replaces its local token). */
export async function deleteWorkerToken(q: Queryable, name: string): Promise<void> {
  await q.query('DELETE FROM worker_tokens WHERE name = $1', [name]);
}

/** A live token by hash, touching `last_used_at`. */
export async function useWorkerToken(q: Queryable, hash: string): Promise<WorkerTokenRow | undefined> {
  const rows = await q.query<WorkerTokenRow>(
    'UPDATE worker_tokens SET last_used_at = now() WHERE token_hash = $1 AND revoked_at IS NULL RETURNING *',
    [hash],
  );
  return rows[0];
}

/** Register (or re-register) a worker at hello. */
export async function upsertWorker(
  q: Queryable,
  w: { tokenId: number; name: string; kilnVersion: string; facts: Json; targets: string[]; labels: string[] },
): Promise<WorkerRow> {
  const rows = await q.query<WorkerRow>(
    `INSERT INTO workers (token_id, name, kiln_version, facts, targets, labels)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6)
     ON CONFLICT (token_id, name) DO UPDATE SET kiln_version = excluded.kiln_version, facts = excluded.facts,
       targets = excluded.targets, labels = excluded.labels, connected_at = now(), last_seen = now()
     RETURNING *`,
    [w.tokenId, w.name, w.kilnVersion, JSON.stringify(w.facts), w.targets, w.labels],
  );
  return rows[0]!;
}

/** One worker by id, only if it belongs to this token. */
export async function getWorkerForToken(q: Queryable, id: number, tokenId: number): Promise<WorkerRow | undefined> {
  const rows = await q.query<WorkerRow>('SELECT * FROM workers WHERE id = $1 AND token_id = $2', [id, tokenId]);
  return rows[0];
}

/** Mark a worker as seen now. */
export async function touchWorker(q: Queryable, id: number): Promise<void> {
  await q.query('UPDATE workers SET last_seen = now() WHERE id = $1', [id]);
}

/** Workers seen within `withinS` seconds, by name. */
export async function listOnlineWorkers(q: Queryable, withinS: number): Promise<WorkerRow[]> {
  return q.query<WorkerRow>(
    `SELECT * FROM workers WHERE last_seen > now() - make_interval(secs => $1) ORDER BY name`,
    [withinS],
  );
}
