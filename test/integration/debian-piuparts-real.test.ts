/**
 * One real piuparts install/purge test through the Debian worker: `hello`
 * from http://deb.debian.org/debian bookworm main, as root, with the base
 * tarball cached under /var/tmp/kiln-piuparts-test (the first run
 * debootstraps it, ~1.5 min; later runs take ~15 s). Opt in with
 * KILN_PIUPARTS_TESTS=1; it needs root, piuparts and the network.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDebianWorker } from '../../src/ecosystems/debian/worker.ts';
import { lookupPackage } from '../../src/ecosystems/debian/worker-mirror.ts';
import { makeBuildContext } from '../helpers/build-context.ts';
import { jobFor, specFor } from '../helpers/debian-worker-fixture.ts';

const MIRROR = 'http://deb.debian.org/debian';
const CACHE_DIR = '/var/tmp/kiln-piuparts-test';

function skipReason(): string | null {
  if (process.env.KILN_PIUPARTS_TESTS !== '1') return 'set KILN_PIUPARTS_TESTS=1 to run it';
  if (process.getuid?.() !== 0) return 'piuparts needs root';
  if (spawnSync('piuparts', ['--version']).status !== 0) return 'piuparts is not installed';
  return null;
}
const skip = skipReason();

describe.skipIf(skip !== null)(`real piuparts${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('passes hello from bookworm main, with the slave\'s log', async () => {
    const worker = createDebianWorker({ sections: ['bookworm'], cacheDir: CACHE_DIR });
    const [target] = await worker.detectTargets();
    expect(target).toMatchObject({ name: 'bookworm', ecosystem: 'debian', facts: { root: true } });
    const arch = String(target!.facts.arch);

    const { found } = await lookupPackage({ mirror: MIRROR, distro: 'bookworm', components: ['main'], arch, name: 'hello' }, { cacheDir: CACHE_DIR });
    expect(found).not.toBeNull();
    const spec = specFor(MIRROR, 'piuparts', { piupartsCommand: ['piuparts'], arch, version: found!.version });

    const workDir = mkdtempSync(path.join(tmpdir(), 'kiln-piuparts-real-'));
    try {
      const ctx = makeBuildContext(workDir);
      const started = Date.now();
      const out = await worker.build(jobFor(spec), ctx);
      const log = ctx.text();
      console.log(`piuparts test of hello ${found!.version}: ${out.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      expect(out, log.slice(-3000)).toEqual({ status: 'passed', failureReason: null, artifacts: [] });
      expect(log).toContain(`\n\nPackage: hello\nVersion: ${found!.version}\n`);
      expect(log).toContain(`Executing: piuparts --mirror 'http://deb.debian.org/debian main' --arch ${arch} -b ${CACHE_DIR}/basetgz/bookworm_${arch}.tar.gz -d bookworm --no-upgrade-test --apt hello=${found!.version}\n`);
      expect(log).toMatch(/piuparts run ends\.\n\nret=0\nEnd: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\n$/);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }, 20 * 60_000);
});
