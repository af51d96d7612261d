/**
 * The master side of piwheels' file queue (`--file-queue`, tcp port 5556
 * by default; a piw-slave connects to port 5556 of its master). Unlike the
 * slave queue it is not CBOR but raw ZeroMQ multipart frames:
 *
 * - slave (DEALER) → master (ROUTER): `HELLO <slave id>` to start (and
 *   again after 5 s of silence), `CHUNK <offset> <bytes>` per request;
 * - master → slave: `FETCH <offset> <length>` (ASCII decimals), then `DONE`.
 *
 * The master asks for 64 KiB chunks with at most 10 outstanding, tracks
 * which chunks are still missing, and writes them at their offsets into a
 * temporary file beside the artifact store. When none is missing it checks
 * the size and sha256 the slave declared in BUILT and says DONE; the slave
 * then reports SENT on the slave queue, and the slave driver takes the
 * result: a good file goes on to the store, a bad one is deleted and
 * requested again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Router } from 'zeromq';
import type { Logger } from 'pino';

/** Bytes per FETCH (piwheels: 64 KiB). */
export const CHUNK_BYTES = 65536;
/** FETCH requests outstanding at once (piwheels: 10). */
export const PIPELINE = 10;

/** A file the slave driver told the juggler to expect. Size in bytes, sha256 in lower-case hex. */
export interface ExpectedFile {
  filename: string;
  size: number;
  sha256: string;
}

/** How a finished transfer turned out: a verified temporary file, or why it was rejected (already deleted). */
export type TransferResult = { ok: true; path: string; file: ExpectedFile } | { ok: false; reason: string; file: ExpectedFile };

interface Transfer {
  slaveId: number;
  file: ExpectedFile;
  path: string;
  fd: FileHandle;
  /** Chunk offsets not yet received. */
  missing: Set<number>;
  /** Chunk offsets requested and not yet answered. */
  outstanding: Set<number>;
}

/** Chunk length at `offset` of a file of `size` bytes. */
const chunkLength = (offset: number, size: number) => Math.min(CHUNK_BYTES, size - offset);

/** The file-queue listener. One per master. */
export class FileJuggler {
  private readonly sock = new Router({ linger: 0, sendHighWaterMark: PIPELINE * 50 });
  private readonly pending = new Map<number, ExpectedFile>();
  private readonly active = new Map<string, Transfer>();
  private readonly complete = new Map<number, TransferResult>();
  private sending: Promise<void> = Promise.resolve();
  private loop: Promise<void> = Promise.resolve();

  /**
   * @param onActivity called with the slave id whenever one of its chunks
   *   arrives (a transfer is progress, so the slave's build is still alive).
   */
  constructor(
    private readonly incomingDir: string,
    private readonly log: Logger,
    private readonly onActivity: (slaveId: number) => void = () => undefined,
  ) {}

  /** Bind to a ZeroMQ endpoint such as `tcp://*:5556`. @throws Error when the address cannot be bound. */
  async bind(endpoint: string): Promise<void> {
    await this.sock.bind(endpoint);
    this.loop = this.receive();
  }

  /** The endpoint actually bound (its port, when bound to port 0). */
  get endpoint(): string {
    return this.sock.lastEndpoint ?? '';
  }

  /** Expect `file` from `slaveId` next; any earlier transfer of that slave is dropped. */
  async expect(slaveId: number, file: ExpectedFile): Promise<void> {
    await this.forget(slaveId);
    this.pending.set(slaveId, file);
  }

  /** The finished transfer of `slaveId`, removed from the juggler; undefined while none has finished. */
  take(slaveId: number): TransferResult | undefined {
    const r = this.complete.get(slaveId);
    this.complete.delete(slaveId);
    return r;
  }

  /** Drop everything about `slaveId`: its expected, running and finished transfers, and their temporary files. */
  async forget(slaveId: number): Promise<void> {
    this.pending.delete(slaveId);
    for (const [who, t] of this.active) {
      if (t.slaveId !== slaveId) continue;
      this.active.delete(who);
      await t.fd.close().catch(() => undefined);
      await rm(t.path, { force: true });
    }
    const done = this.complete.get(slaveId);
    this.complete.delete(slaveId);
    if (done?.ok) await rm(done.path, { force: true });
  }

  /** Stop listening and delete every unfinished transfer's file. */
  async close(): Promise<void> {
    this.sock.close();
    await this.loop.catch(() => undefined);
    for (const id of new Set([...this.pending.keys(), ...this.complete.keys(), ...[...this.active.values()].map((t) => t.slaveId)])) await this.forget(id);
  }

  private send(frames: Array<Buffer | string>): void {
    // A ZeroMQ socket takes one send at a time.
    this.sending = this.sending.then(() => this.sock.send(frames)).catch((err) => this.log.warn({ err }, 'file queue send failed'));
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.sock) {
        try {
          await this.handle(frames as Buffer[]);
        } catch (err) {
          this.log.error({ err }, 'file queue: message handling failed');
        }
      }
    } catch (err) {
      if (!this.sock.closed) this.log.error({ err }, 'file queue stopped');
    }
  }

  private async handle([identity, kind, ...args]: Buffer[]): Promise<void> {
    if (!identity || !kind) return;
    const who = identity.toString('hex');
    const t = this.active.get(who);
    const msg = kind.toString('latin1');
    if (msg === 'HELLO') {
      if (t) {
        // The slave heard nothing for 5 s: requests or chunks were lost. Ask again for what is missing.
        t.outstanding.clear();
        this.pump(identity, t);
        return;
      }
      const slaveId = Number(args[0]?.toString('ascii'));
      const file = this.pending.get(slaveId);
      if (!Number.isSafeInteger(slaveId) || !file) {
        this.log.warn({ slave: args[0]?.toString('ascii') }, 'file queue: HELLO from a slave that has no transfer due; ignored');
        return;
      }
      this.pending.delete(slaveId);
      await mkdir(this.incomingDir, { recursive: true });
      const path = join(this.incomingDir, `piw-${slaveId}-${randomBytes(6).toString('hex')}.part`);
      const fd = await open(path, 'w');
      const missing = new Set<number>();
      for (let o = 0; o < file.size; o += CHUNK_BYTES) missing.add(o);
      const fresh: Transfer = { slaveId, file, path, fd, missing, outstanding: new Set() };
      this.active.set(who, fresh);
      this.log.info({ slave: slaveId, file: file.filename, size: file.size }, 'transfer started');
      if (missing.size === 0) await this.finish(identity, who, fresh);
      else this.pump(identity, fresh);
      return;
    }
    if (msg !== 'CHUNK') {
      this.log.warn({ message: msg.slice(0, 20) }, 'file queue: unknown message; ignored');
      return;
    }
    // A CHUNK of a transfer that already ended (a duplicate answer) is harmless.
    if (!t) return;
    this.onActivity(t.slaveId);
    const offset = Number(args[0]?.toString('ascii'));
    const data = args[1];
    if (!Number.isSafeInteger(offset) || !data || !t.missing.has(offset)) return;
    t.outstanding.delete(offset);
    if (data.length !== chunkLength(offset, t.file.size)) {
      // A short or long chunk cannot be the file's bytes: ask for it again.
      this.log.warn({ slave: t.slaveId, file: t.file.filename, offset, length: data.length }, 'file queue: chunk of the wrong length; requested again');
    } else {
      await t.fd.write(data, 0, data.length, offset);
      t.missing.delete(offset);
    }
    if (t.missing.size === 0) await this.finish(identity, who, t);
    else this.pump(identity, t);
  }

  /** Keep up to PIPELINE requests outstanding for missing chunks. */
  private pump(identity: Buffer, t: Transfer): void {
    for (const offset of t.missing) {
      if (t.outstanding.size >= PIPELINE) break;
      if (t.outstanding.has(offset)) continue;
      t.outstanding.add(offset);
      this.send([identity, 'FETCH', String(offset), String(chunkLength(offset, t.file.size))]);
    }
  }

  /** All chunks are in: check size and sha256, keep the result for the slave driver, and tell the slave DONE. */
  private async finish(identity: Buffer, who: string, t: Transfer): Promise<void> {
    this.active.delete(who);
    const { size } = await t.fd.stat();
    await t.fd.close();
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(t.path)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    let result: TransferResult;
    if (size !== t.file.size) result = { ok: false, reason: `size mismatch: expected ${t.file.size} bytes, received ${size}`, file: t.file };
    else if (sha256 !== t.file.sha256.toLowerCase()) result = { ok: false, reason: `sha256 mismatch: expected ${t.file.sha256}, received ${sha256}`, file: t.file };
    else result = { ok: true, path: t.path, file: t.file };
    if (!result.ok) await rm(t.path, { force: true });
    this.complete.set(t.slaveId, result);
    this.log.info({ slave: t.slaveId, file: t.file.filename, ok: result.ok, reason: result.ok ? undefined : result.reason }, 'transfer complete');
    this.send([identity, 'DONE']);
  }
}
