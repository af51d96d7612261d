import semver from 'semver';
import { z } from 'zod';
import { debianSchema, SECTION_NAME } from '../ecosystems/debian/section-config.ts';

/**
 * The shape of `kiln.toml` after defaults. Every key can also be set as
 * `KILN_<SECTION>_<KEY>` in the environment (e.g. `KILN_MASTER_DSN`), and
 * the master's keys by flags. Durations are in seconds (`_s`).
 */
const listenAddr = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected HOST:PORT, for example 127.0.0.1:8470')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'expected a port from 0 to 65535');

const versionsPolicy = z
  .string()
  .refine((v) => v === 'latest' || v === 'all' || semver.validRange(v) !== null, 'expected "latest", "all", or a semver range such as ">=5"');

/** A ZeroMQ endpoint to bind: `tcp://HOST:PORT` (`*` for every interface) or `ipc://PATH`. */
const zmqEndpoint = z.string().regex(/^(tcp:\/\/(\*|\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}|ipc:\/\/\S+)$/, 'expected a ZeroMQ endpoint such as tcp://*:5555');

/** An http(s) URL (a worker cannot reach a master over ftp://). */
const httpUrl = () => z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });

/** `[master]`: the master's address, database, paths, timings (seconds) and logging. */
export const masterSchema = z
  .object({
    listen: listenAddr.default('127.0.0.1:8470'),
    public_url: httpUrl().optional(),
    dsn: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL').optional(),
    db_pool: z.number().int().min(1).max(200).default(20),
    data_dir: z.string().min(1).default('./kiln-data'),
    output_path: z.string().min(1).optional(),
    dev_mode: z.boolean().default(false),
    admin_token: z.string().min(16, 'expected at least 16 characters').optional(),
    lease_s: z.number().int().min(5).max(86_400).default(120),
    claim_wait_s: z.number().int().min(1).max(300).default(25),
    build_timeout_s: z.number().int().min(1).max(86_400).default(3600),
    sync_interval_s: z.number().int().min(10).max(604_800).default(900),
    log_file: z.string().optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    debug: z.array(z.string()).default([]),
  })
  .strict();

/**
 * Packages tracked when the config names none: real native addons that build
 * in seconds to a minute here. better-sqlite3 uses prebuild-install, so a
 * plain `npm install` can be pointed at Kiln's binaries.
 */
export const DEFAULT_NPM_PACKAGES = ['bufferutil', 'utf-8-validate', 'microtime', 'bcrypt', 'leveldown', 'better-sqlite3'];

/** `[npm]`: the registry, which versions to build, and the packages to track. */
export const npmSchema = z
  .object({
    enabled: z.boolean().default(true),
    registry: httpUrl().optional(),
    versions: versionsPolicy.default('latest'),
    packages: z.array(z.string().min(1)).default(DEFAULT_NPM_PACKAGES),
  })
  .strict();

/** `[pypi]`: the index Kiln follows (piw-master's --pypi-xmlrpc, --pypi-simple, --pypi-json) and optionally which projects. */
export const pypiSchema = z
  .object({
    enabled: z.boolean().default(false),
    xmlrpc: httpUrl().default('https://pypi.org/pypi'),
    simple: httpUrl().default('https://pypi.org/simple'),
    json: httpUrl().default('https://pypi.org/pypi'),
    /** Empty: every project the changelog mentions, as piwheels does. */
    packages: z.array(z.string().min(1)).default([]),
    /** piw-master's --slave-queue: when set, existing piw-slaves can connect here (ZeroMQ, e.g. `tcp://*:5555`). */
    slave_queue: zmqEndpoint.optional(),
    /** piw-master's --file-queue: where piw-slaves send wheels; piw-slave always uses port 5556 of its master. */
    file_queue: zmqEndpoint.default('tcp://*:5556'),
  })
  .strict();

/** `[worker]`: how `kiln worker` reaches its master and sandboxes builds. */
export const workerSchema = z
  .object({
    master: httpUrl().optional(),
    token: z.string().optional(),
    name: z.string().min(1).optional(),
    labels: z.array(z.string()).default([]),
    work_dir: z.string().optional(),
    sandbox: z.enum(['auto', 'bwrap', 'none']).default('auto'),
    ecosystems: z.array(z.string()).default(['npm']),
    /** Debian sections this worker tests (piuparts-slave's `sections`); `kiln up` passes the master's. */
    debian_sections: z.array(z.string().regex(SECTION_NAME, 'section names are lower-case letters, digits and . _ + -')).default([]),
  })
  .strict();

/** The whole `kiln.toml`: `[master]`, `[npm]`, `[pypi]`, `[debian]` and `[worker]`, each with defaults; unknown keys are errors. */
export const configSchema = z
  .object({
    master: masterSchema.default(masterSchema.parse({})),
    npm: npmSchema.default(npmSchema.parse({})),
    pypi: pypiSchema.default(pypiSchema.parse({})),
    debian: debianSchema.default(debianSchema.parse({})),
    worker: workerSchema.default(workerSchema.parse({})),
  })
  .strict();

/** The validated configuration. */
export type Config = z.infer<typeof configSchema>;
/** The `[master]` section. */
export type MasterConfig = Config['master'];
/** The `[npm]` section. */
export type NpmConfig = Config['npm'];
/** The `[pypi]` section. */
export type PypiConfig = Config['pypi'];
/** The `[debian]` section. */
export type { DebianConfig } from '../ecosystems/debian/section-config.ts';
/** The `[worker]` section. */
export type WorkerConfig = Config['worker'];
