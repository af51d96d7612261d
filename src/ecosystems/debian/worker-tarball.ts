/**
 * The base tarball piuparts starts every test from (`-b`), kept as
 * piuparts-slave 1.1.7 keeps it (`_check_tarball` and `create_chroot` in
 * /usr/share/piuparts/piuparts-slave):
 *
 * - `<cacheDir>/basetgz/<distro>_<arch>.tar.gz` (see {@link baseTarballName}),
 *   made by piuparts itself (`… -d <distro> -s <tarball>.new
 *   --no-install-purge-test --no-upgrade-test --apt TARBALL`) and renamed
 *   into place only when that succeeds; its output goes to `<tarball>.log`,
 *   not to the package's log;
 * - rebuilt once older than `maxTgzAge` seconds (0: never), while the old
 *   one stays in use if rebuilding fails;
 * - after a failed attempt, no new one for `minTgzRetryDelay` seconds: the
 *   failure is remembered in `<tarball>.failed` (its mtime is the time,
 *   its text the reason), so other worker processes honour it too.
 *
 * One build at a time creates a tarball: a proper-lockfile lock on
 * `<tarball>.lock` holds off other builds of this process and of other
 * worker processes on the machine, which wait for it and then use it.
 * Unlike the slave, a creation also needs piuparts to exit 0.
 */
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import lockfile from 'proper-lockfile';
import type { BuildContext } from '../types.ts';
import type { DebianJobSpec } from './job-spec.ts';
import { baseTarballName, commandString, tarballCreateCommand, type CommandEnv } from './worker-command.ts';
import { slaveTime } from './worker-log.ts';
import { runToFile } from './worker-run.ts';

/** How the tarball is kept. */
export interface TarballOptions {
  /** The worker's cache directory; tarballs go to `<cacheDir>/basetgz/`. */
  cacheDir: string;
  /** The slave's environment-derived arguments (`--proxy`). */
  env?: CommandEnv;
  /** Gets a warning when the lock is lost. */
  log?: Logger;
  /** ms between attempts to take the lock while another build holds it (default 1000). */
  pollMs?: number;
}

/** The base tarball's path for a spec: `<cacheDir>/basetgz/<name>`. */
export function baseTarballPath(spec: DebianJobSpec, cacheDir: string): string {
  return path.join(cacheDir, 'basetgz', baseTarballName(spec));
}

/** What to do about the tarball now. */
type Plan =
  | { do: 'use' }
  | { do: 'create' }
  /** The last attempt failed less than minTgzRetryDelay ago. */
  | { do: 'wait'; failedAt: Date; retryAt: Date; exists: boolean };

async function mtimeMs(file: string): Promise<number | null> {
  return stat(file).then((s) => s.mtimeMs, () => null);
}

async function planFor(spec: DebianJobSpec, tgz: string): Promise<Plan> {
  const now = Date.now();
  const made = await mtimeMs(tgz);
  if (made !== null && (spec.maxTgzAge <= 0 || now - made <= spec.maxTgzAge * 1000)) return { do: 'use' };
  const failed = await mtimeMs(`${tgz}.failed`);
  if (failed !== null && now - failed < spec.minTgzRetryDelay * 1000) {
    return { do: 'wait', failedAt: new Date(failed), retryAt: new Date(failed + spec.minTgzRetryDelay * 1000), exists: made !== null };
  }
  return { do: 'create' };
}

/** The no-tarball error, with the remembered reason. */
async function retryDelayError(tgz: string, plan: Extract<Plan, { do: 'wait' }>): Promise<Error> {
  const why = (await readFile(`${tgz}.failed`, 'utf8').catch(() => '')).trim() || 'unknown reason';
  return new Error(
    `no base tarball ${tgz}: creating it failed at ${slaveTime(plan.failedAt)} (${why}; see ${tgz}.log), ` +
      `and min-tgz-retry-delay allows the next attempt only after ${slaveTime(plan.retryAt)}`,
  );
}

/**
 * Take the tarball's lock, waiting while another build (of any worker
 * process on this machine) holds it.
 * @returns the release function.
 * @throws the AbortError of `signal`, or a lock error other than ELOCKED.
 */
async function lockTarball(tgz: string, ctx: BuildContext, opts: TarballOptions): Promise<() => Promise<void>> {
  let told = false;
  for (;;) {
    try {
      return await lockfile.lock(tgz, {
        realpath: false,
        lockfilePath: `${tgz}.lock`,
        stale: 30_000,
        update: 5_000,
        onCompromised: (err) => opts.log?.warn({ err: err.message, tarball: tgz }, 'lost the base tarball lock; another build may create it too'),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    }
    if (!told) ctx.log(`[kiln] waiting for the base tarball ${tgz}: another build is creating it\n`);
    told = true;
    await sleep(opts.pollMs ?? 1000, undefined, { signal: ctx.signal });
  }
}

/**
 * Create the tarball with piuparts (the caller holds the lock).
 * @returns null on success, else why it failed.
 */
async function create(spec: DebianJobSpec, tgz: string, ctx: BuildContext, opts: TarballOptions): Promise<string | null> {
  const fresh = `${tgz}.new`;
  const log = `${tgz}.log`;
  await rm(fresh, { force: true });
  const words = tarballCreateCommand(spec, fresh, opts.env);
  await writeFile(log, `Start: ${slaveTime(new Date())}\n\nExecuting: ${commandString(words)}\n\n`);
  ctx.log(`[kiln] creating the base tarball ${tgz} (piuparts output in ${log})\n`);
  const started = Date.now();
  const code = await runToFile(ctx, words, log);
  await appendFile(log, `\nEnd: ${slaveTime(new Date())}\n`);
  if (ctx.signal.aborted) {
    await rm(fresh, { force: true });
    throw new Error('the build was stopped while it created the base tarball');
  }
  const size = (await stat(fresh).catch(() => null))?.size ?? 0;
  if (code === 0 && size > 0) {
    await rename(fresh, tgz);
    await rm(`${tgz}.failed`, { force: true });
    ctx.log(`[kiln] base tarball created in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    return null;
  }
  await rm(fresh, { force: true });
  const tail = (await readFile(log, 'utf8')).trimEnd().split('\n').slice(-15);
  ctx.log(`[kiln] creating the base tarball failed; the end of ${log}:\n${tail.map((l) => `[kiln] | ${l}\n`).join('')}`);
  return code === 0 ? 'piuparts exited 0 but saved no tarball' : `piuparts exited with ${code === null ? 'a signal' : `status ${code}`}`;
}

/**
 * Make sure the spec's base tarball exists and is fresh enough, creating
 * or refreshing it when due.
 * @returns the tarball's path, to pass to piuparts `-b`.
 * @throws Error (a worker fault: the master requeues the build) when no
 *   tarball exists and creating it failed now or earlier within
 *   min-tgz-retry-delay, naming the tarball, the reason and the log; the
 *   AbortError of `ctx.signal` when the build stops while waiting.
 */
export async function ensureBaseTarball(spec: DebianJobSpec, ctx: BuildContext, opts: TarballOptions): Promise<string> {
  const tgz = baseTarballPath(spec, opts.cacheDir);
  let plan = await planFor(spec, tgz);
  if (plan.do === 'use') return tgz;
  if (plan.do === 'wait') {
    if (!plan.exists) throw await retryDelayError(tgz, plan);
    ctx.log(`[kiln] the base tarball ${tgz} is older than max-tgz-age, but refreshing it failed at ${slaveTime(plan.failedAt)}: using it until the next attempt after ${slaveTime(plan.retryAt)}\n`);
    return tgz;
  }
  await mkdir(path.dirname(tgz), { recursive: true });
  const release = await lockTarball(tgz, ctx, opts);
  try {
    // Another build may have created it, or failed to, while this one waited.
    plan = await planFor(spec, tgz);
    if (plan.do === 'use') return tgz;
    if (plan.do === 'wait') {
      if (!plan.exists) throw await retryDelayError(tgz, plan);
      return tgz;
    }
    const failure = await create(spec, tgz, ctx, opts);
    if (failure === null) return tgz;
    await writeFile(`${tgz}.failed`, `${failure}\n`);
    const retryAt = new Date(Date.now() + spec.minTgzRetryDelay * 1000);
    if ((await mtimeMs(tgz)) !== null) {
      ctx.log(`[kiln] keeping the old base tarball ${tgz}; the next attempt is after ${slaveTime(retryAt)}\n`);
      return tgz;
    }
    throw new Error(`cannot create the base tarball ${tgz}: ${failure} (see ${tgz}.log); the next attempt is after ${slaveTime(retryAt)}`);
  } finally {
    await release().catch(() => undefined);
  }
}
