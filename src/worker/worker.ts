/**
 * The worker: say hello, long-poll for builds, run each in a fresh
 * directory (sandboxed when bubblewrap is there) with heartbeats, stream the
 * log, upload artifacts, report. Survives master restarts by retrying with
 * backoff and saying hello again when the master no longer knows it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { KilnError } from '../errors.ts';
import type { BuildContext, BuildOutcome, Job, WorkerEcosystem } from '../ecosystems/types.ts';
import { KILN_VERSION, PROTOCOL_VERSION } from '../version.ts';
import { ApiError, MasterClient, sleep } from './client.ts';
import { LogStreamer } from './log-stream.ts';
import { detectPlatform } from './platform.ts';
import { findBwrap, runSandboxed } from './sandbox.ts';

/** How to run a worker. */
export interface WorkerOptions {
  master: string;
  token: string;
  name: string;
  labels: string[];
  /** Parent of the per-build directories (default: the system temp dir). */
  workDir?: string;
  sandbox: 'auto' | 'bwrap' | 'none';
  ecosystems: WorkerEcosystem[];
  log: Logger;
  /** Aborting stops the worker after the current request; a running build is cancelled. */
  signal?: AbortSignal;
  /** Keep build directories after the build (debugging). */
  keepWorkDirs?: boolean;
  /** Folders hidden from builds inside the sandbox (e.g. a master's data dir on the same machine). */
  hide?: string[];
  /** Called after each build is reported (tests, progress). */
  onBuildDone?: (job: Job, outcome: BuildOutcome) => void;
}

/** Quote one argument so the logged command line can be pasted into a POSIX shell. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/**
 * Run the worker until `signal` aborts.
 * @throws KilnError when the master refuses the worker (bad token, version mismatch, no common ecosystem).
 */
export async function runWorker(opts: WorkerOptions): Promise<void> {
  const log = opts.log.child({ module: 'worker' });
  let bwrap: string | null = null;
  if (opts.sandbox !== 'none') {
    bwrap = findBwrap();
    if (!bwrap && opts.sandbox === 'bwrap') throw new KilnError('sandbox = "bwrap" but bubblewrap (bwrap) is not installed or not usable here');
    if (!bwrap) log.warn('bubblewrap (bwrap) is not installed: builds run unsandboxed, with this user\'s rights and network access (apt-get install bubblewrap)');
  }
  const client = new MasterClient({ master: opts.master, token: opts.token, log, signal: opts.signal });
  const byName = new Map(opts.ecosystems.map((e) => [e.name, e]));
  const targets = (await Promise.all(opts.ecosystems.map((e) => e.detectTargets()))).flat();
  const facts = detectPlatform(bwrap ? 'bwrap' : 'none');
  const parent = opts.workDir ?? join(tmpdir(), 'kiln-builds');
  await mkdir(parent, { recursive: true });

  const hello = async () => {
    let res;
    try {
      res = await client.hello({ protocol: PROTOCOL_VERSION, kilnVersion: KILN_VERSION, name: opts.name, facts: { ...facts }, targets, labels: opts.labels });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) throw new KilnError(`the master refused the worker token (${err.message}); create one with kiln worker-token add NAME`);
      throw err;
    }
    if (!res.accepted) throw new KilnError(`the master refused this worker: ${res.reason}`);
    log.info({ workerId: res.workerId, targets: targets.map((t) => t.name), sandbox: bwrap ? 'bwrap' : 'none' }, 'connected to master');
    return res;
  };
  let session = await hello();

  while (!opts.signal?.aborted) {
    let job: Job | null;
    try {
      job = (await client.claim(session.workerId, session.claimWaitS)).job as Job | null;
    } catch (err) {
      if (opts.signal?.aborted) break;
      if (err instanceof ApiError && (err.code === 'unknown_worker' || err.status === 401)) {
        session = await hello();
        continue;
      }
      log.warn({ err: (err as Error).message }, 'claim failed');
      await sleep(1000, opts.signal).catch(() => undefined);
      continue;
    }
    if (!job) continue;
    const eco = byName.get(job.ecosystem);
    const outcome = eco
      ? await runJob(job, eco, client, session.workerId, session.heartbeatS, parent, bwrap, opts, log)
      : null;
    if (outcome) opts.onBuildDone?.(job, outcome);
  }
  log.info('worker stopped');
}

async function runJob(
  job: Job,
  eco: WorkerEcosystem,
  client: MasterClient,
  workerId: number,
  heartbeatS: number,
  parent: string,
  bwrap: string | null,
  opts: WorkerOptions,
  log: Logger,
): Promise<BuildOutcome | null> {
  const started = Date.now();
  const workDir = await mkdtemp(join(parent, `${job.buildId}-`));
  const streamer = new LogStreamer(client, workerId, job.buildId, log);
  const abort = new AbortController();
  let endedBy: 'timeout' | 'cancel' | 'lease' | 'shutdown' | null = null;
  const stop = (why: NonNullable<typeof endedBy>) => {
    if (!endedBy) endedBy = why;
    abort.abort(new Error(why));
  };
  const timeout = setTimeout(() => stop('timeout'), job.timeoutS * 1000);
  const onShutdown = () => stop('shutdown');
  opts.signal?.addEventListener('abort', onShutdown, { once: true });
  let beating = false;
  const sendBeat = () => {
    // One heartbeat at a time: during a master outage the first one is still retrying.
    if (beating) return;
    beating = true;
    client
      .heartbeat(workerId, job.buildId)
      .then(
        (r) => { if (r.cancel) stop('cancel'); },
        (err) => { if (err instanceof ApiError && (err.code === 'lease_lost' || err.status === 404)) stop('lease'); },
      )
      .finally(() => { beating = false; });
  };
  // The first heartbeat acknowledges the claim, turning the master's short claim lease into a full one.
  sendBeat();
  const beat = setInterval(sendBeat, heartbeatS * 1000);

  streamer.write(`[kiln] build ${job.buildId}: ${job.displayName} ${job.version} for ${job.target} on ${opts.name} (Kiln ${KILN_VERSION}, sandbox ${bwrap ? 'bwrap' : 'none'})\n`);
  const ctx: BuildContext = {
    workDir,
    signal: abort.signal,
    log: (text) => streamer.write(text.endsWith('\n') ? text : `${text}\n`),
    run: (cmd, args, o) => {
      streamer.write(`$ ${[cmd, ...args].map(shellQuote).join(' ')}\n`);
      return runSandboxed(cmd, args, { ...o, workDir, bwrap, hide: opts.hide, signal: abort.signal, onOutput: (c) => streamer.write(c) });
    },
  };
  let outcome: BuildOutcome;
  // A thrown error is the worker's fault (network down, disk full), not a verdict on the package.
  let workerFault: string | null = null;
  try {
    outcome = await eco.build(job, ctx);
  } catch (err) {
    workerFault = (err as Error).message;
    outcome = { status: 'failed', failureReason: `worker error: ${workerFault}`, artifacts: [] };
  }
  clearTimeout(timeout);
  opts.signal?.removeEventListener('abort', onShutdown);
  if (endedBy === 'timeout') outcome = { status: 'failed', failureReason: `timed out after ${job.timeoutS} s; the build's processes were killed`, artifacts: [] };
  if (endedBy === 'cancel') outcome = { status: 'failed', failureReason: 'cancelled by the master', artifacts: [] };

  // A cancelled build does not count as an attempt: the master queues it again for another try.
  let status: 'passed' | 'failed' | 'untestable' | 'cancelled' = endedBy === 'cancel' || (workerFault && !endedBy) ? 'cancelled' : outcome.status;
  let reason = outcome.failureReason;
  const uploaded: Array<{ filename: string; sha256: string; size: number }> = [];
  try {
    // A lost lease or a shutdown reports nothing: the master requeues the build when the lease runs out.
    if (endedBy === 'lease' || endedBy === 'shutdown') throw new ApiError(409, 'lease_lost', 'result not reported');
    if (status === 'passed') {
      for (const a of outcome.artifacts) {
        const sha256 = await sha256File(a.path);
        const r = await client.upload(workerId, job.buildId, { path: a.path, filename: a.filename, sha256, tags: a.tags });
        uploaded.push({ filename: a.filename, sha256, size: r.size });
        streamer.write(`[kiln] uploaded ${a.filename} (${r.size} bytes, sha256 ${sha256})\n`);
      }
    }
  } catch (err) {
    if (err instanceof ApiError && err.code !== 'lease_lost') {
      status = 'failed';
      reason = `artifact refused by the master: ${err.message}`;
    } else if (err instanceof ApiError) {
      endedBy = 'lease';
    } else if (opts.signal?.aborted) {
      endedBy = 'shutdown';
    } else {
      // Reading or sending our own files failed: a worker fault, not a verdict on the package.
      workerFault = (err as Error).message;
      status = 'cancelled';
      reason = `worker error while uploading: ${workerFault}`;
    }
  }
  clearInterval(beat);
  const durationMs = Date.now() - started;
  try {
    if (endedBy !== 'lease' && endedBy !== 'shutdown') {
      streamer.write(`[kiln] ${status}${reason ? `: ${reason}` : ''} after ${(durationMs / 1000).toFixed(1)} s\n`);
      await streamer.flush();
      await client.finish(job.buildId, { workerId, status, durationMs, failureReason: reason, artifacts: uploaded });
      log.info({ build: job.buildId, package: job.package, version: job.version, target: job.target, status, ms: durationMs }, 'build reported');
    } else {
      log.warn({ build: job.buildId, why: endedBy }, 'result not reported; the master requeues the build when its lease runs out');
    }
  } catch (err) {
    if (err instanceof ApiError) log.warn({ build: job.buildId, err: err.message }, 'master refused the result');
    else if (!opts.signal?.aborted) throw err;
  } finally {
    if (!opts.keepWorkDirs) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
  if (workerFault && !opts.signal?.aborted) {
    log.warn({ build: job.buildId, err: workerFault }, `worker fault; the build goes back to the queue, and this worker waits ${WORKER_FAULT_PAUSE_MS / 1000} s`);
    await sleep(WORKER_FAULT_PAUSE_MS, opts.signal).catch(() => undefined);
  }
  return { ...outcome, status: status === 'cancelled' ? 'failed' : status, failureReason: reason };
}

/** How long a worker waits after a fault of its own before it claims again, ms, so a broken worker does not spin. */
export const WORKER_FAULT_PAUSE_MS = 30_000;
