/** A worker process with the shell test ecosystem, for tests that kill it: `tsx shell-worker-main.ts URL TOKEN`. */
import { silentLogger } from '../../src/log.ts';
import { runWorker } from '../../src/worker/worker.ts';
import { createShellWorker } from './shell-ecosystem.ts';

const [url, token, workDir] = process.argv.slice(2);
await runWorker({ master: url!, token: token!, name: 'doomed', labels: [], sandbox: 'none', ecosystems: [createShellWorker(['shell-a'])], log: silentLogger(), workDir });
