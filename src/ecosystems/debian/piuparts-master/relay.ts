/**
 * The relay side of `kiln piuparts-master`: what ssh runs for a
 * piuparts-slave. It connects to the master's unix socket, sends the
 * preamble naming the slave, then copies bytes both ways untouched until
 * either side closes, so the protocol itself runs inside the master.
 */
import { connect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { KilnError } from '../../../errors.ts';
import { formatRelayPreamble } from './relay-wire.ts';

/** Where to relay and between what. */
export interface RelayOptions {
  /** The master's piuparts socket. */
  socket: string;
  /** The slave's name, sent in the preamble (one non-empty line). */
  name: string;
  /** The slave's side: what it sends (the relay's stdin). Destroyed when the relay ends. */
  input: Readable;
  /** The slave's side: what it reads (the relay's stdout). Never ended by the relay. */
  output: Writable;
}

/** One readable reason a connect failed. */
function describeConnectError(path: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `no socket at ${path}`;
  if (err.code === 'ECONNREFUSED') return `nothing listens on ${path}`;
  if (err.code === 'EACCES') return `no permission to connect to ${path}`;
  return `${path}: ${err.message}`;
}

/**
 * Copy between the slave and the master's socket until one side closes.
 * When the slave closes its end, the master is told (end of input) and the
 * relay waits for the master to finish; when the master closes, the relay
 * stops reading from the slave. Errors after connecting (a reset, the
 * slave gone) just end the relay.
 *
 * @throws KilnError (exit code 1) when the socket is missing or refuses the
 *   connection: "the Kiln master is not running or does not serve Debian: …".
 */
export async function relayToPiupartsMaster(opts: RelayOptions): Promise<void> {
  const preamble = formatRelayPreamble(opts.name);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(opts.socket);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  }).catch((err: NodeJS.ErrnoException) => {
    throw new KilnError(`the Kiln master is not running or does not serve Debian: ${describeConnectError(opts.socket, err)}`, 1);
  });
  socket.write(preamble);
  await new Promise<void>((resolve) => {
    socket.on('error', () => socket.destroy());
    socket.once('close', () => resolve());
    opts.output.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => opts.output.write(chunk));
    opts.input.on('error', () => socket.end());
    opts.input.pipe(socket);
  });
  opts.input.unpipe(socket);
  opts.input.destroy();
}
