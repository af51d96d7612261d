import type { Command } from 'commander';
import { startMaster } from '../master/master.ts';
import { KILN_VERSION } from '../version.ts';
import { addMasterOptions, masterEcosystems, setupMaster, type MasterFlags } from './common.ts';
import { untilSignal } from './signals.ts';

/** `kiln master`: run the master (API, sync, scheduler, publisher, website). */
export function registerMaster(program: Command): void {
  addMasterOptions(program.command('master').description('run the master: sync sources, hand builds to workers, publish repositories and the site'))
    .option('--no-site', 'do not serve the output path over HTTP (serve it with another web server)')
    .version(KILN_VERSION, '--version', 'print the version')
    .action(async (f: MasterFlags & { site: boolean }) => {
      const { config, log } = setupMaster(f);
      const master = await startMaster({
        config: config.master,
        log,
        ecosystems: await masterEcosystems(config),
        configuredPackages: { npm: config.npm.packages, pypi: config.pypi.packages },
        serveSite: f.site,
      });
      process.stderr.write(`kiln master: API and site at ${master.url}\n`);
      await untilSignal();
      await master.close();
    });
}
