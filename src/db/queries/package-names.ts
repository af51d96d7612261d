import type { Queryable } from '../connect.ts';

/**
 * When an alias added by an operator (`kiln add --alias`) was "seen": never,
 * as piwheels records it, so it cannot outrank a spelling seen upstream as
 * the display name.
 */
export const NEVER_SEEN = new Date(0);

/** One spelling of a package's name, and when it was seen. */
export interface NameSighting {
  /** The name exactly as spelled, e.g. `Foo_Bar`. */
  name: string;
  /**
   * When it was seen; null means now (the database's clock). Times after now
   * are stored as now: an upstream clock ahead of ours must not make an old
   * spelling outrank the one just fetched.
   */
  seen: Date | null;
}

/** A row of `package_names`. */
export interface PackageNameRow {
  package_id: number;
  name: string;
  seen: Date;
}

/**
 * Record spellings of one package's name. A spelling already known keeps
 * the later of its two times, so replaying old changelog events never moves
 * a name back. The same name twice in `sightings` counts once, at its
 * latest time.
 */
export async function recordPackageNames(q: Queryable, packageId: number, sightings: NameSighting[]): Promise<void> {
  const latest = new Map<string, Date | null>();
  for (const s of sightings) {
    if (!s.name) continue;
    const had = latest.get(s.name);
    // null is "now", later than any time given.
    if (had === undefined || (had !== null && (s.seen === null || s.seen > had))) latest.set(s.name, s.seen);
  }
  if (latest.size === 0) return;
  await q.query(
    `INSERT INTO package_names (package_id, name, seen)
     SELECT $1, t.name, LEAST(COALESCE(t.seen, now()), now()) FROM unnest($2::text[], $3::timestamptz[]) AS t(name, seen)
     ON CONFLICT (package_id, name) DO UPDATE SET seen = GREATEST(package_names.seen, excluded.seen)`,
    [packageId, [...latest.keys()], [...latest.values()].map((d) => d?.toISOString() ?? null)],
  );
}

/** Every recorded spelling of one package's name, the one seen last first. */
export async function listPackageNames(q: Queryable, packageId: number): Promise<PackageNameRow[]> {
  return q.query<PackageNameRow>('SELECT * FROM package_names WHERE package_id = $1 ORDER BY seen DESC, name', [packageId]);
}

/**
 * A package's aliases: its recorded spellings other than `canonical` (the
 * normalised name its folders are named after), sorted.
 */
export async function listPackageAliases(q: Queryable, packageId: number, canonical: string): Promise<string[]> {
  const rows = await q.query<{ name: string }>('SELECT name FROM package_names WHERE package_id = $1 AND name <> $2 ORDER BY name', [packageId, canonical]);
  return rows.map((r) => r.name);
}
