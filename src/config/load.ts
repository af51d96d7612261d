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

/** The defaults, whose types say how to read each key from a string. */
const DEFAULTS = configSchema.parse({}) as unknown as Record<string, Record<string, unknown>>;

/**
 * Convert an environment string by the type of the key's default: lists
 * split on commas, numbers and booleans parsed, everything else (names,
 * URLs, `versions = "5"`) kept as a string. A value that does not parse is
 * passed on as it is, so validation names the key.
 */
function coerceEnv(section: string, key: string, value: string): unknown {
  const like = DEFAULTS[section]?.[key];
  if (Array.isArray(like)) return value.split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof like === 'number') return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  if (typeof like === 'boolean') return value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
  return value;
}

/** The keys a section accepts, from the schema. */
function keysOf(section: string): Set<string> {
  const shape = (configSchema.shape as Record<string, { unwrap?: () => { shape: Record<string, unknown> } }>)[section];
  const inner = shape?.unwrap?.().shape ?? {};
  return new Set(Object.keys(inner));
}

/**
 * Read `KILN_<SECTION>_<KEY>` variables into a config fragment, e.g.
 * `KILN_MASTER_DSN=postgres://…` → `{ master: { dsn: "postgres://…" } }`.
 * Values are converted by the key's type; variables that name no config key
 * (`KILN_MASTER_URL`, `KILN_ADMIN_TOKEN`, `KILN_CONFIG`…) are left alone.
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
    if (!keysOf(section).has(key)) continue;
    (out[section] ??= {})[key] = coerceEnv(section, key, value);
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
