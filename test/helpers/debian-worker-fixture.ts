/**
 * Fixtures for the Debian worker's tests: a file:// mirror with small
 * Packages indexes (`.xz` made by the real `xz`, `.gz`, plain), stub
 * piuparts commands (shell scripts that record their arguments, save a
 * tiny tar.gz for `-s`, and print what a piuparts run prints), and jobs.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DebianJobSpec } from '../../src/ecosystems/debian/job-spec.ts';
import type { Job } from '../../src/ecosystems/types.ts';

/** Paragraphs of a small Packages index, hello as bookworm has it. */
export const HELLO = `Package: hello
Version: 2.10-3
Installed-Size: 281
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Depends: libc6 (>= 2.34)
Description: example package based on GNU hello
 The GNU hello program produces a familiar, friendly greeting.
 .
 Seriously, though: this is an example.
Section: devel
Priority: optional
Filename: pool/main/h/hello/hello_2.10-3_amd64.deb
Size: 53768
`;

/** A second paragraph, so lookups have something to skip. */
export const BASH = `Package: bash
Essential: yes
Version: 5.2.15-2+b2
Architecture: amd64
Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)
Description: GNU Bourne Again SHell
Priority: required
`;

/**
 * Write `text` as `<dir>/Packages<suffix>`: `.xz` through the `xz` CLI,
 * `.gz` through zlib, `''` plain.
 */
export function writeIndex(dir: string, suffix: '.xz' | '.gz' | '', text: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `Packages${suffix}`);
  if (suffix === '.xz') {
    const r = spawnSync('xz', ['-z', '-c'], { input: text });
    if (r.status !== 0) throw new Error(`xz failed: ${r.stderr}`);
    writeFileSync(file, r.stdout);
  } else {
    writeFileSync(file, suffix === '.gz' ? gzipSync(text) : text);
  }
  return file;
}

/** The directory of one index in a mirror tree. */
export function indexDir(mirrorRoot: string, distro: string, component: string, arch = 'amd64'): string {
  return path.join(mirrorRoot, 'dists', distro, component, `binary-${arch}`);
}

/** Stub behaviours for the test run (the `-s` run always saves a tarball unless `create` says otherwise). */
export interface StubOptions {
  /** Shell lines run for a test run (no `-s`). */
  run: string;
  /** For a tarball creation (`-s FILE`): `ok` saves a tiny tar.gz after `createDelay` s; `fail` prints an error and exits 1. */
  create?: 'ok' | 'fail';
  /** Seconds a creation takes (default 0). */
  createDelay?: number;
}

/** Output of a passing piuparts run. */
export const PASS_RUN = `echo "0m0.0s INFO: ------------------------------------------------------------------------------"
echo "0m0.0s INFO: To quickly glance what went wrong, scroll down to the bottom of this logfile."
echo "0m9.8s INFO: PASS: All tests."
echo "0m9.9s INFO: piuparts run ends."
exit 0`;

/**
 * Write an executable stub piuparts at `<dir>/<name>`. Each test run writes
 * its arguments, one per line, to `<dir>/<name>.args`; each creation
 * appends `start`/`end` lines to `<dir>/<name>.creations`.
 */
export function makeStub(dir: string, name: string, o: StubOptions): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  const create =
    o.create === 'fail'
      ? `echo "0m30.0s ERROR: Command failed (status=1): ['debootstrap', ...]"; exit 1`
      : `sleep ${o.createDelay ?? 0}; tar -czf "$s" -T /dev/null; echo "0m1.0s INFO: piuparts run ends."; exit 0`;
  writeFileSync(
    file,
    `#!/bin/sh
s=; prev=
for a; do [ "$prev" = -s ] && s=$a; prev=$a; done
if [ -n "$s" ]; then
  echo "start $$" >> '${file}.creations'
  ( ${create} ); rc=$?
  echo "end $$" >> '${file}.creations'
  exit $rc
fi
printf '%s\\n' "$@" > '${file}.args'
${o.run}
`,
  );
  chmodSync(file, 0o755);
  return file;
}

/** The lines `<stub>.creations` holds so far. */
export function creations(stub: string): string[] {
  return existsSync(`${stub}.creations`) ? readFileSync(`${stub}.creations`, 'utf8').trim().split('\n') : [];
}

/** The arguments of the stub's last test run, or null when it never ran one. */
export function lastArgs(stub: string): string[] | null {
  return existsSync(`${stub}.args`) ? readFileSync(`${stub}.args`, 'utf8').replace(/\n$/, '').split('\n') : null;
}

/** A plain bookworm section's spec for `hello 2.10-3` from `mirror`, run by `stub`. */
export function specFor(mirror: string, stub: string, over: Partial<DebianJobSpec> = {}): DebianJobSpec {
  return {
    section: 'bookworm',
    mirror,
    distro: 'bookworm',
    upgradeTestDistros: [],
    indexDistro: 'bookworm',
    components: ['main'],
    arch: 'amd64',
    piupartsCommand: [stub],
    piupartsFlags: [],
    keepSourcesList: false,
    maxTgzAge: 2_592_000,
    minTgzRetryDelay: 21_600,
    tmpdir: null,
    package: 'hello',
    version: '2.10-3',
    ...over,
  };
}

/** A job for `spec` (target: its section). */
export function jobFor(spec: DebianJobSpec, buildId = 1): Job {
  return {
    buildId,
    ecosystem: 'debian',
    package: spec.package,
    displayName: spec.package,
    version: spec.version,
    target: spec.section,
    timeoutS: 600,
    spec: spec as unknown as Job['spec'],
  };
}
