/**
 * The Debian worker end to end through build(), with a file:// mirror of
 * small real indexes (Packages.xz made by xz, Packages.gz) and stub
 * piuparts commands: the Packages lookup and its cache, untestable
 * versions without a piuparts run, pass and fail as piuparts-slave
 * classifies them, and the slave's log format.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDebianWorker } from '../../src/ecosystems/debian/worker.ts';
import { findInIndex, lookupPackage } from '../../src/ecosystems/debian/worker-mirror.ts';
import { makeBuildContext } from '../helpers/build-context.ts';
import { BASH, HELLO, PASS_RUN, creations, indexDir, jobFor, lastArgs, makeStub, specFor, writeIndex } from '../helpers/debian-worker-fixture.ts';

const root = mkdtempSync(path.join(tmpdir(), 'kiln-debian-worker-'));
const mirrorDir = path.join(root, 'mirror');
const mirror = pathToFileURL(mirrorDir).href;
const stubs = path.join(root, 'stubs');
let buildNo = 0;
const newCtx = () => makeBuildContext(mkdtempSync(path.join(root, `build-${++buildNo}-`)));

const CONTRIB_PKG = `Package: kiln-contrib
Version: 1.0-1
Architecture: all
Description: a contrib package
`;

beforeAll(() => {
  writeIndex(indexDir(mirrorDir, 'bookworm', 'main'), '.xz', `${BASH}\n${HELLO}`);
  // The same name twice across components: the highest version wins.
  writeIndex(indexDir(mirrorDir, 'bookworm', 'contrib'), '.gz', `${CONTRIB_PKG}\nPackage: hello\nVersion: 2.9-1\nArchitecture: amd64\n`);
  writeIndex(indexDir(mirrorDir, 'plain', 'main'), '', HELLO);
});

describe('Packages lookup', () => {
  it('returns the raw paragraph and version from .xz, .gz and plain indexes', async () => {
    const cacheDir = path.join(root, 'cache-lookup');
    const hello = await lookupPackage({ mirror, distro: 'bookworm', components: ['main', 'contrib'], arch: 'amd64', name: 'hello' }, { cacheDir });
    expect(hello.found).toEqual({ version: '2.10-3', stanza: HELLO });
    expect(hello.fetched).toBe(true);
    const contrib = await lookupPackage({ mirror, distro: 'bookworm', components: ['main', 'contrib'], arch: 'amd64', name: 'kiln-contrib' }, { cacheDir });
    expect(contrib).toEqual({ found: { version: '1.0-1', stanza: CONTRIB_PKG }, fetched: false });
    const plain = await lookupPackage({ mirror, distro: 'plain', components: ['main'], arch: 'amd64', name: 'hello' }, { cacheDir });
    expect(plain.found?.version).toBe('2.10-3');
    const cached = readdirSync(path.join(cacheDir, 'packages')).flatMap((d) => readdirSync(path.join(cacheDir, 'packages', d)));
    expect(cached.sort()).toEqual(['Packages', 'Packages.gz', 'Packages.xz']);
  });

  it('uses the cache for an hour, and fetches once more when the expected version is missing', async () => {
    const cacheDir = path.join(root, 'cache-refetch');
    const dir = indexDir(mirrorDir, 'moving', 'main');
    writeIndex(dir, '.gz', HELLO);
    const q = { mirror, distro: 'moving', components: ['main'], arch: 'amd64', name: 'hello' };
    expect((await lookupPackage(q, { cacheDir })).fetched).toBe(true);
    // The mirror moves on: the cache still says 2.10-3 …
    writeIndex(dir, '.gz', HELLO.replace('2.10-3', '2.10-4'));
    expect(await lookupPackage(q, { cacheDir })).toMatchObject({ found: { version: '2.10-3' }, fetched: false });
    // … until a lookup expects the new version.
    expect(await lookupPackage({ ...q, expectVersion: '2.10-4' }, { cacheDir })).toMatchObject({ found: { version: '2.10-4' }, fetched: true });
    // A package that is not there is fetched for once, then reported missing.
    expect(await lookupPackage({ ...q, name: 'nosuch', expectVersion: '1' }, { cacheDir })).toEqual({ found: null, fetched: true });
    // An index older than an hour is fetched again.
    const file = path.join(cacheDir, 'packages', readdirSync(path.join(cacheDir, 'packages'))[0]!, 'Packages.gz');
    const old = (Date.now() - 3601_000) / 1000;
    utimesSync(file, old, old);
    expect((await lookupPackage(q, { cacheDir })).fetched).toBe(true);
    expect(statSync(file).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('fetches over http, falling back from a missing Packages.xz to Packages.gz', async () => {
    const requests: string[] = [];
    const server: Server = createServer((req, res) => {
      requests.push(req.url!);
      readFile(path.join(mirrorDir, decodeURIComponent(req.url!))).then(
        (body) => res.end(body),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await lookupPackage(
        { mirror: `http://127.0.0.1:${port}`, distro: 'bookworm', components: ['contrib'], arch: 'amd64', name: 'kiln-contrib' },
        { cacheDir: path.join(root, 'cache-http') },
      );
      expect(r.found?.stanza).toBe(CONTRIB_PKG);
      expect(requests).toEqual(['/dists/bookworm/contrib/binary-amd64/Packages.xz', '/dists/bookworm/contrib/binary-amd64/Packages.gz']);
    } finally {
      server.close();
    }
  });

  it('says which URL it tried when a mirror has no index', async () => {
    await expect(lookupPackage({ mirror, distro: 'nosuch', components: ['main'], arch: 'amd64', name: 'hello' }, { cacheDir: path.join(root, 'cache-none') })).rejects.toThrow(
      /no dists\/nosuch\/main\/binary-amd64\/Packages in the mirror file:\/\/.*Packages\.xz, .*Packages\.gz, .*Packages\)/,
    );
  });

  it('reads a paragraph whose last line has no newline', async () => {
    const file = writeIndex(path.join(root, 'nonl'), '', `${BASH}\n${HELLO.trimEnd()}`);
    expect((await findInIndex(file, 'hello'))?.stanza).toBe(HELLO);
  });

  it('matches the Package field exactly, wherever it is in the paragraph and however it is cased', async () => {
    const other = 'Package: hello-doc\nVersion: 9.9-9\nDescription: docs\n Package: hello\n';
    const late = 'Version: 3.0-1\npackage:   hello\nArchitecture: amd64\n';
    const file = writeIndex(path.join(root, 'exact'), '.gz', `${other}\n \t\n${HELLO}\n\n${late}`);
    expect(await findInIndex(file, 'hello')).toEqual({ version: '3.0-1', stanza: late });
    expect((await findInIndex(file, 'hello-doc'))?.version).toBe('9.9-9');
    expect(await findInIndex(file, 'hell')).toBeNull();
  });
});

const START = /^Start: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\n/;
const END = /\nEnd: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\n$/;

describe('build() as piuparts-slave', () => {
  const cacheDir = path.join(root, 'cache-build');
  const worker = createDebianWorker({ sections: ['bookworm'], cacheDir });
  const passStub = makeStub(stubs, 'piuparts-pass', { run: PASS_RUN });

  it('a missing package is untestable, and piuparts does not run', async () => {
    const stub = makeStub(stubs, 'piuparts-untouched', { run: PASS_RUN });
    const ctx = newCtx();
    const out = await worker.build(jobFor(specFor(mirror, stub, { package: 'nosuch', version: '1.0' })), ctx);
    expect(out).toEqual({ status: 'untestable', failureReason: 'Package nosuch not found in bookworm (ret=-10001); piuparts was not run', artifacts: [] });
    expect(ctx.text()).toMatch(new RegExp(`${START.source}Package nosuch not found in bookworm\\n\\nret=-10001${END.source}`));
    expect(lastArgs(stub)).toBeNull();
    expect(creations(stub)).toEqual([]);
  });

  it('another version in the index is untestable, the log shows the stanza there', async () => {
    const stub = makeStub(stubs, 'piuparts-untouched-2', { run: PASS_RUN });
    const ctx = newCtx();
    const out = await worker.build(jobFor(specFor(mirror, stub, { version: '2.10-4' })), ctx);
    expect(out.status).toBe('untestable');
    expect(out.failureReason).toBe('Package hello 2.10-4 not found in bookworm, 2.10-3 is available (ret=-10002); piuparts was not run');
    expect(ctx.text()).toMatch(START);
    expect(ctx.text()).toContain(`Package hello 2.10-4 not found in bookworm, 2.10-3 is available\n\n${HELLO}\n\nret=-10002\nEnd: `);
    expect(lastArgs(stub)).toBeNull();
  });

  it('passes with exit 0 and the ends line; the log is the slave\'s: Start, stanza, Executing, output, ret, End', async () => {
    const ctx = newCtx();
    const spec = specFor(mirror, passStub);
    const out = await worker.build(jobFor(spec), ctx);
    expect(out).toEqual({ status: 'passed', failureReason: null, artifacts: [] });
    const tgz = path.join(cacheDir, 'basetgz', 'bookworm_amd64.tar.gz');
    const args = [`--mirror`, `${mirror} main`, '--arch', 'amd64', '-b', tgz, '-d', 'bookworm', '--no-upgrade-test', '--apt', 'hello=2.10-3'];
    expect(lastArgs(passStub)).toEqual(args);
    // The base tarball was made first, once.
    expect(creations(passStub)).toHaveLength(2);
    const text = ctx.text().slice(ctx.text().indexOf('Start: '));
    const output = PASS_RUN.split('\n').filter((l) => l.startsWith('echo')).map((l) => l.slice(6, -1)).join('\n');
    expect(text).toMatch(
      new RegExp(
        `${START.source}\\n${esc(HELLO)}\\nExecuting: ${esc(`${passStub} --mirror '${mirror} main' --arch amd64 -b ${tgz} -d bookworm --no-upgrade-test --apt hello=2.10-3`)}\\n` +
          `${esc(output)}\\n\\nret=0${END.source}`,
      ),
    );
  });

  it('fails with 1024 added when the output lacks the ends line', async () => {
    const stub = makeStub(stubs, 'piuparts-noend', { run: 'echo "0m5.0s INFO: installing"\nexit 0' });
    const ctx = newCtx();
    const out = await worker.build(jobFor(specFor(mirror, stub)), ctx);
    expect(out.status).toBe('failed');
    expect(out.failureReason).toMatch(/1024 was added .*ret=1024/);
    expect(ctx.text()).toMatch(/0m5\.0s INFO: installing\n \*\*\* PIUPARTS OUTPUT INCOMPLETE \*\*\*\n\nret=1024\nEnd: /);
  });

  it('fails with the exit status when piuparts exits non-zero', async () => {
    const stub = makeStub(stubs, 'piuparts-exit1', {
      run: 'echo "0m8.0s ERROR: FAIL: Package purging left files on system:"\necho "0m8.1s INFO: piuparts run ends."\nexit 1',
    });
    const ctx = newCtx();
    const out = await worker.build(jobFor(specFor(mirror, stub)), ctx);
    expect(out).toEqual({ status: 'failed', failureReason: 'piuparts failed (ret=1): 0m8.0s ERROR: FAIL: Package purging left files on system:', artifacts: [] });
    expect(ctx.text()).toMatch(/piuparts run ends\.\n\nret=1\nEnd: /);
  });

  it('refuses jobs for sections it does not test, and malformed specs, as worker faults', async () => {
    const spec = specFor(mirror, passStub);
    await expect(worker.build({ ...jobFor(spec), target: 'sid' }, newCtx())).rejects.toThrow(/tests the sections bookworm, not sid/);
    await expect(worker.build(jobFor({ ...spec, components: [] }), newCtx())).rejects.toThrow(/debian job spec: components/);
  });
});

/** A string as a literal regular expression. */
function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

afterAll(() => rmSync(root, { recursive: true, force: true }));
