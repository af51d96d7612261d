/**
 * The worker-side Debian ecosystem: a Kiln worker that tests packages the
 * way piuparts-slave 1.1.7 does, one job per package version in a section
 * (the job's target), the section's settings coming in the job's spec
 * ({@link DebianJobSpec}) instead of piuparts.conf:
 *
 * 1. look the package up in the worker's own copy of the section's
 *    Packages index(es) (worker-mirror.ts); missing, or at another
 *    version → `untestable`, without running piuparts;
 * 2. make sure the base tarball exists and is fresh (worker-tarball.ts);
 * 3. run piuparts, as root outside bubblewrap, with the slave's command
 *    line (worker-command.ts) and classify its exit status and last output
 *    line as the slave does (worker-classify.ts);
 * 4. the build log keeps the slave's format (worker-log.ts).
 *
 * A thrown error is a worker fault (mirror unreachable, no base tarball):
 * the master requeues the build. Timeouts are the core's.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { BuildContext, BuildOutcome, Job, TargetDecl, WorkerEcosystem } from '../types.ts';
import type { DebianJobSpec } from './job-spec.ts';
import { checkAvailability, classifyRun, runOutcome, untestableOutcome, type FoundPackage } from './worker-classify.ts';
import { isDistUpgrade, piupartsTestCommand, type CommandEnv } from './worker-command.ts';
import { debianTargets, probeDebianHost } from './worker-detect.ts';
import { endLines, executingLine, startLine } from './worker-log.ts';
import { lookupPackage } from './worker-mirror.ts';
import { runTeed } from './worker-run.ts';
import { readDebianJobSpec } from './worker-spec.ts';
import { ensureBaseTarball } from './worker-tarball.ts';

/** Where a Debian worker keeps Packages indexes and base tarballs when not told. */
export const DEFAULT_DEBIAN_CACHE_DIR = '/var/cache/kiln/debian';

/** Options of {@link createDebianWorker}. */
export interface DebianWorkerOptions {
  /** The sections this worker tests; each becomes a target. */
  sections: string[];
  /** Packages indexes (`packages/`) and base tarballs (`basetgz/`); default {@link DEFAULT_DEBIAN_CACHE_DIR}. */
  cacheDir?: string;
  /** Warnings (no targets, lost locks). */
  log?: Logger;
}

/** The package's paragraph in each distro the slave reads: the index distro, or every upgrade-test distro. */
async function lookUp(spec: DebianJobSpec, cacheDir: string, signal: AbortSignal): Promise<Map<string, FoundPackage | null>> {
  const distros = isDistUpgrade(spec) ? spec.upgradeTestDistros : [spec.indexDistro];
  const last = distros[distros.length - 1];
  const found = new Map<string, FoundPackage | null>();
  for (const distro of distros) {
    const r = await lookupPackage(
      { mirror: spec.mirror, distro, components: spec.components, arch: spec.arch, name: spec.package, expectVersion: distro === last ? spec.version : undefined },
      { cacheDir, signal },
    );
    found.set(distro, r.found);
  }
  return found;
}

/**
 * Create the Debian worker ecosystem (name `debian`).
 * detectTargets() declares one target per section when this process runs
 * as root and piuparts is installed, and none (with a warning) otherwise.
 */
export function createDebianWorker(opts: DebianWorkerOptions): WorkerEcosystem {
  const sections = [...opts.sections];
  const cacheDir = path.resolve(opts.cacheDir ?? DEFAULT_DEBIAN_CACHE_DIR);
  let hostArch: string | undefined;
  const env = (): CommandEnv => (process.env.http_proxy ? { proxy: process.env.http_proxy } : {});

  async function build(job: Job, ctx: BuildContext): Promise<BuildOutcome> {
    const spec = readDebianJobSpec(job.spec);
    if (!sections.includes(job.target)) throw new Error(`this worker tests the sections ${sections.join(', ') || '(none)'}, not ${job.target}`);
    if (spec.section !== job.target) throw new Error(`the job's spec is for section ${spec.section}, but its target is ${job.target}`);
    // piuparts tests the machine's own architecture; a worker of another one must not give verdicts.
    hostArch ??= (await probeDebianHost()).arch ?? undefined;
    if (spec.arch !== hostArch) throw new Error(`section ${spec.section} is ${spec.arch}, but this worker is ${hostArch}: it cannot test it (remove --debian-section ${spec.section})`);

    const found = await lookUp(spec, cacheDir, ctx.signal);
    const availability = checkAvailability(spec, found);
    if (availability.ret !== 0) {
      ctx.log(startLine(new Date()) + availability.text + endLines(availability.ret, new Date()));
      return untestableOutcome(availability);
    }

    const tarball = await ensureBaseTarball(spec, ctx, { cacheDir, env: env(), log: opts.log });
    const words = piupartsTestCommand(spec, tarball, env());
    ctx.log(startLine(new Date()) + availability.text + executingLine(words));
    const report = await runTeed(ctx, words, {
      outFile: path.join(ctx.workDir, 'piuparts.out'),
      statusFile: path.join(ctx.workDir, 'piuparts.status'),
    });
    if (report.output && !report.output.endsWith('\n')) ctx.log('\n');
    const verdict = classifyRun(report);
    ctx.log(endLines(verdict.ret, new Date(), verdict.note));
    return runOutcome(verdict);
  }

  return {
    name: 'debian',
    async detectTargets(): Promise<TargetDecl[]> {
      const { targets, problem } = debianTargets(sections, await probeDebianHost());
      if (problem) {
        const message = `debian worker declares no targets: ${problem}`;
        if (opts.log) opts.log.warn(message);
        else process.stderr.write(`warning: ${message}\n`);
      }
      return targets;
    },
    build,
  };
}
