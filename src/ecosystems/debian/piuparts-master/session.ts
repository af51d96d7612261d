/**
 * One piuparts-slave connection: the master side of piuparts' line protocol
 * (README_server.txt, "Distributed piuparts testing protocol"), with the
 * replies exactly as piuparts 1.1.7's piuparts-master-backend writes them,
 * because piuparts-slave compares them as whole lines.
 *
 * The master speaks first (`hello`). Each command is one line of words;
 * `pass`, `fail` and `untestable` are followed by a long part: lines that
 * start with one space (removed), ended by a line holding only `.`.
 *
 * | command | reply |
 * | --- | --- |
 * | `section NAME` | `ok`, or `error` for a section Kiln does not test (or a name with `/`) |
 * | `recycle` | `ok`, or `error` when nothing is marked or after `reserve`/`status` |
 * | `idle` | `ok SECONDS` |
 * | `reserve` | `ok NAME VERSION`, or `error` when nothing waits |
 * | `unreserve NAME VERSION` | `ok` |
 * | `pass`/`fail`/`untestable NAME VERSION` + long part | `ok` (a duplicate too) |
 * | `status` | `ok [(recycle) ]STATE=N … total=N` |
 *
 * Until a `section` succeeds (and after one fails) nothing but `section` is
 * accepted. `section` resets the connection's recycle mode and its
 * reserve/status history, as piuparts-master reloads everything per section.
 * Anything else — an unknown command, a wrong argument count, a name or
 * version containing `/`, a malformed long part, end of input inside one, a
 * backend failure — closes the connection without a reply, as
 * piuparts-master does (the slave backs off for 15 minutes). Kiln never
 * answers `busy`: its database serves any number of connections at once.
 */
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { PiupartsBackend, SubmissionKind } from './backend.ts';
import type { LineReader } from './line-reader.ts';

/** The default cap on one submitted log: 64 Mi characters, after removing the leading spaces. */
export const DEFAULT_MAX_LOG_CHARS = 64 * 1024 * 1024;

/** What a session needs: its connection, the backend and where to log. */
export interface PiupartsSessionOptions {
  /** The slave's lines (the relay preamble, if any, already taken). */
  lines: LineReader;
  /** Where replies go; the session ends it when the connection is over. */
  output: Writable;
  /** This connection's view of the master. */
  backend: PiupartsBackend;
  /** The slave's name, for logs. */
  slave: string;
  /** Commands are logged at debug, submissions at info, closing for an error at warn. */
  log: Logger;
  /** The largest log accepted in a submission, in characters (default {@link DEFAULT_MAX_LOG_CHARS}). */
  maxLogChars?: number;
}

/**
 * How a session ended: the slave closed the connection (`eof`), or the
 * master closed it because of `reason` (a protocol error by the slave, or a
 * backend failure).
 */
export type PiupartsSessionEnd = { how: 'eof' } | { how: 'closed'; reason: string };

/** The slave broke the protocol: the connection is closed. */
class ProtocolError extends Error {}

const SUBMISSIONS: ReadonlySet<string> = new Set<SubmissionKind>(['pass', 'fail', 'untestable']);

/** At most this much of an offending line goes into a log message. */
function preview(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line);
}

/** A package name or version the protocol can carry and a piuparts log file could be named after. */
function checkName(what: string, value: string): void {
  if (value.includes('/')) throw new ProtocolError(`'/' in ${what} ${preview(value)}`);
}

/**
 * Serve one connection until either side closes it. Resolves (never
 * rejects) once the connection is over and `output` has been ended.
 */
export async function runPiupartsSession(opts: PiupartsSessionOptions): Promise<PiupartsSessionEnd> {
  const session = new Session(opts);
  let end: PiupartsSessionEnd;
  try {
    end = await session.run();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof ProtocolError) opts.log.warn({ slave: opts.slave, reason }, `closing piuparts connection: ${reason}`);
    else opts.log.error({ slave: opts.slave, err }, `closing piuparts connection: ${reason}`);
    end = { how: 'closed', reason };
  }
  opts.output.end();
  return end;
}

class Session {
  private readonly o: PiupartsSessionOptions;
  private readonly maxLogChars: number;
  /** The selected section, or null before a successful `section`. */
  private section: string | null = null;
  private recycleMode = false;
  /** Whether `reserve` or `status` came since the section was selected (too late to recycle). */
  private loaded = false;

  constructor(opts: PiupartsSessionOptions) {
    this.o = opts;
    this.maxLogChars = opts.maxLogChars ?? DEFAULT_MAX_LOG_CHARS;
  }

  async run(): Promise<PiupartsSessionEnd> {
    this.reply('hello');
    for (;;) {
      const line = await this.readLine();
      if (line === null) return { how: 'eof' };
      const words = line.trim() === '' ? [] : line.trim().split(/\s+/);
      const [command, ...args] = words;
      if (command === undefined) throw new ProtocolError('empty command line');
      this.o.log.debug({ slave: this.o.slave, section: this.section, command: line }, `piuparts-slave: ${line}`);
      if (this.section === null && command !== 'section') throw new ProtocolError(`expected 'section' command, got ${preview(command)}`);
      await this.dispatch(command, args);
    }
  }

  private async dispatch(command: string, args: string[]): Promise<void> {
    switch (command) {
      case 'section':
        return this.selectSection(this.args(command, args, 1)[0]!);
      case 'recycle':
        this.args(command, args, 0);
        return this.recycle();
      case 'idle':
        this.args(command, args, 0);
        return this.idle();
      case 'reserve':
        this.args(command, args, 0);
        return this.reserve();
      case 'unreserve': {
        const [name, version] = this.args(command, args, 2) as [string, string];
        return this.unreserve(name, version);
      }
      case 'status':
        this.args(command, args, 0);
        return this.status();
      default:
        if (SUBMISSIONS.has(command)) {
          const [name, version] = this.args(command, args, 2) as [string, string];
          return this.submit(command as SubmissionKind, name, version);
        }
        throw new ProtocolError(`unknown command ${preview(command)}`);
    }
  }

  /** The next line; a too long line or a failing connection is the slave's problem, not the master's. */
  private async readLine(): Promise<string | null> {
    try {
      return await this.o.lines.readLine();
    } catch (err) {
      throw new ProtocolError(err instanceof Error ? err.message : String(err));
    }
  }

  private args(command: string, args: string[], count: number): string[] {
    if (args.length !== count) throw new ProtocolError(`${command} needs exactly ${count} arguments, got ${args.length}`);
    return args;
  }

  private reply(line: string): void {
    this.o.output.write(`${line}\n`);
  }

  private get current(): string {
    return this.section!;
  }

  private selectSection(name: string): void {
    // As piuparts-master: forget the previous section first, so a failed switch leaves none selected.
    this.section = null;
    this.recycleMode = false;
    this.loaded = false;
    if (name.includes('/') || !this.o.backend.hasSection(name)) {
      this.reply('error');
      return;
    }
    this.section = name;
    this.reply('ok');
  }

  private async recycle(): Promise<void> {
    if (this.loaded) {
      this.o.log.debug({ slave: this.o.slave, section: this.current }, 'too late for recycling');
      this.reply('error');
    } else if (this.recycleMode || (await this.o.backend.canRecycle(this.current))) {
      this.recycleMode = true;
      this.reply('ok');
    } else {
      this.reply('error');
    }
  }

  private async idle(): Promise<void> {
    const seconds = await this.o.backend.idleSeconds(this.current);
    this.reply(`ok ${Number.isFinite(seconds) ? Math.max(0, Math.trunc(seconds)) : 0}`);
  }

  private async reserve(): Promise<void> {
    this.loaded = true;
    const got = await this.o.backend.reserve(this.current);
    if (!got) {
      this.reply('error');
      return;
    }
    for (const v of [got.name, got.version]) {
      if (!/^[^\s/]+$/.test(v)) throw new Error(`the master reserved an unusable package name or version ${preview(v)}`);
    }
    this.o.log.debug({ slave: this.o.slave, section: this.current, name: got.name, version: got.version }, 'piuparts reservation');
    this.reply(`ok ${got.name} ${got.version}`);
  }

  private async unreserve(name: string, version: string): Promise<void> {
    checkName('package name', name);
    checkName('version', version);
    await this.o.backend.unreserve(this.current, name, version);
    this.reply('ok');
  }

  private async submit(kind: SubmissionKind, name: string, version: string): Promise<void> {
    // piuparts-master reads the whole log before it checks the names.
    const log = await this.readLongPart();
    checkName('package name', name);
    checkName('version', version);
    await this.o.backend.submit(this.current, kind, name, version, log);
    this.o.log.info({ slave: this.o.slave, section: this.current, kind, name, version, logChars: log.length }, `piuparts ${kind}: ${name} ${version}`);
    this.reply('ok');
  }

  private async status(): Promise<void> {
    this.loaded = true;
    const counts = await this.o.backend.status(this.current);
    let total = 0;
    let text = this.recycleMode ? '(recycle) ' : '';
    for (const [state, count] of counts) {
      total += count;
      text += `${state}=${count} `;
    }
    this.reply(`ok ${text}total=${total}`);
  }

  /** The long part after a submission, leading spaces removed, every line ending in `\n`. */
  private async readLongPart(): Promise<string> {
    const out: string[] = [];
    let chars = 0;
    for (;;) {
      const line = await this.readLine();
      if (line === null) throw new ProtocolError('connection ended inside a long message');
      if (line === '.') return out.join('');
      if (!line.startsWith(' ')) throw new ProtocolError(`long message line does not start with a space: ${preview(line)}`);
      chars += line.length;
      if (chars > this.maxLogChars) throw new ProtocolError(`log longer than ${this.maxLogChars} characters`);
      out.push(line.slice(1), '\n');
    }
  }
}
