/**
 * The master's piuparts endpoint: a unix socket that `kiln piuparts-master`
 * relays connect to, one piuparts-slave per connection. Each connection
 * starts with the relay's preamble (relay-wire.ts: `kiln-relay
 * name=<slave>`), then carries the raw piuparts protocol (session.ts).
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { KilnError } from '../../../errors.ts';
import type { PiupartsBackendFactory } from './backend.ts';
import { LineReader } from './line-reader.ts';
import { parseRelayPreamble } from './relay-wire.ts';
import { runPiupartsSession } from './session.ts';

/** Limits for the socket server; every field has a default. */
export interface PiupartsListenOptions {
  /** How long a new connection may take to send its preamble, in ms (default 10 000). */
  preambleTimeoutMs?: number;
  /**
   * How long a connection may stay silent, in ms, before it is closed
   * (default 15 minutes, as piuparts-master runs under `timeout 15m`).
   */
  idleTimeoutMs?: number;
  /** The longest line accepted, in characters (default 4 Mi). */
  maxLineChars?: number;
  /** The largest submitted log, in characters (default: session.ts DEFAULT_MAX_LOG_CHARS, 64 Mi). */
  maxLogChars?: number;
}

/** A listening piuparts endpoint. */
export interface PiupartsMasterServer {
  /** The socket's path. */
  readonly path: string;
  /**
   * Stop accepting connections, close the open ones (a slave mid-command
   * gets no reply and retries later) and remove the socket file. Resolves
   * once every session has ended.
   */
  close(): Promise<void>;
}

/**
 * Make room for the socket: remove a socket file nobody listens on.
 * @throws KilnError when the path is something else, or a live socket.
 */
async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) throw new KilnError(`${path} exists and is not a socket; not replacing it with the piuparts socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new KilnError(`another process already serves piuparts-slaves on ${path}`);
  unlinkSync(path);
}

/** Close a socket once what was written to it has been flushed (or after 5 s). */
function closeWhenFlushed(socket: Socket): void {
  if (socket.destroyed) return;
  if (!socket.writableEnded) socket.end();
  if (socket.writableFinished) {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), 5000);
  timer.unref();
  socket.once('finish', () => {
    clearTimeout(timer);
    socket.destroy();
  });
}

/**
 * Serve the piuparts master protocol on a unix socket.
 *
 * A stale socket file at `path` is removed first; the new one gets mode
 * 0660 (the relay runs as the ssh user that piuparts-slaves log in as, so
 * put that user in the master's group). Per connection: the preamble names
 * the slave, `backendFor(slave)` gives the backend, and one session runs
 * until either side closes. A connection without a valid preamble, silent
 * for too long, or whose backend cannot be created is closed, and why is
 * logged.
 *
 * @param path the socket's path, e.g. defaultPiupartsSocketPath(dataDir).
 * @param backendFor creates one backend per connection (see backend.ts).
 * @param log where connections, commands and submissions are logged.
 * @throws KilnError when `path` is not a socket file or another process
 *   listens on it; the listen error (EACCES, ENOENT for a missing directory…)
 *   otherwise.
 */
export async function listenPiupartsMaster(
  path: string,
  backendFor: PiupartsBackendFactory,
  log: Logger,
  opts: PiupartsListenOptions = {},
): Promise<PiupartsMasterServer> {
  const preambleTimeoutMs = opts.preambleTimeoutMs ?? 10_000;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 15 * 60_000;
  const maxLineChars = opts.maxLineChars ?? 4 * 1024 * 1024;
  const sockets = new Set<Socket>();
  const sessions = new Set<Promise<void>>();

  async function serve(socket: Socket): Promise<void> {
    let slave: string | null = null;
    socket.on('error', (err) => log.debug({ slave, err: err.message }, 'piuparts connection error'));
    socket.setTimeout(preambleTimeoutMs, () => {
      log.warn({ slave }, slave ? `closing piuparts connection of ${slave}: silent for ${idleTimeoutMs / 1000} s` : 'closing piuparts connection: no relay preamble in time');
      socket.destroy();
    });
    const lines = new LineReader(socket, maxLineChars);
    let first: string | null;
    try {
      first = await lines.readLine();
    } catch (err) {
      first = null;
      log.warn({ err: (err as Error).message }, 'closing piuparts connection: bad relay preamble');
    }
    slave = first === null ? null : parseRelayPreamble(first);
    if (slave === null) {
      if (first !== null) log.warn({ line: first.slice(0, 80) }, 'closing piuparts connection: the first line is not a kiln-relay preamble');
      socket.destroy();
      return;
    }
    socket.setTimeout(idleTimeoutMs);
    let backend;
    try {
      backend = backendFor(slave);
    } catch (err) {
      log.error({ slave, err }, `closing piuparts connection of ${slave}: no backend: ${(err as Error).message}`);
      socket.destroy();
      return;
    }
    log.debug({ slave }, 'piuparts-slave connected');
    try {
      const end = await runPiupartsSession({ lines, output: socket, backend, slave, log, maxLogChars: opts.maxLogChars });
      log.debug({ slave, end }, 'piuparts-slave disconnected');
    } finally {
      closeWhenFlushed(socket);
      try {
        await backend.close?.();
      } catch (err) {
        log.error({ slave, err }, 'piuparts backend close failed');
      }
    }
  }

  await clearStaleSocket(path);
  // Half-open: a relay whose slave has sent its last command still gets every answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const done = serve(socket)
      .catch((err: unknown) => {
        log.error({ err }, 'piuparts connection failed');
        socket.destroy();
      })
      .finally(() => sessions.delete(done));
    sessions.add(done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'piuparts socket error'));
  chmodSync(path, 0o660);
  log.info({ path }, `serving piuparts-slaves on ${path}`);

  let closing: Promise<void> | null = null;
  return {
    path,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await Promise.allSettled([...sessions]);
        await closed;
        try {
          unlinkSync(path);
        } catch {}
      })();
      return closing;
    },
  };
}
