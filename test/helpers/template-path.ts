import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { listMigrations } from '../../src/db/migrate.ts';

/** Where global-setup keeps the migrated PGlite dump; the name changes with the migrations. */
export function templatePath(): string {
  const key = createHash('sha256').update(listMigrations().map((m) => m.sql).join('\n')).digest('hex').slice(0, 16);
  return join(process.cwd(), '.tmp', `pglite-template-${key}.tar`);
}
