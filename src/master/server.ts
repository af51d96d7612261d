import { existsSync } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { HttpError } from '../errors.ts';
import type { ApiErrorBody } from '../protocol/messages.ts';
import type { MasterContext } from './context.ts';

const NEGOTIATED = Symbol('kiln.negotiatedContentType');
type NegotiatedRequest = { [NEGOTIATED]?: string };

/** Alias links sit at most this deep (`packages/<eco>/<alias>`), so longer paths cost no more lookups. */
const ALIAS_DEPTH = 3;

/**
 * Where a site path should go when one of its first folders is an alias link
 * (a symlink to a sibling folder, which the publisher makes for other
 * spellings of a package's name): the same path through the link's target,
 * so clients and search engines learn the one canonical URL. Spellings
 * never recorded get no redirect: pip normalises a name before it asks
 * the simple index (PEP 503), so only a recorded spelling can be in an
 * old link.
 * @param root the output path.
 * @param url the request's path and query, e.g. `/project/Foo_Bar/json/?x`.
 * @returns the URL to redirect to, or null when no folder on the way is an alias link.
 */
export async function aliasRedirect(root: string, url: string): Promise<string | null> {
  const [path, ...query] = url.split('?');
  const parts = path!.split('/');
  let dir = root;
  for (let i = 1; i < parts.length && i <= ALIAS_DEPTH; i++) {
    let seg: string;
    try {
      seg = decodeURIComponent(parts[i]!);
    } catch {
      return null;
    }
    if (!seg || seg.startsWith('.') || /[/\\]/.test(seg)) return null;
    const here = join(dir, seg);
    const st = await lstat(here).catch(() => null);
    if (!st) return null;
    if (st.isSymbolicLink()) {
      const target = await readlink(here);
      // Only the publisher's sibling links: anything else a deployment put there is served as it is.
      if (!target || target.includes('/') || target.startsWith('.')) return null;
      parts[i] = encodeURIComponent(target);
      return [parts.join('/'), ...query].join('?');
    }
    if (!st.isDirectory()) return null;
    dir = here;
  }
  return null;
}

/**
 * The master's HTTP server: the worker and admin API under `/api/v1`, and
 * (when `serveSite`) the output path as a static site, with gzipped build
 * logs sent as `Content-Encoding: gzip` so browsers show them as text.
 */
export function createServer(ctx: MasterContext, serveSite: boolean): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: 4 * 1024 * 1024,
    forceCloseConnections: true,
    // Ecosystems whose clients negotiate the format (PEP 691) choose the file to serve.
    rewriteUrl(req) {
      const url = req.url ?? '/';
      if (!serveSite || url.startsWith('/api/')) return url;
      const accept = String(req.headers.accept ?? '');
      for (const eco of ctx.ecosystems.values()) {
        const chosen = eco.negotiate?.(url.split('?')[0]!, accept);
        if (chosen) {
          (req as NegotiatedRequest)[NEGOTIATED] = chosen.contentType;
          return `/${chosen.path.replace(/^\/+/, '')}`;
        }
      }
      return url;
    },
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const type = (req.raw as NegotiatedRequest)[NEGOTIATED];
    if (type && reply.statusCode === 200) reply.header('content-type', type);
    return payload;
  });

  // Uploads arrive as a raw stream: the route hashes it on the way to disk and
  // applies its own size limit, so fastify's body limit must not buffer it.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  app.addContentTypeParser('text/plain', { parseAs: 'buffer', bodyLimit: 4 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error, req, reply) => {
    if (err instanceof HttpError) {
      const body: ApiErrorBody = { error: err.code, message: err.message };
      return reply.status(err.status).send(body);
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status < 500) {
      return reply.status(status).send({ error: 'bad_request', message: err.message } satisfies ApiErrorBody);
    }
    ctx.log.error({ err, url: req.url }, 'request failed');
    return reply.status(500).send({ error: 'internal', message: 'internal error; see the master log' } satisfies ApiErrorBody);
  });

  if (serveSite) {
    // Another spelling of a package's name (an alias link in the output path) gets a 301 to the canonical folder.
    app.addHook('onRequest', async (req, reply) => {
      if ((req.method !== 'GET' && req.method !== 'HEAD') || req.originalUrl.startsWith('/api/')) return;
      const to = await aliasRedirect(ctx.paths.outputPath, req.originalUrl);
      if (to) return reply.redirect(to, 301);
    });
    app.register(fastifyStatic, {
      root: ctx.paths.outputPath,
      wildcard: true,
      index: ['index.html'],
      redirect: true,
      dotfiles: 'deny',
      setHeaders(res, path) {
        if (path.endsWith('.txt.gz')) {
          res.header('Content-Type', 'text/plain; charset=utf-8');
          res.header('Content-Encoding', 'gzip');
        }
      },
    });
  }
  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/api/')) {
      return reply.status(404).send({ error: 'not_found', message: `no API route ${req.method} ${req.url}` } satisfies ApiErrorBody);
    }
    const page = join(ctx.paths.outputPath, '404.html');
    if (serveSite && existsSync(page)) return reply.status(404).type('text/html').sendFile('404.html');
    return reply.status(404).type('text/plain').send('not found\n');
  });
  return app;
}
