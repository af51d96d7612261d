import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.ts';
import { assertSchemaCurrent, listMigrations, migrate, schemaVersion } from '../../src/db/migrate.ts';
import { KilnError, SchemaVersionError } from '../../src/errors.ts';
import { SCHEMA_VERSION } from '../../src/version.ts';
import { testDb, usingPostgres } from '../helpers/db.ts';

describe('schema and migrations', () => {
  it('numbers migrations from 1 up to SCHEMA_VERSION with no gaps', () => {
    expect(listMigrations().map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('initdb creates the schema and records the version; a second run changes nothing', async () => {
    const db = await testDb({ migrated: false });
    try {
      await expect(assertSchemaCurrent(db)).rejects.toThrow('run kiln initdb');
      expect(await migrate(db)).toEqual({ from: 0, to: SCHEMA_VERSION });
      expect(await migrate(db)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
      await assertSchemaCurrent(db);
    } finally {
      await db.close();
    }
  });

  it('upgrades a database left at an older version, one migration at a time', async () => {
    const db = await testDb({ migrated: false });
    try {
      const [first] = listMigrations();
      await db.tx(async (q) => {
        await q.query(first!.sql);
        await q.query('INSERT INTO kiln_schema (version, kiln_version) VALUES (1, $1)', ['0.0.1']);
      });
      if (SCHEMA_VERSION > 1) await expect(assertSchemaCurrent(db)).rejects.toThrow(`older than this Kiln's ${SCHEMA_VERSION}; run kiln initdb`);
      expect(await migrate(db)).toEqual({ from: 1, to: SCHEMA_VERSION });
      await assertSchemaCurrent(db);
      const versions = await db.query<{ version: number }>('SELECT version FROM kiln_schema ORDER BY version');
      expect(versions.map((v) => v.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    } finally {
      await db.close();
    }
  });

  it('refuses an older schema (run kiln initdb) and a newer one (upgrade Kiln)', async () => {
    const db = await testDb();
    try {
      await db.query('INSERT INTO kiln_schema (version, kiln_version) VALUES ($1, $2)', [SCHEMA_VERSION + 1, '99.0.0']);
      await expect(assertSchemaCurrent(db)).rejects.toThrow(/newer than this Kiln.*upgrade Kiln/);
      await expect(migrate(db)).rejects.toBeInstanceOf(SchemaVersionError);
      await db.query('DELETE FROM kiln_schema');
      await db.query('INSERT INTO kiln_schema (version, kiln_version) VALUES (0, $1)', ['0.0.1']);
      expect(await schemaVersion(db)).toBe(0);
      await expect(assertSchemaCurrent(db)).rejects.toThrow('run kiln initdb');
    } finally {
      await db.close();
    }
  });

  it.skipIf(usingPostgres)('locks an embedded data directory: a second opener gets a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-lock-'));
    const first = await openDb({ dataDir: dir });
    try {
      const err = await openDb({ dataDir: dir }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(KilnError);
      expect((err as Error).message).toContain('is in use by another Kiln process');
    } finally {
      await first.close();
    }
    const again = await openDb({ dataDir: dir });
    await again.close();
  });
});
