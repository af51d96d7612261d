/**
 * Test fixtures for the npm ecosystem: a tiny C/C++ addon package packed
 * with `npm pack`, and a local registry serving packuments and tarballs.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import semver from 'semver';
import * as tar from 'tar';

const execFileP = promisify(execFile);

/** Options of {@link makeAddonPackage}. */
export interface AddonOptions {
  name: string;
  version: string;
  /** Build on N-API (`node_api.h`, `binary.napi_versions: [8]`) instead of plain V8 (`node.h`). */
  napi?: boolean;
  /** Include a header that does not exist, so the compile fails. */
  brokenHeader?: boolean;
  /** `engines.node`, when set. */
  engines?: string;
  /** Also build `build/Release/plain_ext.node`, a shared object that is not a Node addon (like better-sqlite3's test_extension.node). */
  nonAddonExtra?: boolean;
  /**
   * Build with cmake-js instead of node-gyp: a CMakeLists.txt instead of binding.gyp, `"install": "cmake-js compile"`
   * and a dependency on cmake-js at this version range (e.g. `^8.0.0`), no `gypfile`. The CMakeLists.txt takes
   * NAPI_VERSION from the cmake variable `napi_build_version` (default 8).
   */
  cmakeJs?: string;
  /** Extra package.json fields. */
  extra?: Record<string, unknown>;
}

const NAPI_SRC = `#include <node_api.h>
#ifdef KILN_BROKEN
#include <kiln_missing_header.h>
#endif
static napi_value hello(napi_env env, napi_callback_info info) {
  napi_value s;
  (void)info;
  napi_create_string_utf8(env, "hello from napi", NAPI_AUTO_LENGTH, &s);
  return s;
}
NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "hello", NAPI_AUTO_LENGTH, hello, NULL, &fn);
  napi_set_named_property(env, exports, "hello", fn);
  return exports;
}
`;

const NODE_SRC = `#include <node.h>
#ifdef KILN_BROKEN
#include <kiln_missing_header.h>
#endif
namespace kiln_fixture {
void Hello(const v8::FunctionCallbackInfo<v8::Value>& args) {
  args.GetReturnValue().Set(v8::String::NewFromUtf8(args.GetIsolate(), "hello from v8").ToLocalChecked());
}
void Init(v8::Local<v8::Object> exports) { NODE_SET_METHOD(exports, "hello", Hello); }
NODE_MODULE(NODE_GYP_MODULE_NAME, Init)
}
`;

/** The CMakeLists.txt of a cmake-js fixture, laid out as cmake-js's README shows. */
function cmakeLists(opts: AddonOptions, file: string): string {
  const lines = [
    'cmake_minimum_required(VERSION 3.15)',
    'project(kiln_addon C CXX)',
    ...(opts.napi
      ? ['if(NOT DEFINED napi_build_version)', '  set(napi_build_version 8)', 'endif()', 'add_compile_definitions(NAPI_VERSION=${napi_build_version})']
      : ['add_compile_definitions(NODE_GYP_MODULE_NAME=addon)']),
    ...(opts.brokenHeader ? ['add_compile_definitions(KILN_BROKEN)'] : []),
    `add_library(addon SHARED src/${file} \${CMAKE_JS_SRC})`,
    'set_target_properties(addon PROPERTIES PREFIX "" SUFFIX ".node")',
    'target_include_directories(addon PRIVATE ${CMAKE_JS_INC})',
    'target_link_libraries(addon PRIVATE ${CMAKE_JS_LIB})',
    ...(opts.nonAddonExtra ? ['add_library(plain_ext SHARED src/plain_ext.c)', 'set_target_properties(plain_ext PROPERTIES PREFIX "" SUFFIX ".node")'] : []),
  ];
  return lines.join('\n') + '\n';
}

/**
 * Write a minimal native addon package into `dir` and pack it.
 * @returns the `.tgz` path and the package.json written.
 */
export async function makeAddonPackage(dir: string, opts: AddonOptions): Promise<{ tgzPath: string; manifest: Record<string, unknown> }> {
  const src = path.join(dir, 'src');
  await mkdir(src, { recursive: true });
  const file = opts.napi ? 'addon.c' : 'addon.cc';
  const defines = [...(opts.brokenHeader ? ['KILN_BROKEN'] : []), ...(opts.napi ? ['NAPI_VERSION=<(napi_build_version)'] : [])];
  const gyp = {
    ...(opts.napi ? { variables: { 'napi_build_version%': '8' } } : {}),
    targets: [
      { target_name: 'addon', sources: [`src/${file}`], defines },
      ...(opts.nonAddonExtra ? [{ target_name: 'plain_ext', sources: ['src/plain_ext.c'] }] : []),
    ],
  };
  if (opts.nonAddonExtra) await writeFile(path.join(src, 'plain_ext.c'), 'int kiln_plain_ext(int x) { return x + 1; }\n');
  if (opts.cmakeJs) await writeFile(path.join(dir, 'CMakeLists.txt'), cmakeLists(opts, file));
  else await writeFile(path.join(dir, 'binding.gyp'), JSON.stringify(gyp, null, 2));
  await writeFile(path.join(src, file), opts.napi ? NAPI_SRC : NODE_SRC);
  await writeFile(path.join(dir, 'index.js'), "module.exports = require('./build/Release/addon.node');\n");
  const manifest: Record<string, unknown> = {
    name: opts.name,
    version: opts.version,
    description: 'Kiln test addon',
    main: 'index.js',
    license: 'MIT',
    ...(opts.cmakeJs
      ? { scripts: { install: 'cmake-js compile' }, dependencies: { 'cmake-js': opts.cmakeJs } }
      : { scripts: { install: 'node-gyp rebuild' }, gypfile: true }),
    devDependencies: { 'kiln-no-such-dev-dependency': '^1.0.0' },
    ...(opts.napi ? { binary: { napi_versions: [8] } } : {}),
    ...(opts.engines ? { engines: { node: opts.engines } } : {}),
    ...opts.extra,
  };
  await writeFile(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  const { stdout } = await execFileP('npm', ['pack', '--json', '--pack-destination', dir], { cwd: dir });
  const [info] = JSON.parse(stdout) as Array<{ filename: string }>;
  return { tgzPath: path.join(dir, info!.filename), manifest };
}

/** One tarball the local registry serves. */
export interface RegistryEntry {
  tgzPath: string;
  /** Fields merged over the tarball's package.json in the packument. */
  manifest?: Record<string, unknown>;
  /** Release time; defaults to one day apart per version, oldest first. */
  time?: string;
}

async function readPackageJson(tgz: string): Promise<Record<string, unknown>> {
  let text = '';
  await tar.list({
    file: tgz,
    onReadEntry: (e) => {
      if (e.path === 'package/package.json') e.on('data', (d: Buffer) => (text += d.toString('utf8')));
      else e.resume();
    },
  });
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Serve packuments and tarballs on 127.0.0.1 like an npm registry:
 * `GET /<name>` and `/@scope%2fname` (also `/@scope/name`) give full
 * packuments with dist.tarball/integrity/shasum, time and dist-tags.latest
 * (the highest version); `GET /<name>/-/<file>.tgz` gives the tarball.
 * With `upstream`, requests for anything else are relayed to that registry.
 * @returns the registry URL (with trailing '/') and `close()`.
 */
export async function startLocalRegistry(packages: RegistryEntry[], opts: { upstream?: string } = {}): Promise<{ url: string; close(): Promise<void>; requests: string[] }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- packuments are free-form JSON built up field by field
  const docs = new Map<string, Record<string, any>>();
  const tarballs = new Map<string, Buffer>();
  const requests: string[] = [];
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  let day = 0;
  for (const p of packages) {
    const data = await readFile(p.tgzPath);
    const pkg = { ...(await readPackageJson(p.tgzPath)), ...p.manifest } as Record<string, unknown>;
    const name = String(pkg.name);
    const version = String(pkg.version);
    const file = `${name.split('/').pop()}-${version}.tgz`;
    const tarPath = `${name}/-/${file}`;
    tarballs.set(`/${tarPath}`, data);
    const doc = docs.get(name) ?? { name, 'dist-tags': {}, versions: {}, time: { created: new Date(Date.UTC(2024, 0, 1)).toISOString() } };
    doc.versions[version] = {
      ...pkg,
      dist: {
        tarball: url + tarPath,
        integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
        shasum: createHash('sha1').update(data).digest('hex'),
        ...(pkg.dist ?? {}),
      },
    };
    doc.time[version] = p.time ?? new Date(Date.UTC(2024, 0, 2 + day++)).toISOString();
    doc.time.modified = new Date().toISOString();
    const latest = doc['dist-tags'].latest as string | undefined;
    if (!latest || semver.gt(version, latest)) doc['dist-tags'].latest = version;
    if (pkg.description) doc.description = pkg.description;
    docs.set(name, doc);
  }

  server.on('request', (req, res) => {
    const u = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    requests.push(u);
    const tgz = tarballs.get(u);
    if (tgz) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tgz.length });
      res.end(tgz);
      return;
    }
    const doc = docs.get(u.slice(1));
    if (doc) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(doc));
      return;
    }
    if (opts.upstream && req.method === 'GET') {
      // Packages the fixture does not hold (e.g. prebuild-install) come from the upstream registry;
      // their packuments keep upstream tarball URLs, so only documents pass through here.
      fetch(`${opts.upstream.replace(/\/$/, '')}${req.url}`, { headers: { accept: String(req.headers.accept ?? 'application/json') } })
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch((err: Error) => {
          res.writeHead(502);
          res.end(err.message);
        });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"Not found"}');
  });

  return {
    url,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
