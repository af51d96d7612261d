/**
 * A deliberately plain static web server, standing in for "any web server"
 * that serves Kiln's output path with `--no-site`: files by extension, index
 * files for folders, `404.html` for misses, optionally under a URL prefix.
 * No Kiln code and no special handling of build logs.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.gz': 'application/gzip',
};

export interface StaticServer {
  /** Where the output root is served, ending in `/`. */
  url: string;
  close(): Promise<void>;
}

/** Serve `root` on 127.0.0.1:<free port> under `prefix` (e.g. `/mirror/`). */
export async function serveStatic(root: string, prefix = '/'): Promise<StaticServer> {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const send = (status: number, file: string | null) => {
      if (!file) return res.writeHead(status, { 'content-type': 'text/plain' }).end('not found\n');
      res.writeHead(status, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    };
    const notFound = () => send(404, existsSync(join(base, '404.html')) ? join(base, '404.html') : null);
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (!path.startsWith(prefix) || path.split('/').some((p) => p.startsWith('.'))) return notFound();
    const file = resolve(base, `.${sep}${path.slice(prefix.length)}`);
    if (file !== base && !file.startsWith(base + sep)) return notFound();
    if (!existsSync(file)) return notFound();
    if (statSync(file).isDirectory()) {
      if (!path.endsWith('/')) return res.writeHead(301, { location: `${path}/` }).end();
      return existsSync(join(file, 'index.html')) ? send(200, join(file, 'index.html')) : notFound();
    }
    send(200, file);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
