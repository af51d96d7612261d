/**
 * The master side of piwheels' slave queue (`--slave-queue`, tcp port 5555
 * by default): existing piw-slave machines build for Kiln unchanged.
 *
 * A piw-slave's REQ socket talks to this ROUTER socket in CBOR
 * (messages.ts). The flow (shared/reference/piwheels.md):
 *
 *     HELLO → ACK [slave id, simple index URL]
 *     IDLE  → SLEEP paused | BUILD [package, version] | DIE
 *     BUSY  → CONT | DONE (stop the build)           every 5–10 s while it builds
 *     BUILT → SEND filename | DONE (failed build)
 *     SENT  → SEND next (or the same again when the transfer failed its check) | DONE
 *     BYE   → (no answer)
 *
 * Any message out of order gets DIE. Each slave is a Kiln worker (its id is
 * the slave id) with one target, `<native abi>-<native platform>`, and its
 * builds go through the WorkerGateway: leases (a BUSY renews), the master's
 * build timeout, the artifact's name, size and sha256 checks, and the
 * finish. A slave silent for its busy timeout is forgotten and its build is
 * queued again. A message from a slave the master does not know (after a
 * master restart) gets no answer, as piw-master does: the slave gives up
 * after 5 minutes and says HELLO again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Router } from 'zeromq';
import { HttpError, KilnError } from '../../../errors.ts';
import type { ForeignWorker, WorkerGateway } from '../../types.ts';
import { firstPipError } from '../worker-deps.ts';
import { pypiTargetName } from '../targets.ts';
import { METADATA_SUFFIX } from '../wheel-name.ts';
import { describeVerifiedWheel } from '../verified-wheel.ts';
import { FileJuggler } from './file-juggler.ts';
import { decodeSlaveMessage, encodeMasterReply, type BuiltFileState, type MasterReply, type SlaveHello, type SlaveMessage } from './messages.ts';

/** Transfers of one file that may fail their check before the build is recorded as failed. */
export const MAX_TRANSFER_ATTEMPTS = 3;

/** Largest wheel a slave may send, bytes (as Kiln's own workers: 2 GiB). */
const MAX_FILE_BYTES = 2 * 1024 ** 3;

/** Where the slave driver listens and what it tells slaves. */
export interface SlaveQueueOptions {
  /** ZeroMQ endpoint of the slave queue, e.g. `tcp://*:5555`. */
  slaveQueue: string;
  /** ZeroMQ endpoint of the file queue, e.g. `tcp://*:5556` (piw-slave connects to port 5556 of its master). */
  fileQueue: string;
  /** Simple index URL sent in ACK: the index slaves build from (`--pypi-simple`). */
  simpleUrl: string;
  /** How often silent slaves are looked for, ms (default 10 000). */
  sweepMs?: number;
}

interface Build {
  id: number;
  package: string;
  version: string;
  files: BuiltFileState[];
  /** Index in `files` of the file being sent. */
  next: number;
  attempts: number;
  durationMs: number;
  stored: Array<{ filename: string; sha256: string; size: number }>;
}

interface Session {
  key: string;
  worker: ForeignWorker;
  hello: SlaveHello;
  lastSeen: number;
  lastRenew: number;
  /** The last reply sent: what the next message must follow. */
  reply: MasterReply['msg'];
  build: Build | null;
}

/** Python version as Kiln's targets state it: piwheels sends `311` for 3.11. */
function pythonRelease(pyVersion: string): string {
  return pyVersion.includes('.') ? pyVersion : `${pyVersion.slice(0, 1)}.${pyVersion.slice(1)}`;
}

/** The slave-queue listener with its file queue. */
export class SlaveDriver {
  private readonly sock = new Router({ linger: 0 });
  private readonly juggler: FileJuggler;
  private readonly sessions = new Map<string, Session>();
  private readonly chains = new Map<string, Promise<void>>();
  private sending: Promise<void> = Promise.resolve();
  private loop: Promise<void> = Promise.resolve();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly gateway: WorkerGateway,
    private readonly opts: SlaveQueueOptions,
  ) {
    this.log = gateway.log;
    this.juggler = new FileJuggler(gateway.incomingDir, this.log, (slaveId) => this.onTransferActivity(slaveId));
  }

  /** Bind both queues. @throws KilnError when an endpoint cannot be bound (e.g. the port is in use). */
  async start(): Promise<void> {
    const bind = async (what: string, endpoint: string, f: () => Promise<void>) => {
      try {
        await f();
      } catch (err) {
        throw new KilnError(`cannot listen for piw-slaves on ${endpoint} (${what}): ${(err as Error).message}`);
      }
    };
    await bind('--slave-queue', this.opts.slaveQueue, () => this.sock.bind(this.opts.slaveQueue));
    try {
      await bind('--file-queue', this.opts.fileQueue, () => this.juggler.bind(this.opts.fileQueue));
    } catch (err) {
      this.sock.close();
      throw err;
    }
    this.loop = this.receive();
    this.sweeper = setInterval(() => this.sweep(), this.opts.sweepMs ?? 10_000);
    this.log.info({ slaveQueue: this.endpoints.slaveQueue, fileQueue: this.endpoints.fileQueue }, 'listening for piw-slaves');
  }

  /** The endpoints actually bound (ports filled in when bound to port 0). */
  get endpoints(): { slaveQueue: string; fileQueue: string } {
    return { slaveQueue: this.sock.lastEndpoint ?? '', fileQueue: this.juggler.endpoint };
  }

  /** Slaves currently connected, for status and tests. */
  get connected(): number {
    return this.sessions.size;
  }

  /** Stop listening. Builds still held are given back to the queue. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sock.close();
    await this.loop.catch(() => undefined);
    await Promise.all(this.chains.values());
    for (const s of [...this.sessions.values()]) await this.drop(s, 'the master is stopping');
    await this.juggler.close();
  }

  private send(identity: Buffer, reply: MasterReply): void {
    // A ZeroMQ socket takes one send at a time.
    this.sending = this.sending.then(() => this.sock.send([identity, '', encodeMasterReply(reply)])).catch((err) => this.log.warn({ err }, 'slave queue send failed'));
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.sock) {
        const [identity, , payload] = frames as Buffer[];
        if (!identity || !payload || frames.length !== 3) {
          this.log.warn({ frames: frames.length }, 'slave queue: malformed frame set; ignored');
          continue;
        }
        const key = identity.toString('hex');
        this.enqueue(key, () => this.handle(identity, key, payload));
      }
    } catch (err) {
      if (!this.sock.closed) this.log.error({ err }, 'slave queue stopped');
    }
  }

  /** Run `fn` after everything queued for this slave: one message at a time per slave (a REQ socket has at most one outstanding), slaves in parallel. */
  private enqueue(key: string, fn: () => Promise<void>): void {
    const next = (this.chains.get(key) ?? Promise.resolve()).then(fn).catch((err) => this.log.error({ err }, 'slave queue: message handling failed'));
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  private async handle(identity: Buffer, key: string, payload: Buffer): Promise<void> {
    const m = decodeSlaveMessage(payload);
    const s = this.sessions.get(key);
    if (typeof m === 'string') {
      this.log.warn({ slave: s?.worker.id, reason: m }, 'slave queue: invalid message');
      if (s) await this.die(identity, s, `invalid message: ${m}`);
      return;
    }
    if (m.msg === 'HELLO') return this.hello(identity, key, m.data, s);
    if (!s) {
      this.log.warn({ message: m.msg }, 'slave queue: message from a slave that has not said HELLO (the master may have restarted); not answered, the slave will say HELLO after its timeout');
      return;
    }
    s.lastSeen = Date.now();
    await s.worker.touch();
    const reply = await this.dispatch(identity, s, m);
    if (!reply) return;
    s.reply = reply.msg;
    this.send(identity, reply);
  }

  private async dispatch(identity: Buffer, s: Session, m: Exclude<SlaveMessage, { msg: 'HELLO' }>): Promise<MasterReply | null> {
    switch (m.msg) {
      case 'BYE':
        await this.drop(s, 'the slave said BYE');
        return null;
      case 'IDLE':
        if (!['ACK', 'SLEEP', 'DONE'].includes(s.reply)) return this.outOfOrder(identity, s, m.msg);
        return this.idle(s);
      case 'BUSY':
        if (!['BUILD', 'CONT'].includes(s.reply) || !s.build) return this.outOfOrder(identity, s, m.msg);
        return this.busy(s, s.build);
      case 'BUILT':
        if (!['BUILD', 'CONT'].includes(s.reply) || !s.build) return this.outOfOrder(identity, s, m.msg);
        return this.built(s, s.build, m.data);
      case 'SENT':
        if (s.reply !== 'SEND' || !s.build) return this.outOfOrder(identity, s, m.msg);
        return this.sent(s, s.build);
    }
  }

  private async hello(identity: Buffer, key: string, h: SlaveHello, prior: Session | undefined): Promise<void> {
    if (prior) await this.drop(prior, 'the slave said HELLO again');
    const facts = {
      abi: h.abi,
      platform: h.platform,
      python: pythonRelease(h.pyVersion),
    };
    const inUse = new Set([...this.sessions.values()].map((x) => x.worker.name));
    const label = h.label || 'piw-slave';
    let name = label;
    for (let n = 2; inUse.has(name); n++) name = `${label}#${n}`;
    const worker = await this.gateway.register({
      name,
      software: 'piw-slave',
      labels: ['piw-slave'],
      targets: [{ name: pypiTargetName(facts), ecosystem: 'pypi', facts }],
      facts: {
        os: h.osName,
        osVersion: h.osVersion,
        boardRevision: h.boardRevision,
        boardSerial: h.boardSerial,
        buildTimeoutS: h.buildTimeoutS,
        busyTimeoutS: h.busyTimeoutS,
      },
    });
    if (typeof worker === 'string') {
      this.log.warn({ label, reason: worker }, 'piw-slave refused');
      this.send(identity, { msg: 'DIE' });
      return;
    }
    const now = Date.now();
    const s: Session = { key, worker, hello: h, lastSeen: now, lastRenew: now, reply: 'ACK', build: null };
    this.sessions.set(key, s);
    this.log.info({ slave: worker.id, label, abi: h.abi, platform: h.platform }, 'piw-slave connected');
    this.send(identity, { msg: 'ACK', data: [worker.id, this.opts.simpleUrl] });
  }

  private async idle(s: Session): Promise<MasterReply> {
    if (await s.worker.paused()) return { msg: 'SLEEP', data: true };
    const job = await s.worker.claim();
    if (!job) return { msg: 'SLEEP', data: false };
    s.build = { id: job.buildId, package: job.package, version: job.version, files: [], next: 0, attempts: 0, durationMs: 0, stored: [] };
    s.lastRenew = Date.now();
    this.log.info({ slave: s.worker.id, build: job.buildId, package: job.package, version: job.version }, 'piw-slave build');
    return { msg: 'BUILD', data: [job.package, job.version] };
  }

  private async busy(s: Session, b: Build): Promise<MasterReply> {
    s.lastRenew = Date.now();
    if (await s.worker.renew(b.id)) return { msg: 'CONT' };
    // Cancelled, timed out by the master, or no longer this slave's: DONE makes the slave stop and clean up.
    this.log.info({ slave: s.worker.id, build: b.id }, 'piw-slave told to stop its build');
    s.build = null;
    return { msg: 'DONE' };
  }

  private async built(s: Session, b: Build, r: { status: boolean; durationS: number; output: string; files: BuiltFileState[] }): Promise<MasterReply> {
    if (!(await s.worker.renew(b.id))) {
      s.build = null;
      return { msg: 'DONE' };
    }
    b.durationMs = Math.round(r.durationS * 1000);
    b.files = r.files;
    await s.worker.appendLog(b.id, `${r.output}${r.output.endsWith('\n') || !r.output ? '' : '\n'}[kiln] built by piw-slave ${s.worker.name} (${s.hello.abi}, ${s.hello.platform}) in ${r.durationS.toFixed(1)} s\n`);
    if (!r.status) {
      const first = firstPipError(r.output);
      return this.fail(s, b, `pip wheel failed on piw-slave ${s.worker.name}${first ? `: ${first}` : ''}`);
    }
    if (!r.files.length) return this.fail(s, b, 'the piw-slave reported success but built no wheel');
    for (const f of r.files) {
      const why = !/^[0-9a-fA-F]{64}$/.test(f.sha256) ? 'its sha256 is not 64 hex digits' : f.size > MAX_FILE_BYTES ? `it is larger than ${MAX_FILE_BYTES} bytes` : null;
      if (why) return this.fail(s, b, `the piw-slave reported ${JSON.stringify(f.filename)}, which is refused: ${why}`);
    }
    return this.sendNext(s, b);
  }

  private async sendNext(s: Session, b: Build): Promise<MasterReply> {
    const f = b.files[b.next]!;
    await this.juggler.expect(s.worker.id, { filename: f.filename, size: f.size, sha256: f.sha256.toLowerCase() });
    return { msg: 'SEND', data: f.filename };
  }

  private async sent(s: Session, b: Build): Promise<MasterReply> {
    const f = b.files[b.next]!;
    const t = this.juggler.take(s.worker.id);
    if (!t || !t.ok) {
      b.attempts++;
      const reason = t ? t.reason : 'the transfer had not finished';
      this.log.warn({ slave: s.worker.id, build: b.id, file: f.filename, reason, attempt: b.attempts }, 'piw-slave transfer failed its check');
      await s.worker.appendLog(b.id, `[kiln] transfer of ${f.filename} failed its check (${reason})\n`);
      if (b.attempts >= MAX_TRANSFER_ATTEMPTS) return this.fail(s, b, `the transfer of ${f.filename} failed its check ${b.attempts} times (last: ${reason})`);
      return this.sendNext(s, b);
    }
    try {
      const d = await describeVerifiedWheel(t.path, f.filename, f.dependencies.apt ?? []);
      if (typeof d === 'string') return await this.fail(s, b, d);
      const wheel = await s.worker.storeArtifact(b.id, f.filename, createReadStream(t.path), { sha256: t.file.sha256, size: t.file.size }, { ...d.tags, built_by: 'piw-slave' });
      const metaName = `${f.filename}${METADATA_SUFFIX}`;
      const metaSha = createHash('sha256').update(d.metadata).digest('hex');
      const meta = await s.worker.storeArtifact(b.id, metaName, Readable.from([d.metadata]), { sha256: metaSha, size: d.metadata.length }, { kind: 'metadata', for: f.filename });
      b.stored.push({ filename: f.filename, ...wheel }, { filename: metaName, ...meta });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      if (err.code === 'lease_lost') {
        s.build = null;
        return { msg: 'DONE' };
      }
      return this.fail(s, b, `${f.filename} was refused: ${err.message}`);
    } finally {
      await rm(t.path, { force: true });
    }
    await s.worker.appendLog(b.id, `[kiln] received ${f.filename} (${f.size} bytes, sha256 ${t.file.sha256})\n`);
    b.next++;
    b.attempts = 0;
    if (b.next < b.files.length) return this.sendNext(s, b);
    await s.worker.finish(b.id, { status: 'passed', durationMs: b.durationMs, failureReason: null, artifacts: b.stored });
    s.build = null;
    return { msg: 'DONE' };
  }

  /** Record the build as failed and release the slave with DONE. */
  private async fail(s: Session, b: Build, reason: string): Promise<MasterReply> {
    s.build = null;
    await this.juggler.forget(s.worker.id);
    try {
      await s.worker.finish(b.id, { status: 'failed', durationMs: b.durationMs, failureReason: reason, artifacts: [] });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      this.log.warn({ build: b.id, err: err.message }, 'could not record the failed build');
    }
    return { msg: 'DONE' };
  }

  private async outOfOrder(identity: Buffer, s: Session, msg: string): Promise<null> {
    await this.die(identity, s, `protocol error: ${msg} after ${s.reply}`);
    return null;
  }

  /** Tell a slave DIE and forget it; its build goes back to the queue. */
  private async die(identity: Buffer, s: Session, reason: string): Promise<void> {
    this.log.warn({ slave: s.worker.id, reason }, 'piw-slave told to DIE');
    await this.drop(s, reason);
    this.send(identity, { msg: 'DIE' });
  }

  /** Forget a session; a build it held is queued again (`cancelled`), with the reason in its log. */
  private async drop(s: Session, reason: string): Promise<void> {
    this.sessions.delete(s.key);
    await this.juggler.forget(s.worker.id);
    const b = s.build;
    s.build = null;
    if (!b) return;
    try {
      await s.worker.appendLog(b.id, `[kiln] piw-slave ${s.worker.name} left the build: ${reason}; it is queued again\n`);
      await s.worker.finish(b.id, { status: 'cancelled', durationMs: 0, failureReason: `piw-slave ${s.worker.name}: ${reason}`, artifacts: [] });
    } catch (err) {
      // The lease already ran out: the lease sweep has queued the build again.
      if (!(err instanceof HttpError)) throw err;
    }
  }

  /** Chunks are arriving: the slave is alive, and its build's lease is renewed (at most every 5 s). */
  private onTransferActivity(slaveId: number): void {
    const s = [...this.sessions.values()].find((x) => x.worker.id === slaveId);
    if (!s) return;
    const now = Date.now();
    s.lastSeen = now;
    if (s.build && now - s.lastRenew > 5000) {
      s.lastRenew = now;
      void s.worker.renew(s.build.id).catch((err) => this.log.warn({ err }, 'lease renewal during a transfer failed'));
    }
  }

  /** Forget slaves silent for longer than their busy timeout (piw-master does the same). */
  private sweep(): void {
    const silent = (s: Session) => Date.now() - s.lastSeen > s.hello.busyTimeoutS * 1000;
    for (const s of this.sessions.values()) {
      if (!silent(s)) continue;
      this.enqueue(s.key, async () => {
        // Re-checked in turn: a message may have arrived meanwhile.
        if (this.sessions.get(s.key) !== s || !silent(s)) return;
        this.log.warn({ slave: s.worker.id, label: s.hello.label, build: s.build?.id }, 'piw-slave timed out');
        await this.drop(s, `silent for more than its busy timeout (${s.hello.busyTimeoutS} s)`);
      });
    }
  }
}
