/**
 * Another worker process wanting a base tarball, for the cross-process
 * lock test: `tsx debian-tarball-main.ts SPEC_JSON CACHE_DIR WORK_DIR`
 * prints `ok <path>` or `error <message>`.
 */
import { ensureBaseTarball } from '../../src/ecosystems/debian/worker-tarball.ts';
import { makeBuildContext } from './build-context.ts';

const [specJson, cacheDir, workDir] = process.argv.slice(2);
try {
  const tgz = await ensureBaseTarball(JSON.parse(specJson!), makeBuildContext(workDir!), { cacheDir: cacheDir!, pollMs: 100 });
  process.stdout.write(`ok ${tgz}\n`);
} catch (err) {
  process.stdout.write(`error ${(err as Error).message}\n`);
}
