/**
 * What the piuparts master protocol needs from Kiln, one connection at a
 * time. The protocol code (session.ts) speaks piuparts' line protocol and
 * calls this; the master implements it over its database, so results from
 * piuparts-slaves and from Kiln workers land in the same builds table.
 *
 * The socket server (socket-server.ts) asks a {@link PiupartsBackendFactory}
 * for one backend per connection, passing the slave's name, so the backend
 * knows which slave holds a reservation or sent a result.
 *
 * Names and versions passed in have already been checked by the session:
 * they are single words without whitespace and without `/`.
 */

/** The result kinds a piuparts-slave submits (the protocol commands `pass`, `fail`, `untestable`). */
export type SubmissionKind = 'pass' | 'fail' | 'untestable';

/**
 * Create the backend for one slave connection.
 *
 * @param slave the slave's name as the relay reported it in its preamble,
 *   e.g. `piuparts-slave@192.0.2.7` (from ssh's `SSH_CLIENT`) or whatever
 *   `kiln piuparts-master --name` was given. Not authenticated beyond the
 *   ssh key that ran the relay; use it for bookkeeping and logs.
 * @throws anything: the connection is then closed before `hello`, and the
 *   error is logged.
 */
export type PiupartsBackendFactory = (slave: string) => PiupartsBackend;

/**
 * One connection's view of the master. A connection may switch sections
 * (`section` again), so every method names the section it is about; it is
 * always one `hasSection` answered true for on this connection.
 *
 * Any method may throw (or reject): the session then logs the error and
 * closes the connection without a reply, as piuparts-master does on a disk
 * error, and the slave backs off for 15 minutes.
 */
export interface PiupartsBackend {
  /** Whether Kiln tests a section of this name (`section` answers `ok`, else `error`). */
  hasSection(section: string): boolean;
  /**
   * Whether the section has results marked for retest (piuparts' recycle
   * mode can be entered). Kiln queues marked results after untested
   * packages anyway; this only answers `recycle`. Only asked before the
   * connection's first `reserve` or `status` in the section.
   */
  canRecycle(section: string): Promise<boolean>;
  /**
   * Seconds the slave should stay away when the section was found to have
   * nothing to hand out (piuparts' idle stamp: 0 when not known to be idle).
   * The session sends it truncated to a whole, non-negative number.
   */
  idleSeconds(section: string): Promise<number>;
  /**
   * Reserve the next package: the first `waiting-to-be-tested` package by
   * how many others wait on it. The reservation lasts until a result for
   * it arrives, `unreserve`, or the section's stale-reservation age.
   * @returns the package and version (single words, no `/`; the session
   *   refuses anything else and closes the connection), or null when nothing
   *   is waiting (the session answers `error`).
   */
  reserve(section: string): Promise<{ name: string; version: string } | null>;
  /** Give a reservation back, untested. Unknown reservations are ignored. */
  unreserve(section: string, name: string, version: string): Promise<void>;
  /**
   * Record a result with its piuparts log. Replaces an earlier result of
   * the same package version; a duplicate is accepted. Stored atomically.
   *
   * @param log the log as piuparts-slave wrote it (its `Start:` line, the
   *   package's Packages stanza, `Executing: …`, piuparts' output, `ret=N`,
   *   `End:`), every line ending in `\n`; the protocol's leading spaces are
   *   already removed. Empty when the slave sent no lines.
   * @throws Error with a readable message when the result cannot be stored.
   */
  submit(section: string, kind: SubmissionKind, name: string, version: string, log: string): Promise<void>;
  /**
   * Counts per active piuparts state, in piuparts' state order (the obsolete
   * states left out, as piuparts-master does). The session adds `total=N`.
   */
  status(section: string): Promise<Array<[state: string, count: number]>>;
  /** Called once when the connection has ended, however it ended. Optional. */
  close?(): void | Promise<void>;
}
