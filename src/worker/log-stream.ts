import type { Logger } from 'pino';
import type { MasterClient } from './client.ts';
import { ApiError } from './client.ts';

/**
 * Streams a build's log to the master in chunks (every `intervalMs` or
 * `maxChunk` bytes). Each chunk carries its byte offset, so a chunk resent
 * after a master restart is not stored twice. Sending is serial; output
 * produced meanwhile is buffered.
 */
export class LogStreamer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private sent = 0;
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> | null = null;
  /** Set when the master refused the log (lease lost): further output is dropped. */
  lost = false;

  constructor(
    private readonly client: MasterClient,
    private readonly workerId: number,
    private readonly buildId: number,
    private readonly log: Logger,
    private readonly intervalMs = 500,
    private readonly maxChunk = 256 * 1024,
  ) {}

  /** Queue output for the master. */
  write(data: Buffer | string): void {
    if (this.lost) return;
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= this.maxChunk) this.flushQuietly();
    else if (!this.timer) this.timer = setTimeout(() => this.flushQuietly(), this.intervalMs);
  }

  /** Background flush: a failure (worker shutting down, master gone) is logged, never left unhandled. */
  private flushQuietly(): void {
    this.flush().catch((err: Error) => {
      this.lost = true;
      this.log.debug({ build: this.buildId, err: err.message }, 'log chunk not sent');
    });
  }

  /** Send everything queued so far; resolves when the master has it. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.inflight) await this.inflight;
    if (this.pendingBytes === 0 || this.lost) return;
    const chunk = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.inflight = (async () => {
      for (let at = 0; at < chunk.length; at += this.maxChunk) {
        const part = chunk.subarray(at, at + this.maxChunk);
        try {
          await this.client.log(this.workerId, this.buildId, this.sent, part);
          this.sent += part.length;
        } catch (err) {
          if (err instanceof ApiError) {
            this.lost = true;
            this.log.warn({ build: this.buildId, err: err.message }, 'master refused the log');
            return;
          }
          throw err;
        }
      }
    })().finally(() => {
      this.inflight = null;
    });
    await this.inflight;
  }
}
