import { readFileSync } from 'node:fs';

/** Kiln's own version, read from package.json (semver string, e.g. "0.1.0"). */
export const KILN_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * Version of the worker protocol (docs/protocol.md). A worker whose protocol
 * major differs from the master's is refused at hello.
 */
export const PROTOCOL_VERSION = 1;

/** Newest database schema version this Kiln understands; equals the highest numbered migration. */
export const SCHEMA_VERSION = 4;
