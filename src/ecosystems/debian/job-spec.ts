/**
 * The Debian part of a job (Job.spec), as the master hands it to a Kiln
 * worker: everything piuparts-slave reads from its own piuparts.conf for
 * one section, so a worker needs no Debian configuration of its own.
 */

/** What a worker needs to test one package version in one section. */
export interface DebianJobSpec {
  /** The section (also the job's target). */
  section: string;
  /** Archive root, `http(s)://…` or `file:///…`, without a trailing slash. */
  mirror: string;
  /** The suite installed first (piuparts `-d`). */
  distro: string;
  /** For upgrade tests: every distribution, first to last (each becomes a `-d`); empty otherwise. */
  upgradeTestDistros: string[];
  /** The suite whose Packages index lists the version under test (the last upgrade-test distro, else `distro`). */
  indexDistro: string;
  /** Components apt uses inside the chroot and the worker reads Packages from. */
  components: string[];
  /** Debian architecture, e.g. `amd64`. */
  arch: string;
  /** How to run piuparts, split into words (default `["piuparts"]`). */
  piupartsCommand: string[];
  /** Extra piuparts arguments. */
  piupartsFlags: string[];
  keepSourcesList: boolean;
  /** Seconds before the base tarball is rebuilt (piuparts-slave's max-tgz-age). */
  maxTgzAge: number;
  /** Seconds between attempts to build a base tarball after a failure (min-tgz-retry-delay). */
  minTgzRetryDelay: number;
  /** piuparts `--tmpdir`, or null. */
  tmpdir: string | null;
  /** The binary package. */
  package: string;
  /** The version to test (the section's test version). */
  version: string;
}
