/**
 * The Debian worker's base tarball, as piuparts-slave keeps it: created by
 * the piuparts command (a stub that saves a tiny tar.gz for `-s`), renamed
 * into place on success, refreshed past max-tgz-age, not retried within
 * min-tgz-retry-delay after a failure, and created once when builds of one
 * process or of two processes want it at the same time.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebianJobSpec } from '../../src/ecosystems/debian/job-spec.ts';
import { createDebianWorker } from '../../src/ecosystems/debian/worker.ts';
import { baseTarballPath, ensureBaseTarball } from '../../src/ecosystems/debian/worker-tarball.ts';
import { makeBuildContext } from '../helpers/build-context.ts';
import { HELLO, PASS_RUN, creations, indexDir, jobFor, lastArgs, makeStub, specFor, writeIndex } from '../helpers/debian-worker-fixture.ts';

const root = mkdtempSync(path.join(tmpdir(), 'kiln-debian-tgz-'));
const mirrorDir = path.join(root, 'mirror');
const mirror = pathToFileURL(mirrorDir).href;
const stubs = path.join(root, 'stubs');
let n = 0;
const newCtx = () => makeBuildContext(mkdtempSync(path.join(root, `build-${++n}-`)));
const cacheFor = (name: string) => path.join(root, `cache-${name}`);
/** Set a file's mtime `s` seconds into the past. */
const age = (file: string, s: number) => {
  const t = (Date.now() - s * 1000) / 1000;
  utimesSync(file, t, t);
};

beforeAll(() => writeIndex(indexDir(mirrorDir, 'bookworm', 'main'), '.xz', HELLO));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('base tarball', () => {
  it('is created with the slave\'s command line, into <name>.new then renamed, and reused while fresh', async () => {
    const stub = makeStub(stubs, 'create-ok', { run: PASS_RUN });
    const cacheDir = cacheFor('create');
    const spec = specFor(mirror, stub, { piupartsFlags: ['--warn-on-others'], tmpdir: '/var/tmp' });
    const tgz = baseTarballPath(spec, cacheDir);
    const ctx = newCtx();
    expect(await ensureBaseTarball(spec, ctx, { cacheDir })).toBe(tgz);
    expect(tgz).toBe(path.join(cacheDir, 'basetgz', 'bookworm_amd64.tar.gz'));
    expect(statSync(tgz).size).toBeGreaterThan(0);
    expect(existsSync(`${tgz}.new`)).toBe(false);
    // The slave's creation log: Start, Executing, output, End.
    const log = readFileSync(`${tgz}.log`, 'utf8');
    expect(log).toMatch(
      new RegExp(
        `^Start: [0-9: -]+ GMT\\n\\nExecuting: ${stub} --warn-on-others --mirror '${mirror} main' --tmpdir /var/tmp --arch amd64 ` +
          `-d bookworm -s ${tgz}\\.new --no-install-purge-test --no-upgrade-test --apt TARBALL\\n\\n` +
          `0m1\\.0s INFO: piuparts run ends\\.\\n\\nEnd: [0-9: -]+ GMT\\n$`,
      ),
    );
    expect(ctx.text()).toContain(`[kiln] creating the base tarball ${tgz}`);
    // Fresh: not made again.
    await ensureBaseTarball(spec, newCtx(), { cacheDir });
    expect(creations(stub)).toHaveLength(2);
  });

  it('is made again once older than max-tgz-age; max-tgz-age 0 never ages', async () => {
    const stub = makeStub(stubs, 'create-age', { run: PASS_RUN });
    const cacheDir = cacheFor('age');
    const spec = specFor(mirror, stub, { maxTgzAge: 3600 });
    const tgz = await ensureBaseTarball(spec, newCtx(), { cacheDir });
    age(tgz, 3000);
    await ensureBaseTarball(spec, newCtx(), { cacheDir });
    expect(creations(stub)).toHaveLength(2);
    age(tgz, 3700);
    await ensureBaseTarball({ ...spec, maxTgzAge: 0 }, newCtx(), { cacheDir });
    expect(creations(stub)).toHaveLength(2);
    await ensureBaseTarball(spec, newCtx(), { cacheDir });
    expect(creations(stub)).toHaveLength(4);
    expect(Date.now() - statSync(tgz).mtimeMs).toBeLessThan(60_000);
  });

  it('without a tarball, a failed creation is a worker fault, and no new attempt comes before min-tgz-retry-delay', async () => {
    const stub = makeStub(stubs, 'create-fail', { run: PASS_RUN, create: 'fail' });
    const cacheDir = cacheFor('fail');
    const spec = specFor(mirror, stub, { minTgzRetryDelay: 600 });
    const tgz = baseTarballPath(spec, cacheDir);
    const ctx = newCtx();
    await expect(ensureBaseTarball(spec, ctx, { cacheDir })).rejects.toThrow(
      new RegExp(`cannot create the base tarball ${tgz}: piuparts exited with status 1 \\(see ${tgz}\\.log\\); the next attempt is after `),
    );
    expect(ctx.text()).toContain('ERROR: Command failed (status=1)');
    expect(existsSync(tgz)).toBe(false);
    expect(readFileSync(`${tgz}.failed`, 'utf8')).toBe('piuparts exited with status 1\n');
    // Within the delay: refused at once, piuparts not run again; a build through the worker throws the same.
    await expect(ensureBaseTarball(spec, newCtx(), { cacheDir })).rejects.toThrow(/creating it failed at .* \(piuparts exited with status 1; see .*\), and min-tgz-retry-delay allows the next attempt only after /);
    const worker = createDebianWorker({ sections: ['bookworm'], cacheDir });
    await expect(worker.build(jobFor(spec), newCtx())).rejects.toThrow(/no base tarball/);
    expect(lastArgs(stub)).toBeNull();
    expect(creations(stub)).toHaveLength(2);
    // After the delay: tried again.
    age(`${tgz}.failed`, 700);
    await expect(ensureBaseTarball(spec, newCtx(), { cacheDir })).rejects.toThrow(/cannot create/);
    expect(creations(stub)).toHaveLength(4);
  });

  it('an old tarball stays in use when refreshing it fails', async () => {
    const cacheDir = cacheFor('keep');
    const good = makeStub(stubs, 'keep-good', { run: PASS_RUN });
    const bad = makeStub(stubs, 'keep-bad', { run: PASS_RUN, create: 'fail' });
    const spec = specFor(mirror, good, { maxTgzAge: 100, minTgzRetryDelay: 600 });
    const tgz = await ensureBaseTarball(spec, newCtx(), { cacheDir });
    age(tgz, 200);
    const ctx = newCtx();
    const worker = createDebianWorker({ sections: ['bookworm'], cacheDir });
    expect(await worker.build(jobFor({ ...spec, piupartsCommand: [bad] }), ctx)).toMatchObject({ status: 'passed' });
    expect(ctx.text()).toContain(`[kiln] keeping the old base tarball ${tgz}`);
    expect(lastArgs(bad)).toContain(tgz);
    // Within the retry delay the old one is used without an attempt.
    const again = newCtx();
    await ensureBaseTarball({ ...spec, piupartsCommand: [bad] }, again, { cacheDir });
    expect(again.text()).toMatch(/older than max-tgz-age, but refreshing it failed at .*: using it until the next attempt/);
    expect(creations(bad)).toHaveLength(2);
  });

  it('concurrent builds of one process and of two worker instances create it once, the others wait for it', async () => {
    const stub = makeStub(stubs, 'create-slow', { run: PASS_RUN, createDelay: 1.5 });
    const cacheDir = cacheFor('concurrent');
    const spec = specFor(mirror, stub);
    const a = createDebianWorker({ sections: ['bookworm'], cacheDir });
    const b = createDebianWorker({ sections: ['bookworm'], cacheDir });
    const ctxs = [newCtx(), newCtx(), newCtx()];
    const outs = await Promise.all([a.build(jobFor(spec, 1), ctxs[0]!), a.build(jobFor(spec, 2), ctxs[1]!), b.build(jobFor(spec, 3), ctxs[2]!)]);
    expect(outs.map((o) => o.status)).toEqual(['passed', 'passed', 'passed']);
    expect(creations(stub)).toHaveLength(2);
    expect(ctxs.filter((c) => c.text().includes('another build is creating it'))).toHaveLength(2);
  });

  it('two worker processes create it once, one after the other', async () => {
    const stub = makeStub(stubs, 'create-procs', { run: PASS_RUN, createDelay: 1.5 });
    const cacheDir = cacheFor('procs');
    const spec = specFor(mirror, stub);
    const outputs = await Promise.all([runOtherProcess(spec, cacheDir), runOtherProcess(spec, cacheDir)]);
    const tgz = baseTarballPath(spec, cacheDir);
    expect(outputs).toEqual([`ok ${tgz}\n`, `ok ${tgz}\n`]);
    expect(creations(stub)).toEqual([expect.stringMatching(/^start /), expect.stringMatching(/^end /)]);
  });
});

/** ensureBaseTarball in a child process (see test/helpers/debian-tarball-main.ts); resolves to its stdout. */
function runOtherProcess(spec: DebianJobSpec, cacheDir: string): Promise<string> {
  const main = path.join(import.meta.dirname, '../helpers/debian-tarball-main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', main, JSON.stringify(spec), cacheDir, mkdtempSync(path.join(root, 'proc-'))], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}
