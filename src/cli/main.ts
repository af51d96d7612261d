/**
 * The `kiln` command line. This is the only place that sets exit codes:
 * parts throw KilnError with a readable message and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { KilnError } from '../errors.ts';
import { KILN_VERSION } from '../version.ts';
import { registerAdmin } from './admin-cmds.ts';
import { registerImport } from './import-cmd.ts';
import { registerInitdb } from './initdb-cmd.ts';
import { registerMaster } from './master-cmd.ts';
import { registerPiupartsMaster } from './piuparts-master-cmd.ts';
import { registerUp } from './up-cmd.ts';
import { registerWorker } from './worker-cmd.ts';

const program = new Command('kiln')
  .description('Kiln: a package build farm')
  .version(KILN_VERSION, '--version', 'print the version')
  .showHelpAfterError()
  // The program's own options (--version) only before a command, so `kiln import --version VER` reaches import.
  .enablePositionalOptions()
  .exitOverride();

registerUp(program);
registerMaster(program);
registerWorker(program);
registerInitdb(program);
registerAdmin(program);
registerImport(program);
registerPiupartsMaster(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (err instanceof KilnError) {
    process.stderr.write(`kiln: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`kiln: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
