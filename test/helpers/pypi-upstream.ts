/**
 * A fake PyPI for sync tests: an in-memory model of projects, releases and
 * files, with a changelog, served over node:http as
 * - XML-RPC (`POST /pypi`: `changelog_since_serial`, `changelog_last_serial`),
 * - the JSON API (`GET /pypi/<name>/json`),
 * - the simple API (`GET /simple/`, `GET /simple/<name>/`; PEP 691 JSON when
 *   asked for, PEP 503 HTML otherwise), and the files (`GET /files/<f>`).
 * Mutate the model between syncs; the changelog records each change with a
 * new serial, as PyPI does.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { normalizePypiName, wheelDistName } from '../../src/ecosystems/pypi/names.ts';
import { faultResponseXml, methodResponseXml, parseMethodCall, type XmlRpcValue } from '../../src/ecosystems/pypi/xmlrpc.ts';

/** One file of a release. */
export interface UpstreamFileModel {
  filename: string;
  packagetype: 'sdist' | 'bdist_wheel';
  content: Buffer;
  sha256: string;
  uploaded: Date;
  yanked: boolean;
  yankedReason: string | null;
  requiresPython: string | null;
}

/** One project. */
export interface UpstreamProject {
  name: string;
  summary: string;
  releases: Map<string, UpstreamFileModel[]>;
}

/** `[name, version, timestamp, action, serial]`, as `changelog_since_serial` returns. */
export type ChangelogTuple = [string, string | null, number, string, number];

/** Options of {@link PypiUpstreamModel.addFile}. */
export interface AddFileOptions {
  kind: 'sdist' | 'wheel';
  requiresPython?: string;
  content?: Buffer;
  /** Wheel tags, default `py3-none-any`. */
  tags?: string;
  /** The file's own name (a real wheel's); default made from the project's name, the version and `tags`. */
  filename?: string;
}

/** The mutable model behind the fake PyPI. */
export class PypiUpstreamModel {
  serial = 0;
  /** Unix seconds of the next event; each event moves it on by 60 s. */
  clock = Date.parse('2024-01-01T00:00:00Z') / 1000;
  readonly events: ChangelogTuple[] = [];
  readonly projects = new Map<string, UpstreamProject>();

  /** Append a raw changelog event (timestamp defaults to the clock). */
  event(name: string, version: string | null, action: string, timestamp?: number): number {
    const ts = timestamp ?? (this.clock += 60);
    this.events.push([name, version, ts, action, ++this.serial]);
    return this.serial;
  }

  private project(name: string): UpstreamProject {
    const p = this.projects.get(normalizePypiName(name));
    if (!p) throw new Error(`no project ${name}`);
    return p;
  }

  createPackage(name: string, summary = ''): void {
    this.projects.set(normalizePypiName(name), { name, summary, releases: new Map() });
    this.event(name, null, 'create');
  }

  /** Upload one file; a first file of a version also logs `new release`. */
  addFile(name: string, version: string, opts: AddFileOptions): UpstreamFileModel {
    const p = this.project(name);
    let files = p.releases.get(version);
    if (!files) {
      files = [];
      p.releases.set(version, files);
      this.event(p.name, version, 'new release');
    }
    const dist = wheelDistName(normalizePypiName(p.name));
    const filename = opts.filename ?? (opts.kind === 'sdist' ? `${dist}-${version}.tar.gz` : `${dist}-${version}-${opts.tags ?? 'py3-none-any'}.whl`);
    const content = opts.content ?? Buffer.from(`${filename} contents`);
    const serial = this.event(p.name, version, `add ${opts.kind === 'sdist' ? 'source' : 'py3'} file ${filename}`);
    const f: UpstreamFileModel = {
      filename,
      packagetype: opts.kind === 'sdist' ? 'sdist' : 'bdist_wheel',
      content,
      sha256: createHash('sha256').update(content).digest('hex'),
      uploaded: new Date(this.events.find((e) => e[4] === serial)![2] * 1000),
      yanked: files.some((x) => x.yanked),
      yankedReason: files.find((x) => x.yanked)?.yankedReason ?? null,
      requiresPython: opts.requiresPython ?? null,
    };
    files.push(f);
    return f;
  }

  /**
   * Change how the project spells its name (`Foo_Bar` → `foo.bar`), as an
   * upload whose metadata spells it anew does on PyPI. No event is logged:
   * the next one (an upload, a yank) carries the new spelling.
   */
  rename(name: string, spelling: string): void {
    const p = this.project(name);
    if (normalizePypiName(spelling) !== normalizePypiName(p.name)) throw new Error(`${spelling} is not a spelling of ${p.name}`);
    p.name = spelling;
  }

  yank(name: string, version: string, reason: string | null = null): void {
    const p = this.project(name);
    for (const f of p.releases.get(version) ?? []) Object.assign(f, { yanked: true, yankedReason: reason });
    this.event(p.name, version, 'yank release');
  }

  unyank(name: string, version: string): void {
    const p = this.project(name);
    for (const f of p.releases.get(version) ?? []) Object.assign(f, { yanked: false, yankedReason: null });
    this.event(p.name, version, 'unyank release');
  }

  removeVersion(name: string, version: string): void {
    const p = this.project(name);
    p.releases.delete(version);
    this.event(p.name, version, 'remove release');
  }

  removePackage(name: string): void {
    const p = this.project(name);
    this.projects.delete(normalizePypiName(name));
    this.event(p.name, null, 'remove project');
  }

  /** The JSON API document of a project, or null (404). */
  jsonDoc(name: string, baseUrl: string): Record<string, unknown> | null {
    const p = this.projects.get(normalizePypiName(name));
    if (!p) return null;
    const releases: Record<string, unknown[]> = {};
    for (const [v, files] of p.releases) {
      releases[v] = files.map((f) => ({
        filename: f.filename,
        packagetype: f.packagetype,
        upload_time_iso_8601: f.uploaded.toISOString(),
        yanked: f.yanked,
        yanked_reason: f.yankedReason,
        requires_python: f.requiresPython,
        digests: { sha256: f.sha256 },
        size: f.content.length,
        url: `${baseUrl}/files/${f.filename}`,
      }));
    }
    return { info: { name: p.name, summary: p.summary, project_url: `${baseUrl}/project/${p.name}/` }, releases, last_serial: this.serial };
  }
}

/** A running fake PyPI. */
export interface PypiUpstream {
  url: string;
  xmlrpcUrl: string;
  simpleUrl: string;
  jsonUrl: string;
  /** `METHOD path` of every request, in order. */
  requests: string[];
  /** Whether `POST /pypi` answers (false: 404, like an index without XML-RPC). */
  xmlrpc: boolean;
  /** Answer the next requests with these HTTP statuses (e.g. 429, 503), one each. */
  failNext(...statuses: number[]): void;
  /** Answer the next requests whose `METHOD path` matches with these statuses, one each. */
  failMatching(match: RegExp, ...statuses: number[]): void;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Serve a model over HTTP.
 * @param listen where: 127.0.0.1 and a free port unless given (the demo's fixed port).
 * @throws Error (EADDRINUSE…) when it cannot listen there.
 */
export async function startPypiUpstream(model: PypiUpstreamModel, listen: { host?: string; port?: number } = {}): Promise<PypiUpstream> {
  const failures: Array<{ match: RegExp | null; status: number }> = [];
  const state: PypiUpstream = {
    url: '',
    xmlrpcUrl: '',
    simpleUrl: '',
    jsonUrl: '',
    requests: [],
    xmlrpc: true,
    failNext: (...s) => void failures.push(...s.map((status) => ({ match: null, status }))),
    failMatching: (match, ...s) => void failures.push(...s.map((status) => ({ match, status }))),
    close: () =>
      new Promise<void>((resolve) => {
        // Idle keep-alive connections (pip's, the master's) would hold close() open.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      state.requests.push(`${req.method} ${path}`);
      const i = failures.findIndex((f) => !f.match || f.match.test(`${req.method} ${path}`));
      if (i >= 0) {
        const { status } = failures.splice(i, 1)[0]!;
        return send(res, status, 'text/plain', `HTTP ${status}\n`);
      }
      const wantsJson = /application\/vnd\.pypi\.simple\.v1\+json/.test(req.headers.accept ?? '');
      if (req.method === 'POST' && path === '/pypi') {
        if (!state.xmlrpc) return send(res, 404, 'text/plain', 'no XML-RPC here\n');
        let call: { method: string; params: XmlRpcValue[] };
        try {
          call = parseMethodCall(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return send(res, 400, 'text/plain', 'bad XML-RPC\n');
        }
        if (call.method === 'changelog_since_serial') {
          const since = Number(call.params[0]);
          return send(res, 200, 'text/xml', methodResponseXml(model.events.filter((e) => e[4] > since)));
        }
        if (call.method === 'changelog_last_serial') return send(res, 200, 'text/xml', methodResponseXml(model.serial));
        return send(res, 200, 'text/xml', faultResponseXml(-32601, `method "${call.method}" is not supported`));
      }
      if (req.method !== 'GET') return send(res, 405, 'text/plain', 'method not allowed\n');
      let m = /^\/pypi\/([^/]+)\/json\/?$/.exec(path);
      if (m) {
        const doc = model.jsonDoc(m[1]!, state.url);
        return doc ? send(res, 200, 'application/json', JSON.stringify(doc)) : send(res, 404, 'application/json', '{"message":"Not Found"}');
      }
      if (path === '/simple/') {
        const projects = [...model.projects.values()];
        if (wantsJson) {
          const body = { meta: { 'api-version': '1.1', '_last-serial': model.serial }, projects: projects.map((p) => ({ name: p.name, '_last-serial': model.serial })) };
          return send(res, 200, 'application/vnd.pypi.simple.v1+json', JSON.stringify(body));
        }
        const links = projects.map((p) => `<a href="/simple/${normalizePypiName(p.name)}/">${p.name}</a>`).join('\n');
        return send(res, 200, 'text/html', `<!DOCTYPE html><html><body>\n${links}\n</body></html>\n`);
      }
      m = /^\/simple\/([^/]+)\/$/.exec(path);
      if (m) {
        const p = model.projects.get(normalizePypiName(m[1]!));
        if (!p) return send(res, 404, 'text/plain', 'not found\n');
        const files = [...p.releases.values()].flat();
        if (wantsJson) {
          const body = {
            meta: { 'api-version': '1.1', '_last-serial': model.serial },
            name: normalizePypiName(p.name),
            versions: [...p.releases.keys()],
            files: files.map((f) => ({
              filename: f.filename,
              url: `../../files/${f.filename}`,
              hashes: { sha256: f.sha256 },
              'requires-python': f.requiresPython,
              yanked: f.yanked ? (f.yankedReason ?? true) : false,
              size: f.content.length,
              'upload-time': f.uploaded.toISOString(),
            })),
          };
          return send(res, 200, 'application/vnd.pypi.simple.v1+json', JSON.stringify(body));
        }
        const links = files.map((f) => `<a href="../../files/${f.filename}#sha256=${f.sha256}">${f.filename}</a>`).join('\n');
        return send(res, 200, 'text/html', `<!DOCTYPE html><html><body>\n${links}\n</body></html>\n`);
      }
      m = /^\/files\/([^/]+)$/.exec(path);
      if (m) {
        const f = [...model.projects.values()].flatMap((p) => [...p.releases.values()].flat()).find((x) => x.filename === m![1]);
        if (f) return send(res, 200, 'application/octet-stream', f.content);
      }
      return send(res, 404, 'text/plain', 'not found\n');
    });
  });
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  state.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  state.xmlrpcUrl = `${state.url}/pypi`;
  state.simpleUrl = `${state.url}/simple/`;
  state.jsonUrl = `${state.url}/pypi`;
  return state;
}
