/**
 * A Db wrapper that counts the statements the master runs and the time it
 * waits for each, so the benchmark can say where per-build time goes.
 */
import type { Db, Queryable } from '../src/db/connect.ts';

/** Totals for one statement shape. */
export interface StatementStats {
  /** Times the statement ran. */
  calls: number;
  /** Total wall time awaiting it, milliseconds (includes waiting for a pooled connection). */
  totalMs: number;
}

/** A Db that records per-statement counts and times; `reset()` starts a new window. */
export interface CountingDb extends Db {
  /** Per statement (first 70 characters, whitespace collapsed): calls and time. */
  readonly stats: Map<string, StatementStats>;
  /** Transactions committed or rolled back through `tx()` since the last reset. */
  readonly txCount: () => number;
  /** Forget what was recorded so far. */
  reset(): void;
}

function shape(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().slice(0, 70);
}

/** Wrap `db` so that every statement is counted and timed. */
export function countingDb(db: Db): CountingDb {
  const stats = new Map<string, StatementStats>();
  let txs = 0;
  const record = (sql: string, ms: number) => {
    const k = shape(sql);
    const s = stats.get(k) ?? { calls: 0, totalMs: 0 };
    s.calls++;
    s.totalMs += ms;
    stats.set(k, s);
  };
  const timedQuery = (q: Queryable) =>
    async function query<T>(sql: string, params?: unknown[]): Promise<T[]> {
      const t0 = performance.now();
      try {
        return await q.query<T>(sql, params);
      } finally {
        record(sql, performance.now() - t0);
      }
    };
  return {
    kind: db.kind,
    where: db.where,
    stats,
    txCount: () => txs,
    reset() {
      stats.clear();
      txs = 0;
    },
    query: timedQuery(db),
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      txs++;
      return db.tx((q) => fn({ query: timedQuery(q) }));
    },
    close: () => db.close(),
  };
}
