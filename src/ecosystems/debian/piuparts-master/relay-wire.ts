/**
 * What `kiln piuparts-master` (the relay ssh runs for a piuparts-slave) and
 * the master's unix socket agree on: where the socket is by default, and the
 * one line the relay sends before the raw piuparts protocol.
 */
import { join } from 'node:path';

/** The socket's file name inside the master's data directory. */
export const PIUPARTS_SOCKET_NAME = 'piuparts-master.sock';

/**
 * Where the master serves piuparts-slaves unless told otherwise:
 * `<dataDir>/piuparts-master.sock`.
 * @param dataDir the master's data directory, already resolved to an
 *   absolute path (masterPaths(config).dataDir).
 */
export function defaultPiupartsSocketPath(dataDir: string): string {
  return join(dataDir, PIUPARTS_SOCKET_NAME);
}

const PREFIX = 'kiln-relay name=';

/**
 * The relay's first line, newline included: `kiln-relay name=<slave name>\n`.
 * @param name the slave's name: not empty, no line breaks (it is the rest of the line).
 * @throws Error when the name is empty or holds a line break.
 */
export function formatRelayPreamble(name: string): string {
  if (name === '' || /[\r\n]/.test(name)) throw new Error(`a slave name must be one non-empty line, not ${JSON.stringify(name)}`);
  return `${PREFIX}${name}\n`;
}

/**
 * Read the relay's first line (without its `\n`).
 * @returns the slave's name, or null when the line is not a preamble or names no one.
 */
export function parseRelayPreamble(line: string): string | null {
  if (!line.startsWith(PREFIX)) return null;
  const name = line.slice(PREFIX.length);
  return name === '' || name.includes('\r') ? null : name;
}
