/**
 * Running one build command: in its own process group (so a timeout or a
 * cancel kills the whole tree, grandchildren included), and inside
 * bubblewrap when it is installed: the host is read-only, the build
 * directory writable, /tmp private, PIDs unshared, and optionally no network.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { RunOptions, RunResult } from '../ecosystems/types.ts';

let bwrapPath: string | null | undefined;

/** Path of `bwrap` if installed and usable here, else null (checked once). */
export function findBwrap(): string | null {
  if (bwrapPath !== undefined) return bwrapPath;
  const which = spawnSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' });
  const path = which.status === 0 ? which.stdout.trim() : '';
  if (!path) return (bwrapPath = null);
  const probe = spawnSync(path, ['--ro-bind', '/', '/', '--unshare-pid', '--dev', '/dev', '--proc', '/proc', 'true'], { encoding: 'utf8' });
  return (bwrapPath = probe.status === 0 ? path : null);
}

/** The bubblewrap argument list that wraps `cmd args` for a build in `workDir`. */
export function bwrapArgs(workDir: string, cwd: string, network: boolean, cmd: string, args: string[], hide: string[] = []): string[] {
  return [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    // Folders builds must not read (a master's data dir on the same machine: admin token, artifact store).
    ...hide.flatMap((h) => ['--tmpfs', h]),
    '--bind', workDir, workDir,
    '--unshare-pid', '--unshare-ipc', '--unshare-uts',
    ...(network ? [] : ['--unshare-net']),
    '--die-with-parent',
    '--chdir', cwd,
    '--', cmd, ...args,
  ];
}

/**
 * Environment variables a build command inherits from the worker. Anything
 * else (the worker's token, the admin token, other secrets) stays out of
 * code the package controls; ecosystems pass what they need explicitly.
 */
export const INHERITED_ENV = /^(PATH|HOME|USER|LOGNAME|SHELL|TERM|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|(https?|no|all)_proxy|(HTTPS?|NO|ALL)_PROXY|CC|CXX|CFLAGS|CXXFLAGS|CPPFLAGS|LDFLAGS|MAKEFLAGS|PYTHON|SSL_CERT_FILE|SSL_CERT_DIR|NODE_EXTRA_CA_CERTS)$/;

/** The environment for one build command: the allowed part of ours, then `extra`. */
export function buildCommandEnv(extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) if (v !== undefined && INHERITED_ENV.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** How to run one command. */
export interface SandboxRun extends RunOptions {
  /** The build's directory: the only writable place inside the sandbox. */
  workDir: string;
  /** `bwrap` path, or null to run without a sandbox. */
  bwrap: string | null;
  /** Folders hidden (an empty tmpfs) inside the sandbox. */
  hide?: string[];
  /** Receives stdout and stderr as they arrive. */
  onOutput(chunk: Buffer): void;
  /** Aborting kills the process group (SIGTERM, then SIGKILL after `graceMs`). */
  signal: AbortSignal;
  /** ms between SIGTERM and SIGKILL (default 2000). */
  graceMs?: number;
}

/**
 * Run one command to completion, inside bubblewrap when `o.bwrap` is set
 * and `o.sandbox` is not false. Never throws for a non-zero exit; the
 * result says how it ended.
 */
export function runSandboxed(cmd: string, args: string[], o: SandboxRun): Promise<RunResult> {
  const bwrap = o.sandbox === false ? null : o.bwrap;
  const [file, argv] = bwrap ? [bwrap, bwrapArgs(o.workDir, o.cwd, o.network ?? true, cmd, args, o.hide)] : [cmd, args];
  return new Promise((resolve) => {
    if (o.signal.aborted) return resolve({ code: null, signal: 'SIGKILL' });
    const child = spawn(file, argv, {
      cwd: o.cwd,
      env: buildCommandEnv(o.env),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', o.onOutput);
    child.stderr.on('data', o.onOutput);
    let killTimer: NodeJS.Timeout | null = null;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch { /* already gone */ }
    };
    const onAbort = () => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), o.graceMs ?? 2000);
    };
    o.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      o.onOutput(Buffer.from(`[kiln] cannot run ${cmd}: ${err.message}\n`));
    });
    // Stragglers the leader left behind would hold the pipes open: they die with it.
    child.on('exit', () => killGroup('SIGKILL'));
    child.on('close', (code, signal) => {
      o.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal });
    });
  });
}
