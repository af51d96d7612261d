import type { Command } from 'commander';
import { migrate } from '../db/migrate.ts';
import { openConfiguredDb } from '../master/master.ts';
import { addMasterOptions, setupMaster, type MasterFlags } from './common.ts';

/** `kiln initdb`: create or upgrade the schema and record its version. */
export function registerInitdb(program: Command): void {
  addMasterOptions(program.command('initdb').description('create or upgrade the database schema')).action(async (f: MasterFlags) => {
    const { config } = setupMaster(f);
    const db = await openConfiguredDb(config.master);
    try {
      const { from, to } = await migrate(db);
      process.stdout.write(from === to ? `schema already at version ${to} (${db.where})\n` : `schema upgraded from version ${from} to ${to} (${db.where})\n`);
    } finally {
      await db.close();
    }
  });
}
