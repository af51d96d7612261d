/**
 * Publishing: after anything about a package changes, rewrite that
 * package's repository files, page and JSON, and (debounced) the home page.
 * Every file is written to a temp name and renamed into place, and files a
 * package no longer publishes are removed, so the output path is always a
 * consistent snapshot that any static web server can serve.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { listPackageAliases } from '../db/queries/package-names.ts';
import { getPackageById, listPackages, type PackageRow } from '../db/queries/packages.ts';
import { queueLengths } from '../db/queries/pending.ts';
import { totals } from '../db/queries/stats.ts';
import { listOnlineWorkers } from '../db/queries/workers.ts';
import { renderHome, renderNotFound, renderPackage, renderPackages, stylesheet, type HomePage, type PackagePage } from '../site/render.ts';
import { packageDir, packageJsonPath, rootFrom } from '../site/paths.ts';
import { searchIndex, type SearchPackage } from '../site/search.ts';
import { isSitemapPart, SITEMAP_LIMIT, sitemapFiles, siteUrl } from '../site/sitemap.ts';
import { linkFileAtomic, outputFile, symlinkAtomic, writeFileAtomic } from './atomic-write.ts';
import { ecosystemOf, type MasterContext } from './context.ts';
import { loadPackageModel } from './package-model.ts';

/** Output-relative folder of the per-package manifests (what each package published last time). */
const MANIFEST_DIR = '.kiln/published';

function manifestPath(outputPath: string, pkg: PackageRow): string {
  return join(outputPath, MANIFEST_DIR, pkg.ecosystem, `${encodeURIComponent(pkg.name)}.json`);
}

/** Rewrite everything one package publishes. */
export async function publishPackage(ctx: MasterContext, pkg: PackageRow): Promise<void> {
  const eco = ecosystemOf(ctx, pkg.ecosystem);
  const model = await loadPackageModel(ctx.db, pkg, ctx.paths.storeDir, ctx.baseUrl);
  const files = eco.repositoryFiles(model.repository);
  // Site files outside the ecosystem's folder (PyPI's piwheels-style project JSON) go with them.
  if (eco.siteFiles) for (const [rel, f] of eco.siteFiles(model.repository)) if (!files.has(rel)) files.set(rel, f);
  const dir = packageDir(pkg.ecosystem, pkg.name);
  const root = rootFrom(dir);
  const relBySha = new Map<string, string>();
  // A path the ecosystem produced from upstream data that would leave the output path is dropped, not fatal.
  for (const rel of [...files.keys()]) {
    try {
      outputFile(ctx.paths.outputPath, rel);
    } catch (err) {
      ctx.log.child({ module: 'publish' }).warn({ package: pkg.name, err: (err as Error).message }, 'unsafe repository path left out');
      files.delete(rel);
    }
  }
  for (const [rel, f] of files) {
    if ('linkFrom' in f) {
      const a = model.repository.artifacts.find((x) => x.storePath === f.linkFrom);
      if (a && !relBySha.has(a.sha256)) relBySha.set(a.sha256, rel);
      await linkFileAtomic(f.linkFrom, outputFile(ctx.paths.outputPath, rel));
    } else {
      await writeFileAtomic(outputFile(ctx.paths.outputPath, rel), f.content);
    }
  }
  for (const v of model.page.versions) {
    for (const c of Object.values(v.cells)) {
      for (const file of c.files) file.url = relBySha.has(file.sha256) ? `${root}${relBySha.get(file.sha256)}` : '';
    }
  }
  model.page.usage = eco.usage(model.repository);
  const pageRel = `${dir}index.html`;
  const jsonRel = packageJsonPath(pkg.ecosystem, pkg.name);
  await writeFileAtomic(outputFile(ctx.paths.outputPath, pageRel), renderPackage(model.page, root));
  await writeFileAtomic(outputFile(ctx.paths.outputPath, jsonRel), `${JSON.stringify(packageJson(model.page, relBySha, ctx.baseUrl), null, 1)}\n`);

  // Other spellings of the name link to the package's folders, as piwheels' symlinks do.
  const links = aliasLinks([...files.keys(), pageRel], pkg.name, await listPackageAliases(ctx.db, pkg.id, pkg.name));
  for (const [rel, target] of links) {
    if (!(await symlinkAtomic(target, outputFile(ctx.paths.outputPath, rel)))) {
      ctx.log.child({ module: 'publish' }).warn({ package: pkg.name, path: rel }, 'alias link left out: a real folder has that name');
      links.delete(rel);
    }
  }

  // Remove what this package published before but no longer does (removed versions, rebuilt files).
  const now = new Set([...files.keys(), pageRel, jsonRel, ...links.keys()]);
  const manifest = manifestPath(ctx.paths.outputPath, pkg);
  if (existsSync(manifest)) {
    const before = JSON.parse(await readFile(manifest, 'utf8')) as string[];
    for (const rel of before) if (!now.has(rel)) await rm(outputFile(ctx.paths.outputPath, rel), { force: true });
  }
  await writeFileAtomic(manifest, JSON.stringify([...now]));
}

/**
 * The alias links of one package: each folder it publishes that is named
 * after it and has an index page of its own (`project/<name>/`,
 * `pypi/simple/<name>/`, `packages/pypi/<name>/`; the outermost one, so a
 * package named `json` does not link its own `json/` subfolder) gets a
 * sibling per alias, a symlink to that folder, so an old spelling's URLs
 * work on any web server that follows symlinks. Aliases that cannot be a
 * folder name (empty, with a slash, or hidden) are left out.
 * @param files output-relative files the package publishes.
 * @returns output-relative link path → link target (the folder's own name, so the link is relative).
 */
export function aliasLinks(files: Iterable<string>, name: string, aliases: string[]): Map<string, string> {
  const usable = aliases.filter((a) => a && a !== name && !/[/\\]/.test(a) && !a.startsWith('.'));
  const rels = new Set(files);
  const parents = new Set<string>();
  for (const rel of rels) {
    const parts = rel.split('/');
    for (let i = 0; i < parts.length - 1; i++) {
      if (parts[i] !== name) continue;
      const folder = parts.slice(0, i + 1).join('/');
      if (!rels.has(`${folder}/index.html`) && !rels.has(`${folder}/index.json`)) continue;
      parents.add(parts.slice(0, i).join('/'));
      break;
    }
  }
  const links = new Map<string, string>();
  for (const parent of parents) for (const a of usable) links.set(parent ? `${parent}/${a}` : a, name);
  return links;
}

/** The package's JSON document: versions → targets → status, reason, duration and files with sha256 and URL. */
function packageJson(p: PackagePage, relBySha: Map<string, string>, baseUrl: string): unknown {
  return {
    ecosystem: p.ecosystem,
    name: p.name,
    display_name: p.displayName,
    summary: p.summary,
    skip: p.skip,
    targets: p.targets,
    versions: Object.fromEntries(
      p.versions.map((v) => [
        v.version,
        {
          released: v.released,
          skip: v.skip,
          yanked: v.yanked,
          deprecated: v.deprecated,
          dependencies: Object.fromEntries((v.dependencies ?? []).map((d) => [d.kind, d.items])),
          builds: Object.fromEntries(
            Object.entries(v.cells).map(([t, c]) => [
              t,
              {
                status: c.state,
                reason: c.reason ?? null,
                duration_s: c.durationS ?? null,
                build_id: c.buildId ?? null,
                files: c.files.map((f) => ({
                  filename: f.filename,
                  size: f.size,
                  sha256: f.sha256,
                  url: relBySha.has(f.sha256) ? `${baseUrl}/${relBySha.get(f.sha256)}` : null,
                })),
              },
            ]),
          ),
        },
      ]),
    ),
  };
}

/** Remove everything a deleted package had published. */
export async function unpublishPackage(ctx: MasterContext, pkg: PackageRow): Promise<void> {
  const manifest = manifestPath(ctx.paths.outputPath, pkg);
  if (!existsSync(manifest)) return;
  const before = JSON.parse(await readFile(manifest, 'utf8')) as string[];
  for (const rel of before) await rm(outputFile(ctx.paths.outputPath, rel), { force: true });
  await rm(manifest, { force: true });
}

/** Rewrite each ecosystem's package-wide index files (e.g. PEP 503's root page), if it has any. */
export async function publishIndexFiles(ctx: MasterContext): Promise<void> {
  for (const eco of ctx.ecosystems.values()) {
    if (!eco.indexFiles) continue;
    const rows = await ctx.db.query<{ name: string; display_name: string; published: boolean }>(
      `SELECT p.name, p.display_name, EXISTS (
         SELECT 1 FROM builds b JOIN versions v ON v.id = b.version_id JOIN artifacts a ON a.build_id = b.id
         WHERE v.package_id = p.id AND b.status = 'passed') AS published
       FROM packages p WHERE p.ecosystem = $1 ORDER BY p.name`,
      [eco.name],
    );
    const files = eco.indexFiles(rows.map((r) => ({ name: r.name, displayName: r.display_name, published: r.published })), ctx.baseUrl);
    for (const [rel, f] of files) {
      if ('content' in f) await writeFileAtomic(outputFile(ctx.paths.outputPath, rel), f.content);
    }
  }
}

/** Every package, for the packages page's search data and the sitemap. */
async function allPackages(ctx: MasterContext): Promise<SearchPackage[]> {
  const rows = await ctx.db.query<{ ecosystem: string; name: string; display_name: string; summary: string | null; versions: number; passed: number }>(
    `SELECT p.ecosystem, p.name, p.display_name, p.summary,
       coalesce(vc.n, 0)::int AS versions, coalesce(bc.n, 0)::int AS passed
     FROM packages p
     LEFT JOIN (SELECT package_id, count(*) AS n FROM versions GROUP BY package_id) vc ON vc.package_id = p.id
     LEFT JOIN (SELECT v.package_id, count(*) AS n FROM builds b JOIN versions v ON v.id = b.version_id
                WHERE b.status = 'passed' GROUP BY v.package_id) bc ON bc.package_id = p.id
     ORDER BY p.ecosystem, p.name`,
  );
  return rows.map((r) => ({ ecosystem: r.ecosystem, name: r.name, displayName: r.display_name, summary: r.summary, versions: r.versions, passed: r.passed }));
}

/**
 * Rewrite the packages page (`packages.html`) and its search data
 * (`packages.json`). Pass `packages` when the caller already read them.
 */
export async function publishSearch(ctx: MasterContext, packages?: SearchPackage[]): Promise<void> {
  const all = packages ?? (await allPackages(ctx));
  const out = ctx.paths.outputPath;
  await writeFileAtomic(join(out, 'packages.json'), JSON.stringify(searchIndex(all)));
  await writeFileAtomic(join(out, 'packages.html'), renderPackages({ total: all.length, ecosystems: [...new Set(all.map((p) => p.ecosystem))].sort() }));
}

/**
 * Rewrite the sitemap: the home page, the packages page and every package
 * page, as absolute URLs under `ctx.baseUrl`, split at `limit` URLs per
 * file (see {@link sitemapFiles}); numbered parts a smaller site no longer
 * needs are removed.
 */
export async function publishSitemap(ctx: MasterContext, packages?: SearchPackage[], limit = SITEMAP_LIMIT): Promise<void> {
  const all = packages ?? (await allPackages(ctx));
  const base = ctx.baseUrl;
  const urls = [siteUrl(base, ''), siteUrl(base, 'packages.html'), ...all.map((p) => siteUrl(base, packageDir(p.ecosystem, p.name)))];
  const files = sitemapFiles(urls, base, limit);
  const out = ctx.paths.outputPath;
  // Parts first, then the file that points at them.
  for (const [name, content] of files) if (name !== 'sitemap.xml') await writeFileAtomic(join(out, name), content);
  await writeFileAtomic(join(out, 'sitemap.xml'), files.get('sitemap.xml')!);
  for (const name of await readdir(out)) if (isSitemapPart(name) && !files.has(name)) await rm(join(out, name), { force: true });
}

/** The home page lists at most this many packages, most recently built first (every package has its own page). */
export const HOME_PACKAGES = 500;

/** Rewrite the home page, `status.json`, the stylesheet, the 404 page, the packages page with its search data, and the sitemap. */
export async function publishHome(ctx: MasterContext): Promise<HomePage> {
  const onlineWithinS = ctx.config.lease_s * 2;
  const [t, queue, workers, packages] = await Promise.all([
    totals(ctx.db),
    queueLengths(ctx.db),
    listOnlineWorkers(ctx.db, onlineWithinS),
    ctx.db.query<{ id: number; ecosystem: string; name: string; display_name: string; skip: string | null; sync_error: string | null; versions: number; passed: number; failed: number }>(
      `SELECT p.id, p.ecosystem, p.name, p.display_name, p.skip, p.sync_error,
         (SELECT count(*) FROM versions v WHERE v.package_id = p.id)::int AS versions,
         (SELECT count(*) FROM builds b JOIN versions v ON v.id = b.version_id WHERE v.package_id = p.id AND b.status = 'passed')::int AS passed,
         (SELECT count(*) FROM builds b JOIN versions v ON v.id = b.version_id WHERE v.package_id = p.id AND b.status = 'failed')::int AS failed
       FROM packages p
       ORDER BY (SELECT max(b.id) FROM builds b JOIN versions v ON v.id = b.version_id WHERE v.package_id = p.id) DESC NULLS LAST, p.name
       LIMIT $1`,
      [HOME_PACKAGES],
    ),
  ]);
  const home: HomePage = {
    totals: t,
    queue: queue.map((q) => ({ ...q, workers: workers.filter((w) => w.targets.includes(q.target)).length })),
    workers: workers.map((w) => ({ name: w.name, targets: w.targets, labels: w.labels, kilnVersion: w.kiln_version, lastSeen: w.last_seen.toISOString() })),
    packages: packages.map((p) => ({
      displayName: p.display_name,
      ecosystem: p.ecosystem,
      href: `${packageDir(p.ecosystem, p.name)}index.html`,
      versions: p.versions,
      passed: p.passed,
      failed: p.failed,
      note: p.skip ? `skipped: ${p.skip}` : p.sync_error ? `sync failed: ${p.sync_error}` : '',
    })),
  };
  const out = ctx.paths.outputPath;
  await publishIndexFiles(ctx);
  await writeFileAtomic(join(out, 'index.html'), renderHome(home));
  await writeFileAtomic(join(out, 'status.json'), `${JSON.stringify({ totals: home.totals, queue: home.queue, workers: home.workers, generated: new Date().toISOString() }, null, 1)}\n`);
  await writeFileAtomic(join(out, 'style.css'), stylesheet());
  await writeFileAtomic(join(out, '404.html'), renderNotFound(new URL(ctx.baseUrl || 'http://localhost/').pathname));
  const all = await allPackages(ctx);
  await publishSearch(ctx, all);
  await publishSitemap(ctx, all);
  return home;
}

/**
 * Serialises publishing work: package ids and the home page are collected
 * and written by one loop, so a burst of finished builds rewrites each page
 * once, and two writers never race on one file.
 */
export class Publisher {
  private readonly dirty = new Set<number>();
  private readonly removed: PackageRow[] = [];
  private homeDirty = false;
  private running: Promise<void> | null = null;
  private readonly log: Logger;
  private lastHome = 0;
  /**
   * Least time between two home-page writes, ms: its totals count every
   * build, so a burst of finishes must not rewrite it once per build.
   */
  homeIntervalMs = 2000;

  constructor(private readonly ctx: MasterContext) {
    this.log = ctx.log.child({ module: 'publish' });
  }

  /** Mark a package for republishing (and the home page with it). */
  package(packageId: number): void {
    this.dirty.add(packageId);
    this.homeDirty = true;
    this.kick();
  }

  /** Withdraw everything a deleted package published (its row is already gone). */
  remove(pkg: PackageRow): void {
    this.removed.push(pkg);
    this.dirty.delete(pkg.id);
    this.homeDirty = true;
    this.kick();
  }

  /** Mark the home page for republishing. */
  home(): void {
    this.homeDirty = true;
    this.kick();
  }

  /** Whether anything is waiting to be written or being written. */
  busy(): boolean {
    return this.running !== null || this.dirty.size > 0 || this.removed.length > 0 || this.homeDirty;
  }

  /** Wait until everything marked so far is written. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Republish every package and the home page (`kiln rebuild --site`, and at start). */
  async all(): Promise<void> {
    for (const p of await listPackages(this.ctx.db)) this.dirty.add(p.id);
    this.homeDirty = true;
    this.kick();
    await this.flush();
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      if (this.dirty.size || this.removed.length || this.homeDirty) this.kick();
    });
  }

  private async loop(): Promise<void> {
    while (this.dirty.size || this.removed.length || this.homeDirty) {
      for (const pkg of this.removed.splice(0)) {
        try {
          await unpublishPackage(this.ctx, pkg);
        } catch (err) {
          this.log.error({ err, package: pkg.name }, 'withdrawing a removed package failed');
        }
      }
      const ids = [...this.dirty];
      this.dirty.clear();
      for (const id of ids) {
        try {
          const pkg = await getPackageById(this.ctx.db, id);
          if (pkg) await publishPackage(this.ctx, pkg);
        } catch (err) {
          this.log.error({ err, packageId: id }, 'publishing a package failed; it is retried at its next change or kiln rebuild --site');
        }
      }
      if (this.homeDirty) {
        const wait = this.lastHome + this.homeIntervalMs - Date.now();
        if (wait > 0 && this.dirty.size === 0) await new Promise((r) => setTimeout(r, wait));
        if (wait > 0 && this.dirty.size > 0) continue;
        this.homeDirty = false;
        this.lastHome = Date.now();
        try {
          await publishHome(this.ctx);
        } catch (err) {
          this.log.error({ err }, 'publishing the home page failed');
        }
        // On a big farm the home page's totals take seconds: keep it to a tenth of the publisher's time.
        this.homeIntervalMs = Math.max(2000, 10 * (Date.now() - this.lastHome));
      }
    }
  }
}
