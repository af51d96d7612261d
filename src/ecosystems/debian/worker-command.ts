/**
 * The piuparts command lines a Kiln worker runs, word for word as
 * piuparts-slave 1.1.7 builds them (`Section._test_package` and
 * `create_chroot` in /usr/share/piuparts/piuparts-slave), from a
 * {@link DebianJobSpec} instead of piuparts.conf. Pure functions.
 *
 * Not carried over: `setarch` and `chroot-meta-auto` (no spec keys), and
 * piuparts' distros.conf mapping of a distro to another distribution name.
 */
import type { DebianJobSpec } from './job-spec.ts';

/** What the slave takes from its environment rather than its config. */
export interface CommandEnv {
  /** `http_proxy` of the worker's environment: passed as `--proxy`, as the slave does. */
  proxy?: string;
}

/**
 * Whether the section is an upgrade test: more than one upgrade-test
 * distro (the slave's `distupgrade`). One distro alone is a plain test.
 */
export function isDistUpgrade(spec: DebianJobSpec): boolean {
  return spec.upgradeTestDistros.length > 1;
}

/** The distro the base tarball holds: the first upgrade-test distro, else `distro` (piuparts' get_start_distro). */
export function startDistro(spec: DebianJobSpec): string {
  return spec.upgradeTestDistros[0] ?? spec.distro;
}

/**
 * The base tarball's file name, as piuparts' DistroConfig.get_basetgz
 * names it: `<distro>_<arch>.tar.gz`, or `<distro>-merged-usr_<arch>.tar.gz`
 * when the flags hold `--merged-usr` (such a chroot differs, so it gets its
 * own tarball).
 */
export function baseTarballName(spec: DebianJobSpec): string {
  const merged = spec.piupartsFlags.includes('--merged-usr') ? '-merged-usr' : '';
  return `${startDistro(spec)}${merged}_${spec.arch}.tar.gz`;
}

/** The words both command lines start with: command, flags, proxy, mirror, tmpdir, arch. */
function leadingWords(spec: DebianJobSpec, env: CommandEnv): string[] {
  const words = [...spec.piupartsCommand, ...spec.piupartsFlags];
  if (env.proxy) words.push('--proxy', env.proxy);
  // The slave passes mirror and components as one argument: "URL comp1 comp2".
  words.push('--mirror', [spec.mirror, ...spec.components].join(' '));
  if (spec.tmpdir) words.push('--tmpdir', spec.tmpdir);
  words.push('--arch', spec.arch);
  return words;
}

/**
 * The install/purge (or upgrade) test of `spec.package` at `spec.version`:
 * `<piuparts-command> <piuparts-flags> [--proxy P] --mirror "<mirror>
 * <components…>" [--tmpdir T] --arch A -b <tarball>`, then `-d <distro>
 * --no-upgrade-test`, or one `-d` per upgrade-test distro for an upgrade
 * test, then `[--keep-sources-list] --apt <pkg>=<version>`.
 * @param tarball path of the base tarball (`-b`).
 */
export function piupartsTestCommand(spec: DebianJobSpec, tarball: string, env: CommandEnv = {}): string[] {
  const words = [...leadingWords(spec, env), '-b', tarball];
  if (isDistUpgrade(spec)) for (const d of spec.upgradeTestDistros) words.push('-d', d);
  else words.push('-d', spec.distro, '--no-upgrade-test');
  if (spec.keepSourcesList) words.push('--keep-sources-list');
  words.push('--apt', `${spec.package}=${spec.version}`);
  return words;
}

/**
 * The base tarball's creation, as the slave's create_chroot: `… --arch A
 * -d <start distro> -s <newTarball> --no-install-purge-test
 * --no-upgrade-test --apt TARBALL` (`TARBALL` is a dummy package name).
 * @param newTarball where piuparts saves the chroot (`-s`), renamed into place on success.
 */
export function tarballCreateCommand(spec: DebianJobSpec, newTarball: string, env: CommandEnv = {}): string[] {
  return [
    ...leadingWords(spec, env),
    '-d', startDistro(spec),
    '-s', newTarball,
    '--no-install-purge-test', '--no-upgrade-test',
    '--apt', 'TARBALL',
  ];
}

/**
 * One word quoted as Python's shlex.quote does: unchanged when it holds
 * only `[A-Za-z0-9_@%+=:,./-]`, else in single quotes with each `'`
 * written `'"'"'`; the empty word is `''`.
 */
export function shlexQuote(word: string): string {
  if (word === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/**
 * A command as the slave writes it after `Executing: ` (its command2string):
 * the words quoted with {@link shlexQuote}, joined by single spaces, so the
 * line can be pasted into a shell.
 */
export function commandString(words: string[]): string {
  return words.map(shlexQuote).join(' ');
}
