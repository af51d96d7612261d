/**
 * The worker's HTTP client for protocol v1 (docs/protocol.md). Network
 * errors and 5xx answers are retried with exponential backoff (a master
 * restart looks like that); 4xx answers are the master's verdict and are
 * thrown as ApiError without retrying.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ClaimResponse, FinishRequest, HeartbeatResponse, HelloRequest, HelloResponse } from '../protocol/messages.ts';
import { HEADER_SHA256, HEADER_TAGS, HEADER_WORKER } from '../protocol/messages.ts';

/** A refusal from the master: HTTP status, error code and message (see src/master/http-errors.ts). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Backoff for retries: 0.5 s doubling to `maxMs`, with ±20 % jitter. */
export function backoffMs(attempt: number, maxMs = 15_000): number {
  const base = Math.min(maxMs, 500 * 2 ** attempt);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Options for a client. */
export interface ClientOptions {
  /** Master base URL, e.g. `http://127.0.0.1:8470`. */
  master: string;
  token: string;
  log: Logger;
  /** Give up retrying after this long, ms (default: never). */
  retryForMs?: number;
  /** Stops retries when aborted (worker shutdown). */
  signal?: AbortSignal;
}

/**
 * One worker's connection to its master: a method per protocol message
 * (docs/protocol.md), each retried as the module comment says.
 */
export class MasterClient {
  private readonly base: string;
  constructor(private readonly opts: ClientOptions) {
    this.base = opts.master.replace(/\/$/, '');
  }

  private async request<T>(method: string, path: string, body?: unknown, extra: { headers?: Record<string, string>; raw?: () => BodyInit; timeoutMs?: number } = {}): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      this.opts.signal?.throwIfAborted();
      let res: Response;
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${this.opts.token}`, ...extra.headers };
        let payload: BodyInit | undefined;
        if (extra.raw) payload = extra.raw();
        else if (body !== undefined) {
          headers['content-type'] = 'application/json';
          payload = JSON.stringify(body);
        }
        const signals = [AbortSignal.timeout(extra.timeoutMs ?? 60_000), ...(this.opts.signal ? [this.opts.signal] : [])];
        res = await fetch(`${this.base}${path}`, { method, headers, body: payload, signal: AbortSignal.any(signals), duplex: 'half' } as RequestInit);
      } catch (err) {
        if (this.opts.signal?.aborted) throw err;
        this.retryOrThrow(err as Error, attempt, started);
        await sleep(backoffMs(attempt), this.opts.signal);
        continue;
      }
      const text = await res.text();
      if (res.ok) return (text ? JSON.parse(text) : {}) as T;
      let code = 'http_error';
      let message = text.slice(0, 500);
      try {
        const j = JSON.parse(text) as { error?: string; message?: string };
        code = j.error ?? code;
        message = j.message ?? message;
      } catch { /* not JSON: keep the text */ }
      if (res.status >= 500 || res.status === 429) {
        this.retryOrThrow(new ApiError(res.status, code, message), attempt, started);
        await sleep(backoffMs(attempt), this.opts.signal);
        continue;
      }
      throw new ApiError(res.status, code, message);
    }
  }

  private retryOrThrow(err: Error, attempt: number, started: number): void {
    if (this.opts.retryForMs !== undefined && Date.now() - started > this.opts.retryForMs) throw err;
    if (attempt === 0 || attempt % 10 === 0) this.opts.log.warn({ err: err.message, attempt }, 'master unreachable; retrying');
  }

  /** Introduce the worker. */
  hello(h: HelloRequest): Promise<HelloResponse> {
    return this.request('POST', '/api/v1/hello', h);
  }

  /** Long-poll for a build, waiting up to `waitS` seconds. */
  claim(workerId: number, waitS: number): Promise<ClaimResponse> {
    return this.request('POST', '/api/v1/claim', { workerId, waitS }, { timeoutMs: (waitS + 30) * 1000 });
  }

  /** Extend the lease; the answer says whether to cancel. */
  heartbeat(workerId: number, buildId: number): Promise<HeartbeatResponse> {
    return this.request('POST', `/api/v1/builds/${buildId}/heartbeat`, { workerId });
  }

  /** Send log bytes that start at `offset`. */
  log(workerId: number, buildId: number, offset: number, chunk: Buffer): Promise<{ stored: number }> {
    return this.request('POST', `/api/v1/builds/${buildId}/log?offset=${offset}`, undefined, {
      headers: { 'content-type': 'text/plain; charset=utf-8', [HEADER_WORKER]: String(workerId) },
      raw: () => new Uint8Array(chunk),
    });
  }

  /** Stream a file to the master, which checks its size and sha256 before accepting it. */
  async upload(workerId: number, buildId: number, file: { path: string; filename: string; sha256: string; tags: Record<string, unknown> }): Promise<{ sha256: string; size: number }> {
    const size = (await stat(file.path)).size;
    return this.request('PUT', `/api/v1/builds/${buildId}/artifacts/${encodeURIComponent(file.filename)}`, undefined, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(size),
        [HEADER_SHA256]: file.sha256,
        [HEADER_WORKER]: String(workerId),
        [HEADER_TAGS]: Buffer.from(JSON.stringify(file.tags)).toString('base64url'),
      },
      raw: () => Readable.toWeb(createReadStream(file.path)) as unknown as BodyInit,
      timeoutMs: 30 * 60_000,
    });
  }

  /** Report the result. */
  finish(buildId: number, r: FinishRequest): Promise<{ accepted: boolean }> {
    return this.request('POST', `/api/v1/builds/${buildId}/finish`, r);
  }
}

/** Sleep `ms`, rejecting early if `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason as Error); }, { once: true });
  });
}
