/**
 * Spellings of a package's name (piwheels' package_names): recording them
 * with when they were seen, reading them back, where the PyPI source finds
 * them (changelog events, the simple listing), and the alias links and
 * redirects the publisher and the server make of them.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/connect.ts';
import { listMigrations, migrate } from '../../src/db/migrate.ts';
import { listPackageAliases, listPackageNames, NEVER_SEEN, recordPackageNames } from '../../src/db/queries/package-names.ts';
import { deletePackage, ensurePackage } from '../../src/db/queries/packages.ts';
import { createPypiMaster, withSeenNames, type ChangelogEvent } from '../../src/ecosystems/pypi/master.ts';
import { fetchSimpleProject } from '../../src/ecosystems/pypi/simple-api.ts';
import type { SourcePackage, SourceStore } from '../../src/ecosystems/types.ts';
import { aliasLinks } from '../../src/master/publisher.ts';
import { aliasRedirect } from '../../src/master/server.ts';
import { testDb } from '../helpers/db.ts';
import { PypiUpstreamModel, startPypiUpstream } from '../helpers/pypi-upstream.ts';

const signal = new AbortController().signal;

describe('package_names queries', () => {
  let db: Db;
  beforeAll(async () => {
    db = await testDb();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('keeps each spelling once, at the latest time it was seen, and never in the future', async () => {
    const pkg = await ensurePackage(db, 'pypi', 'foo-bar', 'Foo_Bar');
    const t1 = new Date('2024-01-01T00:00:00Z');
    const t2 = new Date('2024-06-01T00:00:00Z');
    await recordPackageNames(db, pkg.id, [
      { name: 'Foo_Bar', seen: t1 },
      { name: 'Foo_Bar', seen: t2 },
      { name: 'FOO.bar', seen: t1 },
    ]);
    // An older sighting replayed (a changelog margin re-read) does not move a name back.
    await recordPackageNames(db, pkg.id, [{ name: 'Foo_Bar', seen: t1 }]);
    let rows = await listPackageNames(db, pkg.id);
    expect(rows.map((r) => [r.name, r.seen.toISOString()])).toEqual([
      ['Foo_Bar', t2.toISOString()],
      ['FOO.bar', t1.toISOString()],
    ]);
    // null is now; a time ahead of the database's clock is stored as now, so it cannot outrank what comes next.
    const before = Date.now();
    await recordPackageNames(db, pkg.id, [
      { name: 'foo.bar', seen: null },
      { name: 'foo_BAR', seen: new Date(Date.now() + 86_400_000) },
    ]);
    rows = await listPackageNames(db, pkg.id);
    const byName = new Map(rows.map((r) => [r.name, r.seen.getTime()]));
    expect(byName.get('foo.bar')).toBeGreaterThanOrEqual(before - 5_000);
    expect(byName.get('foo_BAR')).toBeLessThanOrEqual(Date.now());
    expect(await listPackageAliases(db, pkg.id, 'foo-bar')).toEqual(['FOO.bar', 'Foo_Bar', 'foo.bar', 'foo_BAR']);
  });

  it('gives an operator\'s alias 1970, which a real sighting replaces and never the reverse', async () => {
    const pkg = await ensurePackage(db, 'pypi', 'baz', 'baz');
    await recordPackageNames(db, pkg.id, [{ name: 'baz', seen: null }]);
    await recordPackageNames(db, pkg.id, [{ name: 'BAZ', seen: NEVER_SEEN }]);
    expect((await listPackageNames(db, pkg.id)).map((r) => r.name)).toEqual(['baz', 'BAZ']);
    expect((await listPackageNames(db, pkg.id))[1]!.seen.getTime()).toBe(0);
    await recordPackageNames(db, pkg.id, [{ name: 'BAZ', seen: new Date('2025-01-01T00:00:00Z') }]);
    await recordPackageNames(db, pkg.id, [{ name: 'BAZ', seen: NEVER_SEEN }]);
    expect((await listPackageNames(db, pkg.id))[1]!.seen.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    await recordPackageNames(db, pkg.id, []);
    await deletePackage(db, pkg.id);
    expect(await listPackageNames(db, pkg.id)).toEqual([]);
  });
});

describe('migration 3', () => {
  it('gives each package of an older database its display name, seen at its last sync', async () => {
    const db = await testDb({ migrated: false });
    try {
      await db.tx(async (q) => {
        for (const m of listMigrations().filter((x) => x.version < 3)) await q.query(m.sql);
        await q.query('INSERT INTO kiln_schema (version, kiln_version) VALUES (2, $1)', ['0.0.1']);
        await q.query(`INSERT INTO packages (ecosystem, name, display_name, synced_at) VALUES ('pypi', 'foo-bar', 'Foo_Bar', '2024-02-03T00:00:00Z'), ('npm', 'x', 'x', NULL)`);
      });
      expect(await migrate(db)).toMatchObject({ from: 2 });
      const rows = await db.query<{ name: string; seen: Date; added_at: Date }>(
        'SELECT n.name, n.seen, p.added_at FROM package_names n JOIN packages p ON p.id = n.package_id ORDER BY n.name',
      );
      expect(rows.map((r) => r.name)).toEqual(['Foo_Bar', 'x']);
      expect(rows[0]!.seen.toISOString()).toBe('2024-02-03T00:00:00.000Z');
      expect(rows[1]!.seen.getTime()).toBe(rows[1]!.added_at.getTime());
    } finally {
      await db.close();
    }
  });
});

describe('spellings a source reports', () => {
  it('adds each changelog spelling of the package at its latest event time', () => {
    const pkg: SourcePackage = { name: 'foo-bar', displayName: 'foo.bar', summary: null, meta: { project_url: null }, versions: [] };
    const ev = (name: string, timestamp: number): ChangelogEvent => ({ name, version: null, timestamp, action: 'new release', serial: timestamp });
    const out = withSeenNames(pkg, [ev('Foo_Bar', 100), ev('Foo_Bar', 50), ev('foo.bar', 200), ev('other', 300), ev('foo bar', 400)]);
    expect(out.meta).toEqual({ project_url: null });
    expect(out.names).toEqual([
      { name: 'Foo_Bar', seen: new Date(100_000) },
      { name: 'foo.bar', seen: new Date(200_000) },
    ]);
    expect(withSeenNames(pkg, [])).toBe(pkg);
  });

  it('keeps the listing\'s spelling when a PEP 691 project page gives only the normalised name', async () => {
    const model = new PypiUpstreamModel();
    model.createPackage('Foo_Bar');
    model.addFile('Foo_Bar', '1.0', { kind: 'sdist' });
    const up = await startPypiUpstream(model);
    try {
      expect((await fetchSimpleProject(fetch, up.simpleUrl, 'Foo_Bar', signal))!.displayName).toBe('Foo_Bar');
      expect((await fetchSimpleProject(fetch, up.simpleUrl, 'foo-bar', signal))!.displayName).toBe('foo-bar');
      // A whole simple-API sync (no XML-RPC) applies the listing's spelling.
      up.xmlrpc = false;
      const applied: SourcePackage[] = [];
      const store: SourceStore = {
        trackedPackages: async () => [],
        applyPackage: async (p) => void applied.push(p),
        recordSyncError: async () => undefined,
        removePackage: async () => undefined,
        getState: async <T>(_k: string, f: T) => f,
        setState: async () => undefined,
      };
      const eco = createPypiMaster({ xmlrpc: up.xmlrpcUrl, simple: up.simpleUrl, json: up.jsonUrl, packages: [] });
      await eco.sync(store, pino({ level: 'silent' }), signal);
      expect(applied.map((p) => [p.name, p.displayName])).toEqual([['foo-bar', 'Foo_Bar']]);
    } finally {
      await up.close();
    }
  });
});

describe('alias links and redirects', () => {
  const pypiFiles = (n: string) => [
    `pypi/simple/${n}/index.html`,
    `pypi/simple/${n}/index.json`,
    `pypi/files/${n}-1.0-py3-none-any.whl`,
    `project/${n}/index.html`,
    `project/${n}/json/index.json`,
    `packages/pypi/${n}/index.html`,
  ];

  it('links every folder named after the package that has its own index page', () => {
    expect([...aliasLinks(pypiFiles('foo-bar'), 'foo-bar', ['Foo_Bar', 'foo-bar', '../x', 'a/b', '.hidden', ''])]).toEqual([
      ['pypi/simple/Foo_Bar', 'foo-bar'],
      ['project/Foo_Bar', 'foo-bar'],
      ['packages/pypi/Foo_Bar', 'foo-bar'],
    ]);
    expect(aliasLinks(pypiFiles('foo-bar'), 'foo-bar', []).size).toBe(0);
  });

  it('does not mistake the layout\'s own folders for a package named like them', () => {
    for (const n of ['json', 'simple', 'files', 'project', 'pypi', 'packages']) {
      expect([...aliasLinks(pypiFiles(n), n, ['ALIAS']).keys()].sort(), n).toEqual(['packages/pypi/ALIAS', 'project/ALIAS', 'pypi/simple/ALIAS']);
    }
  });

  it('redirects a path through an alias link to the canonical folder, keeping the rest and the query', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kiln-alias-'));
    try {
      await mkdir(join(root, 'project', 'foo-bar', 'json'), { recursive: true });
      await writeFile(join(root, 'project', 'foo-bar', 'json', 'index.json'), '{}');
      await symlink('foo-bar', join(root, 'project', 'Foo_Bar'));
      await symlink('/etc', join(root, 'project', 'elsewhere'));
      await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
      await symlink('c', join(root, 'a', 'b', 'd'));
      await symlink('e', join(root, 'a', 'b', 'c', 'f'));
      expect(await aliasRedirect(root, '/project/Foo_Bar/')).toBe('/project/foo-bar/');
      expect(await aliasRedirect(root, '/project/Foo_Bar')).toBe('/project/foo-bar');
      expect(await aliasRedirect(root, '/project/Foo_Bar/json/?x=1')).toBe('/project/foo-bar/json/?x=1');
      expect(await aliasRedirect(root, '/project/Foo%5FBar/json/index.json')).toBe('/project/foo-bar/json/index.json');
      expect(await aliasRedirect(root, '/project/foo-bar/json/index.json')).toBeNull();
      expect(await aliasRedirect(root, '/project/nothing/')).toBeNull();
      expect(await aliasRedirect(root, '/project/elsewhere/passwd')).toBeNull();
      expect(await aliasRedirect(root, '/project/%E0%A4%A/')).toBeNull();
      expect(await aliasRedirect(root, '/')).toBeNull();
      expect(await aliasRedirect(root, '/a/b/d/')).toBe('/a/b/c/');
      // Deeper than any alias link the publisher makes: not looked at.
      expect(await aliasRedirect(root, '/a/b/c/f/')).toBeNull();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
