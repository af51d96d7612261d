/**
 * `kiln piuparts-master`: what ssh runs for a piuparts-slave, in place of
 * piuparts' own piuparts-master (put it in the slave key's `command=` in
 * authorized_keys). It relays the slave's stdin/stdout to the running Kiln
 * master's piuparts socket, where the protocol is served with the master's
 * database.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { relayToPiupartsMaster } from '../ecosystems/debian/piuparts-master/relay.ts';
import { defaultPiupartsSocketPath } from '../ecosystems/debian/piuparts-master/relay-wire.ts';
import { KilnError } from '../errors.ts';
import { masterPaths } from '../master/master.ts';

interface PiupartsMasterFlags {
  config?: string;
  socket?: string;
  name?: string;
}

/**
 * The slave's default name: `piuparts-slave@<client address>` from ssh's
 * `SSH_CLIENT` ("address port port"), else `piuparts-slave@local`.
 */
export function defaultSlaveName(env: NodeJS.ProcessEnv = process.env): string {
  const address = env.SSH_CLIENT?.trim().split(/\s+/)[0];
  return `piuparts-slave@${address || 'local'}`;
}

/** Register `kiln piuparts-master`. */
export function registerPiupartsMaster(program: Command): void {
  program
    .command('piuparts-master')
    .description("serve a piuparts-slave on stdin/stdout through the running Kiln master (run by ssh, like piuparts' piuparts-master)")
    .option('-c, --config <file>', 'TOML config file, for [master] data_dir (default: /etc/kiln.toml, /usr/local/etc/kiln.toml, ~/.config/kiln/kiln.toml)')
    .option('--socket <path>', "the master's piuparts socket (default: <data_dir>/piuparts-master.sock)")
    .option('--name <name>', "the slave's name in the master's records (default: piuparts-slave@<address from SSH_CLIENT>, else piuparts-slave@local)")
    .action(async (f: PiupartsMasterFlags) => {
      const socket = f.socket ?? defaultPiupartsSocketPath(masterPaths(loadConfig(f.config).config.master).dataDir);
      const name = f.name ?? defaultSlaveName();
      if (name === '' || /[\r\n]/.test(name)) throw new KilnError('--name must be one non-empty line', 2);
      await relayToPiupartsMaster({ socket, name, input: process.stdin, output: process.stdout });
    });
}
