import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { KilnError } from '../errors.ts';
import { createLogger, levelFromVerbosity } from '../log.ts';
import { runWorker } from '../worker/worker.ts';
import { defaultWorkerName, workerEcosystems } from './common.ts';

interface WorkerFlags {
  hide?: string[];
  config?: string;
  master?: string;
  token?: string;
  name?: string;
  label?: string[];
  workDir?: string;
  sandbox?: string;
  keep?: boolean;
  verbose?: number;
  quiet?: number;
  logFile?: string;
  debianSection?: string[];
}

/** `kiln worker --master URL --token T`: build what the master hands out. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('connect to a master and build what it hands out')
    .option('-c, --config <file>', 'TOML config file ([worker] section)')
    .option('--master <url>', 'master URL, e.g. http://farm.example:8470 (or KILN_WORKER_MASTER)')
    .option('--token <token>', 'worker token from kiln worker-token add (or KILN_WORKER_TOKEN)')
    .option('--name <name>', 'worker name shown on the site (default: host name)')
    .option('--label <label>', 'a label to declare (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--work-dir <dir>', 'parent directory of the per-build directories (default: system temp)')
    .option('--sandbox <mode>', 'auto (bubblewrap when installed), bwrap, or none')
    .option('--keep', 'keep build directories after each build')
    .option('--debian-section <name>', 'a Debian section to test with piuparts (repeatable; [worker] debian_sections)', (v: string, p: string[] = []) => [...p, v])
    .option('--hide <dir>', 'a folder builds must not see inside the sandbox, e.g. a master data dir on this machine (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('-q, --quiet', 'less output', (_: string, p: number | undefined) => (p ?? 0) + 1)
    .option('-v, --verbose', 'more output', (_: string, p: number | undefined) => (p ?? 0) + 1)
    .option('-l, --log-file <file>', 'append logs to this file')
    .action(async (f: WorkerFlags) => {
      const flags: Record<string, unknown> = {};
      if (f.master) flags.master = f.master;
      if (f.token) flags.token = f.token;
      if (f.name) flags.name = f.name;
      if (f.label) flags.labels = f.label;
      if (f.workDir) flags.work_dir = f.workDir;
      if (f.sandbox) flags.sandbox = f.sandbox;
      if (f.debianSection) flags.debian_sections = f.debianSection;
      const { config } = loadConfig(f.config, { worker: flags });
      const w = config.worker;
      if (!w.master) throw new KilnError('kiln worker needs --master URL', 2);
      if (!w.token) throw new KilnError('kiln worker needs --token TOKEN (create one on the master with kiln worker-token add NAME)', 2);
      // Builds run code the package controls: the token and other Kiln settings must not reach them.
      for (const k of Object.keys(process.env)) if (k.startsWith('KILN_')) delete process.env[k];
      const log = createLogger({ level: levelFromVerbosity('info', f.verbose ?? 0, f.quiet ?? 0), debug: [], file: f.logFile });
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await runWorker({
        master: w.master,
        token: w.token,
        name: w.name ?? defaultWorkerName(),
        labels: w.labels,
        workDir: w.work_dir,
        sandbox: w.sandbox,
        ecosystems: workerEcosystems(w.ecosystems, w.debian_sections, log),
        log,
        signal: ac.signal,
        keepWorkDirs: f.keep,
        hide: (f.hide ?? []).map((d) => resolve(d)),
      });
    });
}
