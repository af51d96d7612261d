/**
 * A local PyPI for tests: real sdists (pure Python, a C extension, one that
 * fails to compile) written as files and tarred in the sdist layout
 * (`name-version/…` with PKG-INFO, setup.py and pyproject.toml), and a
 * node:http PEP 503 simple index serving them beside the setuptools and
 * wheel wheels pip's build isolation installs.
 *
 * The seed wheels come from the Python's own ensurepip (setuptools) and
 * Debian's `python3-wheel-whl` (`/usr/share/python-wheels`);
 * {@link missingSeedWheels} says what to apt-get install when they are not
 * there.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import * as tar from 'tar';

/** Where Debian puts its `python3-*-whl` wheels. */
export const PYTHON_WHEELS_DIR = '/usr/share/python-wheels';

/**
 * The folder of wheels `python`'s own ensurepip bundles (setuptools up to
 * Python 3.11), or null. Debian's setuptools wheel is patched for Debian's
 * Python (`install_layout`) and breaks `bdist_wheel` on any other Python
 * (pyenv, python.org builds), so the interpreter's own copy comes first.
 */
function ensurepipBundled(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import ensurepip, os; print(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled"))'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir && existsSync(dir) ? dir : null;
}

const wheelIn = (dir: string | null, prefix: string): string | null => {
  if (!dir || !existsSync(dir)) return null;
  const n = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  return n ? path.join(dir, n) : null;
};

/**
 * The setuptools and wheel wheels pip's build isolation installs (one of
 * each, so pip cannot pick the wrong setuptools): setuptools from the
 * Python's ensurepip when it has one, else Debian's `python3-setuptools-whl`;
 * wheel from Debian's `python3-wheel-whl`. A null file is missing; `apt`
 * names the package that provides it.
 */
export function seedWheels(python = 'python3'): { file: string | null; apt: string }[] {
  return [
    { file: wheelIn(ensurepipBundled(python), 'setuptools-') ?? wheelIn(PYTHON_WHEELS_DIR, 'setuptools-'), apt: 'python3-setuptools-whl' },
    { file: wheelIn(PYTHON_WHEELS_DIR, 'wheel-'), apt: 'python3-wheel-whl' },
  ];
}

/** A message naming the apt packages to install when a seed wheel is missing, or null when all are there. */
export function missingSeedWheels(python = 'python3'): string | null {
  const missing = seedWheels(python).filter((s) => !s.file).map((s) => s.apt);
  return missing.length ? `build isolation needs setuptools and wheel wheels: apt-get install ${missing.join(' ')}` : null;
}

/** What {@link makeSdist} builds. */
export interface SdistOptions {
  name: string;
  version: string;
  /** pure: one module; c-ext: a tiny C extension; broken: a C extension including a header that does not exist. */
  kind: 'pure' | 'c-ext' | 'broken';
  requiresPython?: string;
  requires?: string[];
  /** extras_require, e.g. `{ fast: ['ujson'] }`. */
  extras?: Record<string, string[]>;
}

/** A written sdist. */
export interface Sdist {
  path: string;
  filename: string;
  sha256: string;
}

const C_SOURCE = (mod: string, broken: boolean) => `#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <unistd.h>
${broken ? '#include <kiln_missing_header.h>\n' : ''}
/* Calls into libc, so the module links libc.so.6 (an extension that only calls Python needs no library). */
static PyObject *hello(PyObject *self, PyObject *args) { return PyUnicode_FromFormat("hello from C, pid %ld", (long)getpid()); }

static PyMethodDef methods[] = {
  {"hello", hello, METH_NOARGS, "Say hello."},
  {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = { PyModuleDef_HEAD_INIT, "${mod}", NULL, -1, methods };

PyMODINIT_FUNC PyInit_${mod}(void) { return PyModule_Create(&module); }
`;

/**
 * Write an sdist `<dir>/<name_with_underscores>-<version>.tar.gz` (the
 * PEP 625 spelling) with setuptools as its build backend.
 */
export async function makeSdist(dir: string, opts: SdistOptions): Promise<Sdist> {
  const mod = opts.name.replace(/[-.]+/g, '_').toLowerCase();
  const base = `${opts.name.replace(/[-.]+/g, '_')}-${opts.version}`;
  const root = path.join(dir, base);
  await mkdir(root, { recursive: true });
  const setupArgs = [
    `name=${JSON.stringify(opts.name)}`,
    `version=${JSON.stringify(opts.version)}`,
    `description="Kiln test fixture (${opts.kind})"`,
    ...(opts.requiresPython ? [`python_requires=${JSON.stringify(opts.requiresPython)}`] : []),
    ...(opts.requires?.length ? [`install_requires=${JSON.stringify(opts.requires)}`] : []),
    ...(opts.extras ? [`extras_require=${JSON.stringify(opts.extras)}`] : []),
    opts.kind === 'pure' ? `py_modules=[${JSON.stringify(mod)}]` : `ext_modules=[Extension(${JSON.stringify(mod)}, [${JSON.stringify(`${mod}.c`)}])]`,
  ];
  await writeFile(
    path.join(root, 'setup.py'),
    `from setuptools import setup${opts.kind === 'pure' ? '' : ', Extension'}\n\nsetup(\n${setupArgs.map((a) => `    ${a},`).join('\n')}\n)\n`,
  );
  await writeFile(path.join(root, 'pyproject.toml'), '[build-system]\nrequires = ["setuptools>=40.8.0", "wheel"]\nbuild-backend = "setuptools.build_meta"\n');
  if (opts.kind === 'pure') await writeFile(path.join(root, `${mod}.py`), 'def hello():\n    return "hello from Python"\n');
  else await writeFile(path.join(root, `${mod}.c`), C_SOURCE(mod, opts.kind === 'broken'));
  const pkgInfo = [
    'Metadata-Version: 2.1',
    `Name: ${opts.name}`,
    `Version: ${opts.version}`,
    `Summary: Kiln test fixture (${opts.kind})`,
    ...(opts.requiresPython ? [`Requires-Python: ${opts.requiresPython}`] : []),
    ...(opts.requires ?? []).map((r) => `Requires-Dist: ${r}`),
    '',
  ].join('\n');
  await writeFile(path.join(root, 'PKG-INFO'), pkgInfo);
  const filename = `${base}.tar.gz`;
  const file = path.join(dir, filename);
  await tar.create({ gzip: true, file, cwd: dir, portable: true }, [base]);
  return { path: file, filename, sha256: createHash('sha256').update(await readFile(file)).digest('hex') };
}

/** PEP 503 name normalisation. */
export function normalize(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** The project a distribution filename belongs to (normalised): wheels by their first part, sdists by everything before the version. */
export function projectOf(filename: string): string {
  if (filename.endsWith('.whl')) return normalize(filename.split('-')[0]!);
  const stem = filename.replace(/\.(tar\.gz|zip|tar\.bz2)$/, '');
  return normalize(stem.slice(0, stem.lastIndexOf('-')));
}

/** A running local index. */
export interface LocalIndex {
  /** PEP 503 simple root, with a trailing slash, e.g. `http://127.0.0.1:41234/simple/`. */
  url: string;
  /** Files by name: URL and sha256, as the index lists them. */
  files: Map<string, { url: string; sha256: string }>;
  /** Request paths seen, in order. */
  requests: string[];
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Serve `files` (and the build-isolation seed wheels for `opts.python`, default python3) as a PEP
 * 503 simple index: `/simple/`, `/simple/<project>/` with
 * `<a href="…#sha256=…">` links, and the files under `/files/`.
 */
export async function startLocalIndex(files: string[], opts: { python?: string } = {}): Promise<LocalIndex> {
  const all = [...files, ...seedWheels(opts.python).flatMap((s) => (s.file ? [s.file] : []))];
  const byName = new Map<string, { path: string; sha256: string; data: Buffer }>();
  for (const f of all) {
    const data = await readFile(f);
    byName.set(path.basename(f), { path: f, sha256: createHash('sha256').update(data).digest('hex'), data });
  }
  const projects = new Map<string, string[]>();
  for (const n of byName.keys()) projects.set(projectOf(n), [...(projects.get(projectOf(n)) ?? []), n]);

  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname);
    const html = (body: string) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0"></head><body>\n${body}\n</body></html>\n`);
    };
    const p = url.pathname;
    if (p === '/simple/') return html([...projects.keys()].sort().map((n) => `<a href="${esc(n)}/">${esc(n)}</a><br>`).join('\n'));
    let m = /^\/simple\/([^/]+)\/?$/.exec(p);
    if (m) {
      const want = normalize(decodeURIComponent(m[1]!));
      if (!p.endsWith('/') || want !== m[1]) {
        res.writeHead(301, { location: `/simple/${want}/` });
        return res.end();
      }
      const names = projects.get(want);
      if (!names) {
        res.writeHead(404);
        return res.end('not found');
      }
      return html(names.sort().map((n) => `<a href="../../files/${encodeURIComponent(n)}#sha256=${byName.get(n)!.sha256}">${esc(n)}</a><br>`).join('\n'));
    }
    m = /^\/files\/([^/]+)$/.exec(p);
    const file = m ? byName.get(decodeURIComponent(m[1]!)) : undefined;
    if (file) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.data.length });
      return res.end(file.data);
    }
    res.writeHead(404);
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const root = `http://127.0.0.1:${port}`;
  const listed = new Map([...byName].map(([n, f]) => [n, { url: `${root}/files/${encodeURIComponent(n)}`, sha256: f.sha256 }]));
  return {
    url: `${root}/simple/`,
    files: listed,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
