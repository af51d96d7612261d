/**
 * Admin API, used by `kiln add|remove|skip|unskip|rebuild|status|pause|
 * resume|worker-token|sync|import` (import: see admin-import.ts). Every call needs `Authorization: Bearer <admin token>`.
 * Packages are named in the body or query (never the path) so scoped npm
 * names need no escaping.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { deleteEndedBuilds, listRunning, requestCancel } from '../../db/queries/builds.ts';
import { listPackageAliases, NEVER_SEEN, recordPackageNames } from '../../db/queries/package-names.ts';
import { deletePackage, ensurePackage, getPackage, setPackageSkip, type PackageRow } from '../../db/queries/packages.ts';
import { queueLengths, unqueuePackage, unqueueVersions } from '../../db/queries/pending.ts';
import { getSetting, setSetting } from '../../db/queries/settings.ts';
import { totals } from '../../db/queries/stats.ts';
import { getVersion, listVersions, markVersionRemoved, setVersionOperatorSkip, type VersionRow } from '../../db/queries/versions.ts';
import { insertWorkerToken, listOnlineWorkers, listWorkerTokens, revokeWorkerToken } from '../../db/queries/workers.ts';
import { generateToken, hashToken, sameSecret } from '../auth.ts';
import { ecosystemOf, type MasterContext } from '../context.ts';
import { httpErrors } from '../http-errors.ts';
import { publishIndexFiles, publishSearch, publishSitemap, type Publisher } from '../publisher.ts';
import { registerImportRoutes } from './admin-import.ts';
import { forgetWorkerTokens } from './worker-api.ts';
import { explain, schedulePackage } from '../scheduler.ts';
import { createSourceStore } from '../source-store.ts';
import { parseBody } from './parse-body.ts';

const pkgRef = z.object({
  ecosystem: z.string().default('npm'),
  name: z.string().min(1).max(300),
  version: z.string().min(1).max(200).optional(),
});

/** Resolve a package (and optionally one version) named by an admin request. @throws 404 when unknown. */
async function resolve(ctx: MasterContext, ref: z.infer<typeof pkgRef>): Promise<{ pkg: PackageRow; versions: VersionRow[] }> {
  if (!ctx.ecosystems.has(ref.ecosystem)) throw httpErrors.unknownEcosystem(ref.ecosystem);
  const name = ecosystemOf(ctx, ref.ecosystem).normalizeName(ref.name);
  const pkg = await getPackage(ctx.db, ref.ecosystem, name);
  if (!pkg) throw httpErrors.notFound(`${ref.ecosystem} package ${ref.name}`);
  if (!ref.version) return { pkg, versions: await listVersions(ctx.db, pkg.id) };
  const v = await getVersion(ctx.db, pkg.id, ref.version);
  if (!v) throw httpErrors.notFound(`${ref.name} version ${ref.version}`);
  return { pkg, versions: [v] };
}

/** What `kiln status` shows, also served as JSON. */
export async function statusReport(ctx: MasterContext) {
  return {
    paused: await getSetting(ctx.db, 'paused', false),
    totals: await totals(ctx.db),
    queue: await queueLengths(ctx.db),
    workers: (await listOnlineWorkers(ctx.db, ctx.config.lease_s * 2)).map((w) => ({
      name: w.name, targets: w.targets, labels: w.labels, kilnVersion: w.kiln_version, lastSeen: w.last_seen,
    })),
    running: await listRunning(ctx.db),
  };
}

/** Register the admin routes under `/api/v1/admin`. `triggerSync` starts a sync now and resolves when it ends. */
export function registerAdminRoutes(app: FastifyInstance, ctx: MasterContext, publisher: Publisher, triggerSync: () => Promise<void>): void {
  // An encapsulated plugin: the auth hook guards exactly the routes registered
  // inside it, however the request path was spelled (%-encoding included).
  app.register(async (admin) => adminRoutes(admin, ctx, publisher, triggerSync), { prefix: '/api/v1/admin' });
}

function adminRoutes(app: FastifyInstance, ctx: MasterContext, publisher: Publisher, triggerSync: () => Promise<void>): void {
  const log = ctx.log.child({ module: 'admin' });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m || !sameSecret(m[1]!, ctx.adminToken)) throw httpErrors.unauthorized();
  });

  // `aliases`: other spellings of the name to link to the package (piw-add --alias); each must normalise to it.
  const addBody = pkgRef.extend({ aliases: z.array(z.string().min(1).max(300)).max(100).default([]) });
  app.post('/packages', async (req) => {
    const ref = parseBody(addBody, req.body);
    if (!ctx.ecosystems.has(ref.ecosystem)) throw httpErrors.unknownEcosystem(ref.ecosystem);
    const eco = ecosystemOf(ctx, ref.ecosystem);
    const wanted = eco.normalizeName(ref.name);
    for (const alias of ref.aliases) {
      if (eco.normalizeName(alias) !== wanted) throw httpErrors.badRequest(`alias ${JSON.stringify(alias)} is not a spelling of ${wanted} (it normalises to ${eco.normalizeName(alias)})`);
      if (/[/\\\s]/.test(alias) || alias.startsWith('.')) throw httpErrors.badRequest(`alias ${JSON.stringify(alias)} cannot be a folder name`);
    }
    let src;
    try {
      src = await eco.fetchPackage(wanted, AbortSignal.timeout(60_000));
    } catch (err) {
      throw httpErrors.upstreamFailed(ref.ecosystem, ref.name, (err as Error).message);
    }
    if (!src) throw httpErrors.notUpstream(ref.ecosystem, ref.name);
    if (src.name !== wanted) throw httpErrors.badRequest(`upstream answered for ${JSON.stringify(src.name)} when asked for ${JSON.stringify(ref.name)}; not adding it`);
    await ensurePackage(ctx.db, ref.ecosystem, src.name, src.displayName);
    await createSourceStore(ctx, ref.ecosystem, log, (id) => publisher.package(id)).applyPackage(src, 'no longer listed upstream');
    const pkg = (await getPackage(ctx.db, ref.ecosystem, src.name))!;
    if (ref.aliases.length) {
      await recordPackageNames(ctx.db, pkg.id, ref.aliases.map((name) => ({ name, seen: NEVER_SEEN })));
      publisher.package(pkg.id);
    }
    log.info({ package: src.name, aliases: ref.aliases }, 'package added');
    return {
      added: src.name,
      versions: src.versions.length,
      queued: await ctx.db.query('SELECT 1 FROM pending p JOIN versions v ON v.id = p.version_id WHERE v.package_id = $1', [pkg.id]).then((r) => r.length),
      aliases: await listPackageAliases(ctx.db, pkg.id, pkg.name),
    };
  });

  app.delete('/packages', async (req) => {
    const q = req.query as Record<string, string>;
    const ref = parseBody(pkgRef, q);
    const buildsOnly = q.builds === 'true';
    const { pkg, versions } = await resolve(ctx, ref);
    const ids = versions.map((v) => v.id);
    const cancelled = await requestCancel(ctx.db, ids);
    if (buildsOnly) {
      const removed = await deleteEndedBuilds(ctx.db, ids);
      // With their builds gone the versions are owed again, as a fresh version would be.
      const queued = await ctx.db.tx((q) => schedulePackage(ctx, q, pkg));
      publisher.package(pkg.id);
      return { removedBuilds: removed.length, cancelledRunning: cancelled, queued };
    }
    if (ref.version) {
      await ctx.db.tx(async (q) => {
        await markVersionRemoved(q, ids[0]!, 'removed by an operator (kiln remove)');
        await unqueueVersions(q, ids);
        await deleteEndedBuilds(q, ids);
      });
      publisher.package(pkg.id);
      return { removedVersion: ref.version, cancelledRunning: cancelled };
    }
    await deletePackage(ctx.db, pkg.id);
    // Through the publisher's loop, so a publish of this package already under way cannot rewrite it afterwards.
    publisher.remove(pkg);
    return { removedPackage: pkg.name, cancelledRunning: cancelled };
  });

  const skipBody = pkgRef.extend({ reason: z.string().min(1).max(500) });
  app.post('/skip', async (req) => {
    const body = parseBody(skipBody, req.body);
    const { pkg, versions } = await resolve(ctx, body);
    // One transaction with a lock on the package: a sync of it waits, so nothing it queues survives the skip.
    await ctx.db.tx(async (q) => {
      await q.query('SELECT 1 FROM packages WHERE id = $1 FOR UPDATE', [pkg.id]);
      if (body.version) {
        await setVersionOperatorSkip(q, versions[0]!.id, body.reason);
        await unqueueVersions(q, [versions[0]!.id]);
      } else {
        await setPackageSkip(q, pkg.id, body.reason);
        await unqueuePackage(q, pkg.id);
      }
    });
    publisher.package(pkg.id);
    return { skipped: body.version ? `${pkg.name} ${body.version}` : pkg.name, reason: body.reason };
  });

  app.post('/unskip', async (req) => {
    const body = parseBody(pkgRef, req.body);
    const { pkg, versions } = await resolve(ctx, body);
    if (body.version) await setVersionOperatorSkip(ctx.db, versions[0]!.id, null);
    else await setPackageSkip(ctx.db, pkg.id, null);
    const fresh = (await getPackage(ctx.db, pkg.ecosystem, pkg.name))!;
    const queued = await ctx.db.tx((q) => schedulePackage(ctx, q, fresh));
    publisher.package(pkg.id);
    return { unskipped: body.version ? `${pkg.name} ${body.version}` : pkg.name, queued };
  });

  registerImportRoutes(app, ctx, publisher);

  // `what`: builds (requeue), or rewrite part of the site as piw-rebuild does: site (everything), home (home page,
  // status.json, index files, packages page, sitemap), index (only the ecosystems' index files), search (the
  // packages page with its search data, and the sitemap), project (one package's pages and repository files).
  const rebuildBody = z.object({
    what: z.enum(['builds', 'site', 'home', 'index', 'search', 'project']).default('builds'),
    ecosystem: z.string().default('npm'),
    name: z.string().optional(),
    version: z.string().optional(),
    target: z.string().optional(),
    failedOnly: z.boolean().default(false),
  });
  app.post('/rebuild', async (req) => {
    const body = parseBody(rebuildBody, req.body);
    if (body.what === 'site') {
      await publisher.all();
      return { rebuilt: 'site' };
    }
    if (body.what === 'home') {
      // Through the publisher's loop, so it never races a publish under way; the home page writes the index files,
      // the packages page and the sitemap too.
      publisher.home();
      await publisher.flush();
      return { rebuilt: 'home' };
    }
    if (body.what === 'search') {
      await publishSearch(ctx);
      await publishSitemap(ctx);
      return { rebuilt: 'search' };
    }
    if (body.what === 'index') {
      await publishIndexFiles(ctx);
      return { rebuilt: 'index' };
    }
    if (body.what === 'project') {
      if (!body.name) throw httpErrors.badRequest('name: which package to rewrite');
      const { pkg } = await resolve(ctx, { ecosystem: body.ecosystem, name: body.name });
      publisher.package(pkg.id);
      await publisher.flush();
      return { rebuilt: `project ${pkg.name}` };
    }
    if (!body.name) throw httpErrors.badRequest('name: which package to rebuild');
    const { pkg, versions } = await resolve(ctx, { ecosystem: body.ecosystem, name: body.name, version: body.version });
    const removed = await deleteEndedBuilds(ctx.db, versions.map((v) => v.id), body.target, body.failedOnly ? ['failed', 'untestable'] : undefined);
    const queued = await ctx.db.tx((q) => schedulePackage(ctx, q, pkg));
    publisher.package(pkg.id);
    return { forgotBuilds: removed.length, queued };
  });

  app.get('/status', async (req) => {
    const q = req.query as Record<string, string>;
    if (q.why) {
      try {
        return { why: await explain(ctx, q.ecosystem ?? 'npm', q.why, q.version || undefined) };
      } catch (err) {
        throw httpErrors.notFound((err as Error).message.replace(/ not found$/, ''));
      }
    }
    return statusReport(ctx);
  });

  app.post('/pause', async () => {
    await setSetting(ctx.db, 'paused', true);
    return { paused: true };
  });
  app.post('/resume', async () => {
    await setSetting(ctx.db, 'paused', false);
    ctx.events.emit('queued');
    return { paused: false };
  });

  app.post('/sync', async () => {
    await triggerSync();
    return { synced: true };
  });

  app.post('/worker-tokens', async (req) => {
    const body = parseBody(z.object({ name: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, . _ -') }), req.body);
    const token = generateToken();
    try {
      await insertWorkerToken(ctx.db, body.name, hashToken(token));
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw httpErrors.conflict(`a worker token named ${body.name} already exists`);
      throw err;
    }
    return { name: body.name, token };
  });
  app.get('/worker-tokens', async () => ({
    tokens: (await listWorkerTokens(ctx.db)).map((t) => ({ name: t.name, created: t.created_at, revoked: t.revoked_at, lastUsed: t.last_used_at })),
  }));
  app.delete('/worker-tokens', async (req) => {
    const name = (req.query as Record<string, string>).name ?? '';
    if (!(await revokeWorkerToken(ctx.db, name))) throw httpErrors.notFound(`live worker token ${name}`);
    forgetWorkerTokens();
    return { revoked: name };
  });
}
