/**
 * Worker-thread half of the overhead benchmark: N protocol clients
 * (`MasterClient`, the worker's own HTTP client) that each say hello, then
 * repeat claim → one log chunk → upload of a 1 MB file → finish. It runs in
 * its own thread so that client-side work (fetch) does not share the
 * master's event loop.
 *
 * The no-op builds' outputs (distinct 1 MB files, so the store never
 * dedupes one) and their sha256 are made before the timed phases: on a real
 * farm that work happens on the worker's own machine, and sha256 alone costs
 * about 5 ms per MB on this CPU, which would otherwise compete with the
 * master for the same two cores.
 *
 * Messages: the parent sends `{ phase: 'warm' | 'measure' }` and `{ exit: true }`;
 * this thread answers `{ ready, workerIds }` once every client said hello and
 * `{ phaseDone, wallMs, samples, errors }` after each phase.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { silentLogger } from '../src/log.ts';
import { ApiError, MasterClient } from '../src/worker/client.ts';
import { sha256File } from '../src/worker/worker.ts';
import { KILN_VERSION, PROTOCOL_VERSION } from '../src/version.ts';
import type { Job } from '../src/ecosystems/types.ts';

/** What the parent passes as `workerData`. */
export interface ClientsInput {
  /** Master base URL. */
  url: string;
  /** One worker token per client. */
  tokens: string[];
  /** Target every client declares. */
  target: string;
  /** Ecosystem of that target. */
  ecosystem: string;
  /** Artifact size, bytes. */
  artifactBytes: number;
  /** How many build outputs to prepare (warm-up plus measured builds). */
  outputs: number;
  /** Directory for the clients' build files. */
  workDir: string;
}

/** Timings of one build cycle, all in milliseconds. */
export interface CycleSample {
  /** Client index. */
  client: number;
  buildId: number;
  /** Claim request (hello excluded). */
  claimMs: number;
  /** One log chunk. */
  logMs: number;
  /** Upload of the artifact (master verifies size and sha256, stores it). */
  uploadMs: number;
  /** Finish request (master checks artifacts, records the result, gzips the log). */
  finishMs: number;
  /** The whole cycle, claim start to finish answer. */
  totalMs: number;
}

/** What this thread sends back after a phase. */
export interface PhaseResult {
  phaseDone: 'warm' | 'measure';
  /** Phase start to the last client's last answer, milliseconds. */
  wallMs: number;
  samples: CycleSample[];
  /** Cycles that failed, with the first few messages. */
  errors: { count: number; first: string[] };
}

const input = workerData as ClientsInput;
const port = parentPort!;
const log = silentLogger();

interface Client {
  index: number;
  api: MasterClient;
  workerId: number;
}

/** Build outputs made ahead: a file and its sha256. Each cycle takes one. */
const outputs: Array<{ path: string; sha256: string }> = [];

async function prepareOutputs(): Promise<void> {
  const dir = join(input.workDir, 'outputs');
  await mkdir(dir, { recursive: true });
  const base = randomBytes(input.artifactBytes);
  for (let i = 0; i < input.outputs; i++) {
    base.writeDoubleLE(i, 0);
    base.writeDoubleLE(Math.random(), 8);
    const path = join(dir, `${i}.bin`);
    await writeFile(path, base);
    outputs.push({ path, sha256: await sha256File(path) });
  }
}

async function helloAll(): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < input.tokens.length; i++) {
    const api = new MasterClient({ master: input.url, token: input.tokens[i]!, log, retryForMs: 10_000 });
    const res = await api.hello({
      protocol: PROTOCOL_VERSION,
      kilnVersion: KILN_VERSION,
      name: `bench-worker-${i}`,
      facts: { bench: true },
      targets: [{ name: input.target, ecosystem: input.ecosystem, facts: { kind: 'bench' } }],
      labels: [],
    });
    if (!res.accepted) throw new Error(`master refused bench client ${i}: ${res.reason}`);
    clients.push({ index: i, api, workerId: res.workerId });
  }
  return clients;
}

/** One cycle; returns null when the queue is empty. */
async function cycle(c: Client): Promise<CycleSample | null> {
  const t0 = performance.now();
  const job = (await c.api.claim(c.workerId, 0)).job as Job | null;
  const t1 = performance.now();
  if (!job) return null;
  const filename = `${job.package}-${job.version}.bin`;
  const out = outputs.pop();
  if (!out) throw new Error('bench client ran out of prepared build outputs');
  const { path, sha256 } = out;
  const t2 = performance.now();
  const chunk = Buffer.from(
    `[kiln] build ${job.buildId}: ${job.displayName} ${job.version} for ${job.target} on bench-worker-${c.index} (Kiln ${KILN_VERSION}, sandbox none)\n` +
      `$ true\n[kiln] passed after 0.0 s\n`,
  );
  await c.api.log(c.workerId, job.buildId, 0, chunk);
  const t3 = performance.now();
  const up = await c.api.upload(c.workerId, job.buildId, { path, filename, sha256, tags: {} });
  const t4 = performance.now();
  await c.api.finish(job.buildId, {
    workerId: c.workerId,
    status: 'passed',
    durationMs: Math.round(t4 - t1),
    failureReason: null,
    artifacts: [{ filename, sha256, size: up.size }],
  });
  const t5 = performance.now();
  await rm(path, { force: true });
  return { client: c.index, buildId: job.buildId, claimMs: t1 - t0, logMs: t3 - t2, uploadMs: t4 - t3, finishMs: t5 - t4, totalMs: t5 - t0 };
}

async function runPhase(clients: Client[], phase: 'warm' | 'measure'): Promise<PhaseResult> {
  const samples: CycleSample[] = [];
  const errors = { count: 0, first: [] as string[] };
  const start = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      let consecutive = 0;
      for (;;) {
        try {
          const s = await cycle(c);
          if (!s) return;
          samples.push(s);
          consecutive = 0;
          if (phase === 'warm') return;
        } catch (err) {
          errors.count++;
          if (errors.first.length < 5) errors.first.push(err instanceof ApiError ? `${err.status} ${err.code}: ${err.message}` : String(err));
          if (++consecutive >= 5 || phase === 'warm') return;
        }
      }
    }),
  );
  return { phaseDone: phase, wallMs: performance.now() - start, samples, errors };
}

await prepareOutputs();
const clients = await helloAll();
port.postMessage({ ready: true, workerIds: clients.map((c) => c.workerId) });
port.on('message', (m: { phase?: 'warm' | 'measure'; exit?: boolean }) => {
  if (m.exit) {
    port.close();
    return;
  }
  if (m.phase) void runPhase(clients, m.phase).then((r) => port.postMessage(r));
});
