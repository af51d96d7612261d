import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { configSchema, type Config } from './schema.ts';

/** Where `kiln` looks for a config file when `-c` is not given, in order (first found wins). */
export function defaultConfigPaths(): string[] {
  return ['/etc/kiln.toml', '/usr/local/etc/kiln.toml', join(homedir(), '.config', 'kiln', 'kiln.toml')];
}

type Raw = Record<string, Record<string, unknown>>;

/** Keys whose values are lists: in the environment they are comma-separated. */
const LIST_KEYS = new Set(['packages', 'labels', 'ecosystems', 'debug']);

function coerceEnv(key: string, value: string): unknown {
  if (LIST_KEYS.has(key)) return value.split(',').map((s) => s.trim()).filter(Boolean);
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+$/.test(value)) return Number(value);
  return value;
}

/**
 * Read `KILN_<SECTION>_<KEY>` variables into a config fragment, e.g.
 * `KILN_MASTER_DSN=postgres://…` → `{ master: { dsn: "postgres://…" } }`.
 * Numbers and booleans are converted; list keys split on commas.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): Raw {
  const out: Raw = {};
  const sections = Object.keys(configSchema.shape);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('KILN_') || value === undefined) continue;
    const rest = name.slice(5).toLowerCase();
    const section = sections.find((s) => rest.startsWith(`${s}_`));
    if (!section) continue;
    const key = rest.slice(section.length + 1);
    (out[section] ??= {})[key] = coerceEnv(key, value);
  }
  return out;
}

function merge(...layers: Raw[]): Raw {
  const out: Raw = {};
  for (const layer of layers) {
    for (const [section, values] of Object.entries(layer)) {
      if (values === null || typeof values !== 'object' || Array.isArray(values)) {
        (out as Record<string, unknown>)[section] = values;
        continue;
      }
      out[section] = { ...(out[section] ?? {}), ...values };
    }
  }
  return out;
}

/** Turn the first zod issue into one line naming the key and what was expected. */
export function describeIssue(issue: z.core.$ZodIssue, source: string): string {
  const key = issue.path.join('.');
  let what = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    return `${source}: unknown key ${[key, keys[0]].filter(Boolean).join('.')}`;
  }
  if (issue.code === 'invalid_type') what = `expected ${issue.expected}`;
  return `${source}: ${key || '(top level)'}: ${what}`;
}

/** Where a config came from, for messages. */
export interface ConfigSources {
  /** The file that was read, if any. */
  file: string | null;
}

/**
 * Build the configuration: the file (from `-c`, else the first default path
 * that exists), then `KILN_*` variables, then `flags`, validated as a whole.
 *
 * @param file explicit path from `-c`; it must exist.
 * @param flags a fragment from command-line flags, same shape as the file.
 * @throws ConfigError with one readable line: a missing or unparsable file,
 *   or the key that is wrong and what was expected.
 */
export function loadConfig(
  file: string | undefined,
  flags: Raw = {},
  env: NodeJS.ProcessEnv = process.env,
): { config: Config; sources: ConfigSources } {
  let path: string | null = null;
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`);
    path = file;
  } else if (env.KILN_CONFIG) {
    if (!existsSync(env.KILN_CONFIG)) throw new ConfigError(`config file ${env.KILN_CONFIG} (from KILN_CONFIG) does not exist`);
    path = env.KILN_CONFIG;
  } else {
    path = defaultConfigPaths().find((p) => existsSync(p)) ?? null;
  }
  let fromFile: Raw = {};
  if (path) {
    try {
      fromFile = parseToml(readFileSync(path, 'utf8')) as Raw;
    } catch (err) {
      throw new ConfigError(`${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const merged = merge(fromFile, configFromEnv(env), flags);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(describeIssue(issue, path ?? 'config'));
  }
  return { config: result.data, sources: { file: path } };
}
