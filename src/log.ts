import { createWriteStream } from 'node:fs';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/** How the CLI asked for logging. */
export interface LogOptions {
  /** Base level: `info` by default; `-q` raises it, `-v` lowers it. */
  level: pino.Level;
  /** Parts (`module` names such as `api`, `sync`, `scheduler`) logged at debug whatever the level. */
  debug: string[];
  /** Append JSON lines to this file instead of writing text to stderr. */
  file?: string;
}

/**
 * Create the root logger. Parts log through `logger.child({ module })`;
 * a part named in `debug` is lowered to debug level on its own (`--debug TASK`).
 */
export function createLogger(opts: LogOptions): Logger {
  // Files get JSON lines for tools; a person at a terminal gets readable lines.
  const stream = opts.file
    ? createWriteStream(opts.file, { flags: 'a' })
    : pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
  const root = pino({ level: opts.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  const debug = new Set(opts.debug);
  const origChild = root.child.bind(root);
  // Per-part debug: pino's child loggers take their own level.
  root.child = ((bindings: Record<string, unknown>, options?: pino.ChildLoggerOptions) => {
    const child = origChild(bindings, options);
    if (typeof bindings.module === 'string' && debug.has(bindings.module)) child.level = 'debug';
    return child;
  }) as unknown as typeof root.child;
  return root;
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Map `-q`/`-v` counts to a pino level, starting from `base`. */
export function levelFromVerbosity(base: pino.Level, verbose: number, quiet: number): pino.Level {
  const order: pino.Level[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  const i = Math.min(order.length - 1, Math.max(0, order.indexOf(base) - verbose + quiet));
  return order[i]!;
}
