import type { Json, TargetDecl } from '../../ecosystems/types.ts';
import type { Queryable } from '../connect.ts';

/** A row of `targets`. */
export interface TargetRow {
  name: string;
  ecosystem: string;
  facts: Json;
  first_seen: Date;
  last_seen: Date;
}

/**
 * Record targets a worker declared. Facts are refreshed on every hello.
 * @returns the names that were new to the master.
 */
export async function upsertTargets(q: Queryable, targets: TargetDecl[]): Promise<string[]> {
  const fresh: string[] = [];
  for (const t of targets) {
    const rows = await q.query<{ inserted: boolean }>(
      `INSERT INTO targets (name, ecosystem, facts) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (name) DO UPDATE SET facts = excluded.facts, last_seen = now()
       RETURNING (xmax = 0) AS inserted`,
      [t.name, t.ecosystem, JSON.stringify(t.facts)],
    );
    if (rows[0]?.inserted) fresh.push(t.name);
  }
  return fresh;
}

/** All targets, optionally of one ecosystem, by name. */
export async function listTargets(q: Queryable, ecosystem?: string): Promise<TargetRow[]> {
  return ecosystem
    ? q.query<TargetRow>('SELECT * FROM targets WHERE ecosystem = $1 ORDER BY name', [ecosystem])
    : q.query<TargetRow>('SELECT * FROM targets ORDER BY name');
}

/** One target by name. */
export async function getTarget(q: Queryable, name: string): Promise<TargetRow | undefined> {
  const rows = await q.query<TargetRow>('SELECT * FROM targets WHERE name = $1', [name]);
  return rows[0];
}
