/**
 * The lines piuparts-slave 1.1.7 writes around a piuparts run in a
 * package's log (`_test_package` in /usr/share/piuparts/piuparts-slave),
 * so a Kiln log reads like the slave's and the master's report can parse
 * either:
 *
 * ```
 * Start: 2024-05-01 10:00:00 GMT
 * (messages, then a blank line, the Packages stanza, a blank line)
 * Executing: piuparts … --apt hello=2.10-3
 * (piuparts' output)
 * ( *** PIUPARTS OUTPUT INCOMPLETE ***)
 *
 * ret=0
 * End: 2024-05-01 10:00:10 GMT
 * ```
 *
 * The time is UTC, written with the slave's
 * `time.strftime("%Y-%m-%d %H:%M:%S %Z", time.gmtime())`, whose zone name
 * is `GMT` on Debian (glibc names a gmtime() struct's zone GMT).
 */
import { commandString } from './worker-command.ts';

const pad = (n: number) => String(n).padStart(2, '0');

/** `2024-05-01 10:00:00 GMT`: a time as the slave writes it (UTC, seconds). */
export function slaveTime(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} GMT`;
}

/** `Start: <time>\n`. */
export function startLine(d: Date): string {
  return `Start: ${slaveTime(d)}\n`;
}

/** `Executing: <command>\n`, the command quoted as the slave's command2string. */
export function executingLine(words: string[]): string {
  return `Executing: ${commandString(words)}\n`;
}

/**
 * What follows the output (or the availability messages): the slave's
 * note if any, a blank line, `ret=N`, `End: <time>`.
 * @param note a ` *** … ***\n` line, or `''`.
 */
export function endLines(ret: number, d: Date, note = ''): string {
  return `${note}\nret=${ret}\nEnd: ${slaveTime(d)}\n`;
}
