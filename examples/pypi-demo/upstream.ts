/**
 * A local PyPI for Kiln's PyPI demo (see README.md beside this file), served
 * until Ctrl-C on 127.0.0.1:8480 (`KILN_DEMO_PORT` to change it):
 *
 * - XML-RPC `POST /pypi` (`changelog_since_serial`, `changelog_last_serial`),
 *   which Kiln follows for changes, as piwheels follows PyPI's;
 * - the JSON API `GET /pypi/<name>/json`;
 * - the simple index `GET /simple/` and `/simple/<name>/`, which the worker's
 *   pip builds from, and the files under `/files/`.
 *
 * It serves three real sdists made on the spot (kiln-demo-pure: one Python
 * module; kiln-demo-cext: a C extension that needs kiln-demo-pure;
 * kiln-demo-broken: a C extension that does not compile) and the setuptools
 * and wheel wheels pip's build isolation installs, which this machine's
 * Python or Debian provides (there is no PyPI to fetch them from). The model
 * and the server are the test suite's (test/helpers/), so the demo runs what
 * the tests check.
 *
 * Run: `npx tsx examples/pypi-demo/upstream.ts`
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseWheelFilename } from '../../src/ecosystems/pypi/wheel-name.ts';
import { makeSdist, missingSeedWheels, seedWheels, type SdistOptions } from '../../test/helpers/pypi-fixture.ts';
import { PypiUpstreamModel, startPypiUpstream } from '../../test/helpers/pypi-upstream.ts';

/** The demo's projects, as `[pypi] packages` in kiln.toml lists them. */
const PROJECTS: Array<SdistOptions & { summary: string }> = [
  { name: 'kiln-demo-pure', version: '1.0', kind: 'pure', summary: 'Kiln demo: one pure-Python module' },
  { name: 'kiln-demo-cext', version: '1.0', kind: 'c-ext', requires: ['kiln-demo-pure>=1.0'], summary: 'Kiln demo: a C extension' },
  { name: 'kiln-demo-broken', version: '0.1', kind: 'broken', summary: 'Kiln demo: a C extension that does not compile' },
];

const port = Number(process.env.KILN_DEMO_PORT ?? 8480);
const missing = missingSeedWheels();
if (missing) {
  process.stderr.write(`upstream: ${missing}\n`);
  process.exit(1);
}

const dir = await mkdtemp(join(tmpdir(), 'kiln-pypi-demo-upstream-'));
const model = new PypiUpstreamModel();
for (const p of PROJECTS) {
  const sdist = await makeSdist(dir, p);
  model.createPackage(p.name, p.summary);
  model.addFile(p.name, p.version, { kind: 'sdist', content: await readFile(sdist.path) });
}
for (const { file } of seedWheels()) {
  const w = parseWheelFilename(basename(file!))!;
  model.createPackage(w.dist, 'build-isolation seed wheel');
  model.addFile(w.dist, w.version, { kind: 'wheel', filename: w.filename, content: await readFile(file!) });
}

const upstream = await startPypiUpstream(model, { port }).catch(async (err: Error) => {
  process.stderr.write(`upstream: cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
  await rm(dir, { recursive: true, force: true });
  return process.exit(1);
});
const say = (s: string) => process.stdout.write(`${s}\n`);
say(`Local PyPI on ${upstream.url}/ (Ctrl-C to stop)`);
say(`  XML-RPC changelog: ${upstream.xmlrpcUrl}   JSON API: ${upstream.jsonUrl}/<name>/json   simple index: ${upstream.simpleUrl}`);
say(`  projects: ${[...model.projects.values()].map((p) => `${p.name} ${[...p.releases.keys()].join(', ')}`).join('; ')}`);

const stop = async () => {
  await upstream.close();
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
