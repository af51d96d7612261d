import { cpus, hostname, release, totalmem } from 'node:os';

/** Facts about the machine a worker sends at hello, shown on the site. */
export interface PlatformFacts {
  os: NodeJS.Platform;
  arch: string;
  /** `glibc`, `musl`, or `unknown` off Linux. */
  libc: 'glibc' | 'musl' | 'unknown';
  /** glibc version, e.g. "2.36", when known. */
  glibcVersion: string | null;
  kernel: string;
  cpus: number;
  /** Total memory, bytes. */
  memoryBytes: number;
  hostname: string;
  /** The worker's own Node, e.g. "v20.20.2". */
  node: string;
  sandbox: 'bwrap' | 'none';
}

/** Which C library this process runs on (from `process.report`, as detect-libc does). */
export function detectLibc(): { libc: PlatformFacts['libc']; glibcVersion: string | null } {
  if (process.platform !== 'linux') return { libc: 'unknown', glibcVersion: null };
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (header?.glibcVersionRuntime) return { libc: 'glibc', glibcVersion: header.glibcVersionRuntime };
  return { libc: 'musl', glibcVersion: null };
}

/** Detect this machine's facts. */
export function detectPlatform(sandbox: PlatformFacts['sandbox']): PlatformFacts {
  const { libc, glibcVersion } = detectLibc();
  return {
    os: process.platform,
    arch: process.arch,
    libc,
    glibcVersion,
    kernel: release(),
    cpus: cpus().length,
    memoryBytes: totalmem(),
    hostname: hostname(),
    node: process.version,
    sandbox,
  };
}
