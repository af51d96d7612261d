/**
 * `[debian]` in kiln.toml: the sections Kiln tests, with piuparts.conf's
 * own keys and defaults (piuparts(1) "piuparts.conf", and the defaults in
 * piuparts-slave, piuparts-master-backend and the master cron scripts of
 * piuparts 1.1.7). `[debian.global]` holds defaults for every section, as
 * piuparts.conf's `[global]` does; `[debian.sections.NAME]` one section.
 *
 * Values take piuparts' forms: lists may be a space-separated string, as
 * in piuparts.conf, or a TOML array; `auto-reschedule` is `yes`/`no` or a
 * boolean. Durations keep piuparts' units: `max-tgz-age` and
 * `min-tgz-retry-delay` and `idle-sleep` in seconds, `*-days` in days.
 */
import { z } from 'zod';

/** Space-separated string (piuparts.conf) or array → array of words. */
const words = z.preprocess((v) => (typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : v), z.array(z.string().min(1)));
/** `yes`/`no` (piuparts.conf) or a boolean. */
const yesNo = z.preprocess((v) => (v === 'yes' ? true : v === 'no' ? false : v), z.boolean());
const days = z.number().min(0).max(36_500);
const count = z.number().int().min(0);

/** A section name: it names the target, the report directory and piuparts-slave's `section` command. */
export const SECTION_NAME = /^[a-z0-9][a-z0-9._+-]{0,62}$/;

/**
 * The keys a section may set, all optional here; {@link resolveSection}
 * fills piuparts' defaults. Keys are piuparts.conf's.
 */
export const sectionKeysSchema = z
  .object({
    /** Archive root, e.g. `http://deb.debian.org/debian` or `file:///srv/mirror`. */
    mirror: z.string().regex(/^(https?|file):\/\/\S+$/, 'expected an http(s):// or file:// URL').optional(),
    /** The suite tested, e.g. `bookworm`. */
    distro: z.string().min(1).optional(),
    /** The archive area of the packages tested (`main`, `contrib`, `non-free`). */
    area: z.string().min(1).optional(),
    /** The components apt may install dependencies from (default: `area`, or main plus `area`). */
    components: words.optional(),
    /** Debian architecture, e.g. `amd64` (default: the master's `dpkg --print-architecture`). */
    arch: z.string().min(1).optional(),
    /** Upgrade test: the distributions to go through, first to last; the section's index is the last one's. */
    'upgrade-test-distros': words.optional(),
    /** Extra piuparts arguments, e.g. `--warn-on-others --skip-logrotatefiles-test`. */
    'piuparts-flags': words.optional(),
    /** How workers run piuparts (the slave's default is `sudo piuparts`; Kiln workers run as root). */
    'piuparts-command': words.optional(),
    /** Sections whose states satisfy this section's missing dependencies. */
    'depends-sections': words.optional(),
    /** Seconds before a base tarball is rebuilt. */
    'max-tgz-age': z.number().int().min(0).optional(),
    /** Seconds to wait after a failed base tarball build before trying again. */
    'min-tgz-retry-delay': z.number().int().min(0).optional(),
    /** Seconds a piuparts-slave sleeps when a section has nothing to do. */
    'idle-sleep': z.number().int().min(1).optional(),
    /** How many packages one piuparts-slave may hold reserved in this section. */
    'max-reserved': z.number().int().min(1).optional(),
    /** Keep the chroot's sources.list as the base tarball has it. */
    'keep-sources-list': yesNo.optional(),
    /** Working directory for piuparts on the worker. */
    tmpdir: z.string().min(1).optional(),
    /** Turn rescheduling off (`no`). */
    'auto-reschedule': yesNo.optional(),
    'reschedule-old-days': days.optional(),
    'reschedule-old-count': count.optional(),
    'reschedule-fail-days': days.optional(),
    'reschedule-fail-count': count.optional(),
    'reschedule-untestable-days': days.optional(),
    /** Passed or failed results marked for retest and older than this are dropped (0: never). A `+N` string means reschedule-old-days + N. */
    'expire-old-days': z.union([days, z.string().regex(/^\+\d+$/)]).optional(),
    'expire-fail-days': z.union([days, z.string().regex(/^\+\d+$/)]).optional(),
    /** Days after which a reservation nobody reported on is dropped (piuparts' stale reserved packages). */
    'reserved-days': days.optional(),
    /** Shown on the section's report page. */
    description: z.string().optional(),
    /**
     * Kiln's addition: test only these packages and the packages they
     * depend on (first existing alternative, first provider), instead of
     * the whole index. Empty: every package in the index, as piuparts.
     */
    packages: words.optional(),
  })
  .strict();

/** `[debian]`: on/off, global defaults, known-problem directory and the sections. */
export const debianSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Operator known-problem `.conf` files, added to (and overriding by file name) the ones Kiln ships. */
    'known-problem-directory': z.string().min(1).optional(),
    global: sectionKeysSchema.default({}),
    sections: z
      .record(z.string().regex(SECTION_NAME, 'section names are lower-case letters, digits and . _ + -'), sectionKeysSchema)
      .default({}),
  })
  .strict();

/** The validated `[debian]` table. */
export type DebianConfig = z.infer<typeof debianSchema>;
/** One section's keys as written. */
export type SectionKeys = z.infer<typeof sectionKeysSchema>;

/** A section with every piuparts default filled in. */
export interface SectionConfig {
  name: string;
  mirror: string;
  distro: string;
  area: string;
  components: string[];
  arch: string;
  upgradeTestDistros: string[];
  piupartsFlags: string[];
  piupartsCommand: string[];
  dependsSections: string[];
  /** Seconds. */
  maxTgzAge: number;
  /** Seconds. */
  minTgzRetryDelay: number;
  /** Seconds. */
  idleSleep: number;
  maxReserved: number;
  keepSourcesList: boolean;
  tmpdir: string | null;
  autoReschedule: boolean;
  rescheduleOldDays: number;
  rescheduleOldCount: number;
  rescheduleFailDays: number;
  rescheduleFailCount: number;
  rescheduleUntestableDays: number;
  /** Days; 0 never. */
  expireOldDays: number;
  /** Days; 0 never. */
  expireFailDays: number;
  /** Days. */
  reservedDays: number;
  description: string;
  /** Empty: the whole index. */
  packages: string[];
  /**
   * The distribution whose index the section tests: the last upgrade-test
   * distro when set, else `distro` (piuparts' get_final_distro).
   */
  indexDistro: string;
}

function expireDays(v: number | string | undefined, base: number): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  return base + Number(v.slice(1));
}

/**
 * Fill piuparts' defaults into one section: section keys, then
 * `[debian.global]`, then piuparts' built-in defaults.
 * @param hostArch the architecture used when neither sets `arch`.
 * @throws Error when neither the section nor the global defaults name a `distro`
 *   or `upgrade-test-distros`.
 */
export function resolveSection(name: string, keys: SectionKeys, global: SectionKeys, hostArch: string): SectionConfig {
  const k = { ...global, ...keys };
  const upgrade = k['upgrade-test-distros'] ?? [];
  const distro = k.distro ?? upgrade[0];
  if (!distro) throw new Error(`[debian.sections.${name}] needs distro (or upgrade-test-distros)`);
  const area = k.area ?? 'main';
  const oldDays = k['reschedule-old-days'] ?? 180;
  const failDays = k['reschedule-fail-days'] ?? 30;
  return {
    name,
    mirror: (k.mirror ?? 'http://deb.debian.org/debian').replace(/\/+$/, ''),
    distro,
    area,
    // piuparts: a non-main area needs main for its dependencies.
    components: k.components ?? (area === 'main' ? ['main'] : ['main', area]),
    arch: k.arch ?? hostArch,
    upgradeTestDistros: upgrade,
    piupartsFlags: k['piuparts-flags'] ?? [],
    piupartsCommand: k['piuparts-command'] ?? ['piuparts'],
    dependsSections: k['depends-sections'] ?? [],
    maxTgzAge: k['max-tgz-age'] ?? 2_592_000,
    minTgzRetryDelay: k['min-tgz-retry-delay'] ?? 21_600,
    idleSleep: k['idle-sleep'] ?? 300,
    maxReserved: k['max-reserved'] ?? 1,
    keepSourcesList: k['keep-sources-list'] ?? false,
    tmpdir: k.tmpdir ?? null,
    autoReschedule: k['auto-reschedule'] ?? true,
    rescheduleOldDays: oldDays,
    rescheduleOldCount: k['reschedule-old-count'] ?? 200,
    rescheduleFailDays: failDays,
    rescheduleFailCount: k['reschedule-fail-count'] ?? 25,
    rescheduleUntestableDays: k['reschedule-untestable-days'] ?? 7,
    expireOldDays: expireDays(k['expire-old-days'], oldDays),
    expireFailDays: expireDays(k['expire-fail-days'], failDays),
    reservedDays: k['reserved-days'] ?? 1,
    description: k.description ?? '',
    packages: k.packages ?? [],
    indexDistro: upgrade.length ? upgrade[upgrade.length - 1]! : distro,
  };
}
