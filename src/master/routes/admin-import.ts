/**
 * `kiln import` (as piwheels' `piw-import`): artifacts built elsewhere enter
 * the master as a passed build with no worker. Two steps, both under the
 * admin API's Bearer check:
 *
 * 1. `PUT import/files/:filename` streams one file (an artifact, or the
 *    build log) with its sha256 in `x-kiln-sha256` and its `content-length`,
 *    through the same verification as a worker's upload (receiveUpload): a
 *    wrong size or hash leaves nothing behind. The verified file is staged
 *    in the content-addressed store; nothing refers to it yet, so nothing is
 *    published (the store prune drops it after an hour if no import claims it).
 * 2. `POST import` names the package, version, target, duration, log and the
 *    staged files. The master checks the names (safe, and the ecosystem's
 *    checkArtifactName for that version and target), derives what the
 *    ecosystem needs (PyPI: the wheel's METADATA as the PEP 658
 *    `<wheel>.metadata` file; a wheel without METADATA is refused), then
 *    records the build and its artifacts in one transaction and publishes.
 *    Any refusal leaves the database and the site untouched.
 *
 * An import for a (version, target) that already has a passed build is
 * refused (409), as piw-import refuses files it already has, unless
 * `replace` is set: then the earlier ended builds of that pair are
 * forgotten in the same transaction. A running build of the pair is always
 * refused.
 */
import { existsSync } from 'node:fs';
import { stat, readFile, utimes } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Readable, Stream } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { insertArtifact } from '../../db/queries/artifacts.ts';
import { addLogSize, deleteEndedBuilds, insertImportedBuild } from '../../db/queries/builds.ts';
import { getPackage } from '../../db/queries/packages.ts';
import { unqueueTargets } from '../../db/queries/pending.ts';
import { listTargets, type TargetRow } from '../../db/queries/targets.ts';
import { getVersion } from '../../db/queries/versions.ts';
import type { Json, MasterEcosystem, VersionInfo } from '../../ecosystems/types.ts';
import { METADATA_SUFFIX, parseWheelFilename } from '../../ecosystems/pypi/wheel-name.ts';
import { describeVerifiedWheel } from '../../ecosystems/pypi/verified-wheel.ts';
import { HttpError } from '../../errors.ts';
import { HEADER_SHA256, unsafeFilenameReason } from '../../protocol/messages.ts';
import { receiveUpload, storePath } from '../artifact-store.ts';
import { appendLogChunk, publishLog } from '../build-logs.ts';
import { ecosystemOf, type MasterContext } from '../context.ts';
import { httpErrors } from '../http-errors.ts';
import type { Publisher } from '../publisher.ts';
import { scheduleVersion, versionInfo } from '../scheduler.ts';
import { MAX_ARTIFACT_BYTES } from '../worker-service.ts';
import { parseBody } from './parse-body.ts';

const staged = z.object({
  filename: z.string().min(1).max(255),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex sha256'),
  size: z.number().int().nonnegative(),
});

/** Body of `POST /api/v1/admin/import`. */
export const importRequest = z.object({
  ecosystem: z.string().default('pypi'),
  package: z.string().min(1).max(300),
  version: z.string().min(1).max(200),
  /** Target name; when absent, the first existing target (in version order) every file is valid for. */
  target: z.string().min(1).max(200).optional(),
  durationS: z.number().nonnegative().max(365 * 86400).default(0),
  /** A staged upload holding the build log. */
  log: staged.omit({ filename: true }).optional(),
  files: z.array(staged).min(1).max(100),
  /** Replace an earlier passed build of the same version and target instead of refusing. */
  replace: z.boolean().default(false),
});
export type ImportRequest = z.infer<typeof importRequest>;

/** What `POST import` answers. */
export interface ImportResponse {
  buildId: number;
  package: string;
  version: string;
  target: string;
  files: Array<{ filename: string; sha256: string; size: number }>;
  /** Earlier builds of this version and target forgotten (`replace`). */
  replaced: number;
}

/** A file to record: verified, in the store. */
interface ImportFile {
  filename: string;
  sha256: string;
  size: number;
  tags: Json;
}

/** Order target names as versions (`cp39` before `cp313`). */
const byVersion = (a: TargetRow, b: TargetRow) => a.name.localeCompare(b.name, 'en', { numeric: true });

/**
 * PyPI: each wheel gets its tags (as a worker's would, without apt
 * dependencies, which need the build machine) and its METADATA as the PEP
 * 658 `<wheel>.metadata` artifact. Client-sent `.metadata` files are
 * refused: the master derives them from the wheel it verified.
 */
async function pypiExtras(ctx: MasterContext, files: ImportFile[]): Promise<ImportFile[]> {
  const out: ImportFile[] = [];
  for (const f of files) {
    if (f.filename.endsWith(METADATA_SUFFIX)) {
      throw httpErrors.badRequest(`${f.filename}: do not send .metadata files; the master extracts METADATA from the wheel itself`);
    }
    const w = parseWheelFilename(f.filename);
    if (!w) {
      out.push(f);
      continue;
    }
    const d = await describeVerifiedWheel(storePath(ctx.paths.storeDir, f.sha256), f.filename);
    if (typeof d === 'string') throw httpErrors.badArtifactName(d);
    const metadata = d.metadata;
    out.push({ ...f, tags: { ...d.tags, imported: true } });
    const sha256 = createHash('sha256').update(metadata).digest('hex');
    const stored = await receiveUpload(Readable.from([metadata]), { sha256, size: metadata.length }, ctx.paths, MAX_ARTIFACT_BYTES);
    out.push({ filename: `${f.filename}${METADATA_SUFFIX}`, sha256: stored.sha256, size: stored.size, tags: { kind: 'metadata', for: f.filename } });
  }
  return out;
}

/** Ecosystem-specific files and tags derived from the verified uploads, by ecosystem name. */
const EXTRAS: Record<string, (ctx: MasterContext, files: ImportFile[]) => Promise<ImportFile[]>> = { pypi: pypiExtras };

/** Pick the target: the named one, or the first (in version order) for which every file's name is valid. */
function chooseTarget(eco: MasterEcosystem, info: VersionInfo, targets: TargetRow[], files: ImportFile[], wanted: string | undefined): TargetRow {
  const check = (t: TargetRow) => {
    for (const f of files) {
      const err = eco.checkArtifactName(f.filename, info, { name: t.name, facts: t.facts });
      if (err) return err;
    }
    return null;
  };
  if (wanted) {
    const t = targets.find((x) => x.name === wanted);
    if (!t) {
      throw httpErrors.notFound(
        `${eco.name} target ${wanted} (known ${eco.name} targets: ${targets.map((x) => x.name).join(', ') || 'none yet; a worker declares its targets at hello'})`,
      );
    }
    const err = check(t);
    if (err) throw httpErrors.badArtifactName(err);
    return t;
  }
  if (targets.length === 0) throw httpErrors.notFound(`any ${eco.name} target (none known yet: a worker declares its targets at hello)`);
  const reasons: string[] = [];
  for (const t of targets) {
    const err = check(t);
    if (!err) return t;
    reasons.push(`${t.name}: ${err}`);
  }
  throw httpErrors.badArtifactName(`no known ${eco.name} target takes these files; name one with --abi. ${reasons.join('; ')}`);
}

/** Register the import routes inside the admin plugin (so its auth hook guards them). */
export function registerImportRoutes(app: FastifyInstance, ctx: MasterContext, publisher: Publisher): void {
  const log = ctx.log.child({ module: 'admin' });

  app.put('/import/files/:filename', async (req) => {
    const filename = (req.params as { filename: string }).filename;
    const why = unsafeFilenameReason(filename);
    if (why) throw httpErrors.unsafeFilename(filename, why);
    const sha256 = String(req.headers[HEADER_SHA256] ?? '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw httpErrors.badRequest(`${HEADER_SHA256} header must be a hex sha256`);
    const size = Number(req.headers['content-length']);
    if (!Number.isSafeInteger(size) || size < 0) throw httpErrors.badRequest('content-length is required');
    if (!(req.body instanceof Stream)) throw httpErrors.unsupportedMedia('files must be sent as application/octet-stream');
    const stored = await receiveUpload(req.body as Readable, { sha256, size }, ctx.paths, MAX_ARTIFACT_BYTES);
    return { filename, sha256: stored.sha256, size: stored.size };
  });

  app.post('/import', async (req): Promise<ImportResponse> => {
    const body = parseBody(importRequest, req.body);
    if (!ctx.ecosystems.has(body.ecosystem)) throw httpErrors.unknownEcosystem(body.ecosystem);
    const eco = ecosystemOf(ctx, body.ecosystem);
    const name = eco.normalizeName(body.package);
    const pkg = await getPackage(ctx.db, body.ecosystem, name);
    if (!pkg) throw httpErrors.notFound(`${body.ecosystem} package ${body.package} (the master imports only packages it tracks: kiln add it first)`);
    const v = await getVersion(ctx.db, pkg.id, body.version);
    if (!v) throw httpErrors.notFound(`${pkg.display_name} version ${body.version} (not known to the master: wait for the next sync, or run kiln sync)`);

    // Every file must be staged (verified on receipt) and named safely, once.
    const seen = new Set<string>();
    const all = body.log ? [...body.files, { ...body.log, filename: 'build log' }] : body.files;
    for (const f of all) {
      if (f.filename !== 'build log') {
        const why = unsafeFilenameReason(f.filename);
        if (why) throw httpErrors.unsafeFilename(f.filename, why);
        if (seen.has(f.filename)) throw httpErrors.badRequest(`${f.filename} is listed twice`);
        seen.add(f.filename);
      }
      const path = storePath(ctx.paths.storeDir, f.sha256);
      const st = existsSync(path) ? await stat(path) : null;
      if (!st || st.size !== f.size) {
        throw new HttpError(422, 'missing_artifact', `${f.filename} (sha256 ${f.sha256}, ${f.size} bytes) was not uploaded: PUT import/files/<name> it first`);
      }
      // Fresh mtime: the store prune leaves it alone while this import runs.
      const now = new Date();
      await utimes(path, now, now);
    }
    let files: ImportFile[] = body.files.map((f) => ({ ...f, tags: { imported: true } }));
    const info = versionInfo(pkg, v);
    const targets = (await listTargets(ctx.db, body.ecosystem)).sort(byVersion);
    const target = chooseTarget(eco, info, targets, files, body.target);
    files = (await EXTRAS[body.ecosystem]?.(ctx, files)) ?? files;
    for (const f of files) {
      const err = eco.checkArtifactName(f.filename, info, { name: target.name, facts: target.facts });
      if (err) throw httpErrors.badArtifactName(err);
    }

    ctx.finishing++;
    try {
      const { build, replaced } = await ctx.db.tx(async (q) => {
        // One import (or sync, or finish) of this version at a time.
        await q.query('SELECT 1 FROM versions WHERE id = $1 FOR UPDATE', [v.id]);
        const earlier = await q.query<{ id: number; status: string }>('SELECT id, status FROM builds WHERE version_id = $1 AND target = $2 ORDER BY id', [v.id, target.name]);
        if (earlier.some((b) => b.status === 'running')) {
          throw httpErrors.conflict(`${pkg.display_name} ${v.version} is being built on ${target.name} right now; wait for it to end, then import with --replace`);
        }
        const passed = earlier.filter((b) => b.status === 'passed');
        if (passed.length && !body.replace) {
          throw httpErrors.conflict(`${pkg.display_name} ${v.version} is already built for ${target.name} (build ${passed.map((b) => b.id).join(', ')}); pass --replace to replace it`);
        }
        const replaced = body.replace ? (await deleteEndedBuilds(q, [v.id], target.name)).length : 0;
        const build = await insertImportedBuild(q, v.id, target.name, Math.round(body.durationS * 1000));
        for (const f of files) await insertArtifact(q, { buildId: build.id, filename: f.filename, size: f.size, sha256: f.sha256, tags: f.tags });
        await unqueueTargets(q, v.id, [target.name]);
        // A wheel that serves other targets too (py3-none-any) settles them as well.
        await scheduleVersion(ctx, q, pkg, v);
        return { build, replaced };
      });
      const logText = body.log ? await readFile(storePath(ctx.paths.storeDir, body.log.sha256)) : Buffer.alloc(0);
      if (logText.length) {
        const r = await appendLogChunk(ctx.paths, build.id, 0, logText);
        if (r.added > 0) await addLogSize(ctx.db, build.id, r.added);
      }
      await publishLog(ctx.paths, build.id, `imported with kiln import${body.log ? '' : ' (no build log was given)'}: built elsewhere, no worker`);
      log.info({ build: build.id, package: pkg.name, version: v.version, target: target.name, files: files.map((f) => f.filename), replaced }, 'build imported');
      ctx.events.emit('finished', { buildId: build.id, packageId: pkg.id, status: 'passed' });
      // Committed: the verified copies are in the store, so `kiln import --delete` may drop the originals. The
      // publisher writes the package's files next (not awaited: the home page's debounce can take seconds).
      publisher.package(pkg.id);
      return { buildId: build.id, package: pkg.name, version: v.version, target: target.name, files: files.map((f) => ({ filename: f.filename, sha256: f.sha256, size: f.size })), replaced };
    } finally {
      ctx.finishing--;
    }
  });
}
