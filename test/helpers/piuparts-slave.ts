/**
 * Run the REAL piuparts-slave (piuparts 1.1.7, /usr/share/piuparts/piuparts-slave)
 * against any master command, for protocol and end-to-end tests.
 *
 * How it is fooled into running here, with nothing of the machine changed:
 * - **ssh**: the slave starts `ssh -x [-l USER] <master-host> <master-command>`
 *   and talks over its stdin/stdout. A fake `ssh` first in PATH drops `-x`,
 *   `-l USER` and the host and runs the rest with `sh -c`, exporting
 *   `SSH_CLIENT` as sshd would (so `kiln piuparts-master` names the slave
 *   `piuparts-slave@<address>`).
 * - **config**: the slave only reads `/etc/piuparts/piuparts.conf`, so the
 *   harness's own file is bind-mounted over it in a private mount namespace
 *   (`unshare -m`, root only); the real file is untouched for everyone else.
 * - **mirror**: `mirror = file://<dir>`. The slave fetches
 *   `<mirror>/dists/<distro>/<area>/binary-<arch>/Packages` trying `.xz`,
 *   `.bz2`, `.gz` and plain in that order, but only an HTTP 404 moves it to
 *   the next one: over file:// a missing `Packages.xz` is a URLError and the
 *   slave gives up ("failed to fetch packages file", 15 minutes' back-off).
 *   So the harness writes `Packages.xz` (and `Packages.gz`, `Packages` and a
 *   `Release` for other readers). A version that differs from what the
 *   master reserved makes the slave submit `untestable` without testing.
 * - **base tarball**: the slave wants `chroot-tgz` (or a name derived from
 *   the distro) in `basetgz-directory`; if missing it would run
 *   piuparts-command to build one, and it will not test while it is
 *   missing. The harness points `chroot-tgz` at an empty file it creates,
 *   with `max-tgz-age = 0` (never recreated).
 * - **piuparts**: `piuparts-command` is a stub script. It prints piuparts-like
 *   lines and ends with `piuparts run ends.`, exit 0 (pass) or, for the
 *   packages in `failPackages`, an `ERROR:` line and exit 1 (fail), so the
 *   slave's log has its real format: `Start:`, the Packages stanza,
 *   `Executing: …`, the stub's output, `ret=N`, `End:`.
 *
 * The slave loops forever (sleeping at least 60 s when idle); `stop()` kills
 * its process group (the relay it started with it). Its `debug = yes`
 * stderr is parsed to know which submissions the master acknowledged.
 *
 * Start the slave only once the master has something to hand out: a slave
 * whose `reserve` got `error` sleeps at least 60 s. For a master that reads
 * the same mirror, write it first with writeTestMirror and pass `mirrorDir`.
 *
 * @example
 * if (piupartsSlaveSkipReason()) return; // or describe.skipIf(…)
 * const slave = await startPiupartsSlave({
 *   masterCommand: `${process.execPath} ${kilnBin} piuparts-master --socket ${sock}`,
 *   sections: [{ name: 'sid', packages: [{ name: 'hello', version: '2.10-3' }] }],
 *   failPackages: ['hello'],
 * });
 * try {
 *   const acked = await slave.waitForSubmissions(1); // [{ section: 'sid', kind: 'fail', name: 'hello', version: '2.10-3' }]
 * } finally {
 *   await slave.cleanup();
 * }
 *
 * @example
 * // Full master: the mirror first, so the master can load it before the slave asks.
 * const mirrorDir = join(tmp, 'mirror');
 * const mirrorUrl = writeTestMirror(mirrorDir, { sid: [{ name: 'hello', version: '2.10-3' }] });
 * // … configure and start the master with section sid on mirrorUrl, let it sync …
 * const slave = await startPiupartsSlave({ masterCommand, mirrorDir, sections: [{ name: 'sid' }] });
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The piuparts-slave program the harness runs. */
export const PIUPARTS_SLAVE = '/usr/share/piuparts/piuparts-slave';
const PIUPARTS_CONF = '/etc/piuparts/piuparts.conf';

/** A package in the test mirror's Packages file. */
export interface MirrorPackage {
  name: string;
  version: string;
  /** More or replacing stanza fields (`Depends`, `Architecture`…), in this order after Package and Version. */
  fields?: Record<string, string>;
}

/** One piuparts section the slave serves. */
export interface SlaveSection {
  name: string;
  /**
   * The mirror's packages for this section's distro (sections sharing a
   * distro share one Packages file). Ignored with `mirrorDir`.
   */
  packages?: MirrorPackage[];
  /** The distro (`distro =`): the mirror's `dists/<distro>`; default the section name. */
  distro?: string;
  /** Per-section `idle-sleep`, in seconds. */
  idleSleep?: number;
  /** Per-section `max-reserved` (0 disables the section). */
  maxReserved?: number;
  /** Per-section `precedence` (lower runs first). */
  precedence?: number;
  /** Further keys for this section, as piuparts.conf spells them. */
  extra?: Record<string, string>;
}

/** How to run the slave. */
export interface PiupartsSlaveOptions {
  /** The master command the fake ssh runs with `sh -c` (so shell-quote paths). */
  masterCommand: string;
  /** The sections, in the order of the global `sections` key. */
  sections: SlaveSection[];
  /** Packages (by name) the stub piuparts fails. */
  failPackages?: string[];
  /** Seconds the stub piuparts takes per package (default 0). */
  testSeconds?: number;
  /** Global `idle-sleep`, in seconds (default 60; the slave sleeps at least 60 s anyway). */
  idleSleep?: number;
  /** Global `max-reserved` (default 10). */
  maxReserved?: number;
  /** Further `[global]` keys, as piuparts.conf spells them (override the harness's). */
  global?: Record<string, string>;
  /** `SSH_CLIENT` the fake ssh exports (default `127.0.0.1 40022 22`); null leaves it unset. */
  sshClient?: string | null;
  /** Extra environment for the slave (and through it the master command). */
  env?: Record<string, string>;
  /**
   * Use this mirror (written with writeTestMirror, e.g. before the master
   * was set up to read it) instead of writing one from the sections' packages.
   */
  mirrorDir?: string;
  /** Directory to work in (created if needed, kept by cleanup); default a fresh temp dir that cleanup removes. */
  dir?: string;
}

/** A submission the slave made and the master answered `ok` to. */
export interface SlaveSubmission {
  section: string;
  kind: 'pass' | 'fail' | 'untestable';
  name: string;
  version: string;
}

/** A running piuparts-slave. */
export interface PiupartsSlave {
  /** The harness's directory: bin/ (ssh, stub), piuparts.conf, mirror/, basetgz/, slave/. */
  readonly dir: string;
  readonly confPath: string;
  /** The generated piuparts.conf text. */
  readonly conf: string;
  /** The mirror's directory and its `file://` URL. */
  readonly mirrorDir: string;
  readonly mirrorUrl: string;
  /** The slave's working directory; it keeps `<section>/{new,pass,fail,untestable,reserved}` there. */
  readonly slaveDir: string;
  /** The architecture written into the config and the mirror (dpkg --print-architecture). */
  readonly arch: string;
  /** The slave's stdout and stderr interleaved as they arrived. */
  output(): string;
  /** Submissions the master acknowledged, in order. */
  submitted(): SlaveSubmission[];
  /** Whether the slave has exited (it should not, until stopped). */
  exited(): boolean;
  /**
   * Wait until the master acknowledged at least `n` submissions in all.
   * @throws Error with the slave's output when it exits first or time runs out.
   */
  waitForSubmissions(n: number, timeoutMs?: number): Promise<SlaveSubmission[]>;
  /**
   * Wait until the output matches `pattern` (tested against all output so far).
   * @throws Error with the slave's output when it exits first or time runs out.
   */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Kill the slave's process group (SIGTERM, then SIGKILL after 5 s). @returns its output. */
  stop(): Promise<string>;
  /** stop(), then remove the directory if the harness created it. */
  cleanup(): Promise<void>;
}

/**
 * Why the real slave cannot run here, or null when it can: it needs root
 * (mount namespace and bind mount), piuparts-slave and its config file,
 * `unshare` and `xz`.
 */
export function piupartsSlaveSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (a private mount namespace to give piuparts-slave its own /etc/piuparts/piuparts.conf)';
  if (!existsSync(PIUPARTS_SLAVE)) return 'piuparts-slave is not installed (apt-get install piuparts-slave)';
  if (!existsSync(PIUPARTS_CONF)) return `${PIUPARTS_CONF} is missing (the bind mount needs it)`;
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return 'unshare -m does not work here';
  if (spawnSync('xz', ['--version']).status !== 0) return 'xz is not installed (the test mirror needs Packages.xz)';
  return null;
}

/** Quote for sh. */
function sq(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A piuparts.conf value: ConfigParser interpolates `%`. */
function confValue(v: string | number): string {
  return String(v).replace(/%/g, '%%');
}

function confSection(name: string, keys: Record<string, string | number | undefined>): string {
  const lines = Object.entries(keys)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} = ${confValue(v!)}`);
  return `[${name}]\n${lines.join('\n')}\n`;
}

function stanza(p: MirrorPackage): string {
  const fields: Record<string, string> = {
    Package: p.name,
    Version: p.version,
    Architecture: 'all',
    Maintainer: 'Kiln Tests <kiln-tests@example.org>',
    'Installed-Size': '1',
    Filename: `pool/main/${p.name[0]}/${p.name}/${p.name}_${p.version.replace(/:/g, '%3a')}_all.deb`,
    Size: '1000',
    Description: `Kiln test package ${p.name}`,
    ...p.fields,
  };
  return `${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')}\n`;
}

/** Write `dists/<distro>/main/binary-<arch>/Packages{,.gz,.xz}` and a Release listing them. */
function writeDistro(mirrorDir: string, distro: string, arch: string, packages: MirrorPackage[]): void {
  const rel = `main/binary-${arch}`;
  const dir = join(mirrorDir, 'dists', distro, rel);
  mkdirSync(dir, { recursive: true });
  const text = packages.map((p) => stanza(p)).join('\n');
  const files: Record<string, Buffer> = { Packages: Buffer.from(text), 'Packages.gz': gzipSync(text) };
  const xz = spawnSync('xz', ['-c'], { input: text });
  if (xz.status !== 0) throw new Error(`xz failed: ${xz.stderr.toString()}`);
  files['Packages.xz'] = xz.stdout;
  const sums: string[] = [];
  for (const [name, data] of Object.entries(files)) {
    writeFileSync(join(dir, `${name}.new`), data);
    renameSync(join(dir, `${name}.new`), join(dir, name));
    sums.push(` ${createHash('sha256').update(data).digest('hex')} ${data.length} ${rel}/${name}`);
  }
  const release = [`Suite: ${distro}`, `Codename: ${distro}`, `Architectures: ${arch}`, 'Components: main', `Date: ${new Date().toUTCString()}`, 'SHA256:', ...sums, ''].join('\n');
  writeFileSync(join(mirrorDir, 'dists', distro, 'Release'), release);
}

/** The host's Debian architecture (dpkg --print-architecture), what the slave tests for. */
export function hostArch(): string {
  return spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout?.trim() || 'amd64';
}

/**
 * Write a test mirror the slave (and a master) can read: for each distro,
 * `dists/<distro>/main/binary-<arch>/Packages`, `.gz` and `.xz` (the slave
 * needs the `.xz` over file://) and `dists/<distro>/Release` with their
 * SHA256 sums. Stanzas have Package, Version, Architecture (all),
 * Maintainer, Installed-Size, Filename, Size, Description, then `fields`.
 * Rewriting it (new versions) is fine while a slave runs.
 *
 * @param mirrorDir created if missing.
 * @param distros packages per distro; packages listed twice for a distro are written twice.
 * @returns the mirror's `file://` URL.
 */
export function writeTestMirror(mirrorDir: string, distros: Record<string, MirrorPackage[]>, arch: string = hostArch()): string {
  for (const [distro, packages] of Object.entries(distros)) writeDistro(mirrorDir, distro, arch, packages);
  return `file://${resolve(mirrorDir)}`;
}

function fakeSsh(sshClient: string | null): string {
  return [
    '#!/bin/sh',
    '# Fake ssh for Kiln tests: drop -x, -l USER and the host, run the remote command here.',
    'while [ $# -gt 0 ]; do',
    '  case "$1" in',
    '    -x) shift ;;',
    '    -l) shift 2 ;;',
    '    *) break ;;',
    '  esac',
    'done',
    'shift',
    sshClient === null ? 'unset SSH_CLIENT' : `SSH_CLIENT=${sq(sshClient)}; export SSH_CLIENT`,
    'exec sh -c "$*"',
    '',
  ].join('\n');
}

function stubPiuparts(failPackages: string[], testSeconds: number): string {
  return [
    '#!/bin/sh',
    '# Stub piuparts for Kiln tests: passes every package but the failing ones, in no time.',
    `FAIL=${sq(` ${failPackages.join(' ')} `)}`,
    'tarball=',
    'prev=',
    'for arg; do',
    '  [ "$prev" = -s ] && tarball="$arg"',
    '  prev="$arg"',
    'done',
    'target="$prev"',
    'name="${target%%=*}"',
    'echo "0m0.0s INFO: ------------------------------------------------------------------------------"',
    'echo "0m0.0s INFO: stub piuparts (Kiln tests) for $target"',
    'echo "0m0.0s DEBUG: Command line: $*"',
    'if [ -n "$tarball" ]; then',
    '  : > "$tarball"',
    '  echo "0m0.1s INFO: piuparts run ends."',
    '  exit 0',
    'fi',
    testSeconds > 0 ? `sleep ${testSeconds}` : ':',
    'case "$FAIL" in',
    '  *" $name "*)',
    '    echo "0m0.1s ERROR: stub piuparts: $name fails, as the test asked"',
    '    echo "0m0.1s ERROR: piuparts run ends."',
    '    exit 1 ;;',
    'esac',
    'echo "0m0.1s INFO: PASS: Installation and purging test."',
    'echo "0m0.1s INFO: piuparts run ends."',
    'exit 0',
    '',
  ].join('\n');
}

/** Follows the slave's debug log: which submissions the master acknowledged. */
class SubmissionTracker {
  readonly acknowledged: SlaveSubmission[] = [];
  private pending: SlaveSubmission | null = null;
  private terminated = false;

  line(line: string): void {
    const msg = line.replace(/^\d\d:\d\d:\d\d /, '');
    const sending = /^Sending log file (.+)\/(pass|fail|untestable)\/([^/]+)\.log$/.exec(msg);
    if (sending) {
      const base = sending[3]!;
      const cut = base.indexOf('_');
      this.pending = { section: sending[1]!, kind: sending[2] as SlaveSubmission['kind'], name: base.slice(0, cut), version: base.slice(cut + 1) };
      this.terminated = false;
    } else if (msg === '>> .') {
      this.terminated = this.pending !== null;
    } else if (msg.startsWith('<< ')) {
      if (this.terminated && msg === '<< ok') this.acknowledged.push(this.pending!);
      this.pending = null;
      this.terminated = false;
    }
  }
}

/**
 * Write the slave's world (fake ssh, stub piuparts, mirror, tarball,
 * piuparts.conf) and start piuparts-slave in its own process group.
 * Call piupartsSlaveSkipReason() first.
 */
export async function startPiupartsSlave(opts: PiupartsSlaveOptions): Promise<PiupartsSlave> {
  const own = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'kiln-piuparts-slave-')));
  const arch = hostArch();
  const bin = join(dir, 'bin');
  const slaveDir = join(dir, 'slave');
  const tarball = join(dir, 'basetgz', 'base.tar.gz');
  for (const d of [bin, slaveDir, dirname(tarball)]) mkdirSync(d, { recursive: true });
  writeFileSync(tarball, '');
  writeFileSync(join(bin, 'ssh'), fakeSsh(opts.sshClient === undefined ? '127.0.0.1 40022 22' : opts.sshClient));
  const stub = join(bin, 'stub-piuparts');
  writeFileSync(stub, stubPiuparts(opts.failPackages ?? [], opts.testSeconds ?? 0));
  for (const f of ['ssh', 'stub-piuparts']) chmodSync(join(bin, f), 0o755);

  let mirrorDir = join(dir, 'mirror');
  if (opts.mirrorDir !== undefined) {
    mirrorDir = resolve(opts.mirrorDir);
  } else {
    const byDistro: Record<string, MirrorPackage[]> = {};
    for (const sec of opts.sections) (byDistro[sec.distro ?? sec.name] ??= []).push(...(sec.packages ?? []));
    writeTestMirror(mirrorDir, byDistro, arch);
  }
  const mirrorUrl = `file://${mirrorDir}`;
  const conf = [
    confSection('global', {
      sections: opts.sections.map((s) => s.name).join(' '),
      'master-host': 'localhost',
      'master-command': opts.masterCommand,
      'piuparts-command': stub,
      mirror: mirrorUrl,
      arch,
      area: 'main',
      'idle-sleep': opts.idleSleep ?? 60,
      'max-reserved': opts.maxReserved ?? 10,
      'max-tgz-age': 0,
      'chroot-tgz': tarball,
      'basetgz-directory': dirname(tarball),
      'slave-directory': slaveDir,
      debug: 'yes',
      ...opts.global,
    }),
    ...opts.sections.map((s) =>
      confSection(s.name, {
        distro: s.distro ?? s.name,
        'idle-sleep': s.idleSleep,
        'max-reserved': s.maxReserved,
        precedence: s.precedence,
        ...s.extra,
      }),
    ),
  ].join('\n');
  const confPath = join(dir, 'piuparts.conf');
  writeFileSync(confPath, conf);

  const child: ChildProcess = spawn('unshare', ['-m', 'sh', '-c', `mount --bind "$0" ${PIUPARTS_CONF} && exec ${PIUPARTS_SLAVE}`, confPath], {
    cwd: slaveDir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONUNBUFFERED: '1', ...opts.env },
  });
  let output = '';
  let exitedWith: string | null = null;
  const tracker = new SubmissionTracker();
  let partial = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => {
    const text = c.toString('utf8');
    output += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const l of lines) tracker.line(l);
  });
  const exited = new Promise<void>((done) =>
    child.once('exit', (code, signal) => {
      exitedWith = signal ?? String(code);
      done();
    }),
  );

  const tail = () => output.slice(-6000);
  async function waitUntil<T>(what: string, probe: () => T | null, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = probe();
      if (got !== null) return got;
      if (exitedWith !== null) throw new Error(`piuparts-slave exited (${exitedWith}) before ${what}; its output:\n${tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; piuparts-slave's output:\n${tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  let stopping: Promise<string> | null = null;
  const slave: PiupartsSlave = {
    dir,
    confPath,
    conf,
    mirrorDir,
    mirrorUrl,
    slaveDir,
    arch,
    output: () => output,
    submitted: () => [...tracker.acknowledged],
    exited: () => exitedWith !== null,
    waitForSubmissions: (n, timeoutMs = 90_000) => waitUntil(`${n} acknowledged submissions`, () => (tracker.acknowledged.length >= n ? [...tracker.acknowledged] : null), timeoutMs),
    waitForOutput: (pattern, timeoutMs = 90_000) => waitUntil(`output matching ${pattern}`, () => output.match(pattern), timeoutMs),
    stop() {
      stopping ??= (async () => {
        const group = (sig: NodeJS.Signals) => {
          try {
            process.kill(-child.pid!, sig);
          } catch {}
        };
        if (exitedWith === null) {
          group('SIGTERM');
          const timer = setTimeout(() => group('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        // Whatever the slave started in its group (the relay) goes too.
        group('SIGKILL');
        return output;
      })();
      return stopping;
    },
    async cleanup() {
      await slave.stop();
      if (own) await rm(dir, { recursive: true, force: true });
    },
  };
  return slave;
}
