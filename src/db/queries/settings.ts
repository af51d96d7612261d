import type { Queryable } from '../connect.ts';

/** Read one setting; `fallback` when unset. */
export async function getSetting<T>(q: Queryable, key: string, fallback: T): Promise<T> {
  const rows = await q.query<{ value: T }>('SELECT value FROM settings WHERE key = $1', [key]);
  return rows[0] ? rows[0].value : fallback;
}

/** Write one setting (JSON value). */
export async function setSetting(q: Queryable, key: string, value: unknown): Promise<void> {
  await q.query(
    `INSERT INTO settings (key, value) VALUES ($1, $2::jsonb)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    [key, JSON.stringify(value)],
  );
}
