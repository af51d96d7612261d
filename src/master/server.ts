import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { HttpError } from '../errors.ts';
import type { ApiErrorBody } from '../protocol/messages.ts';
import type { MasterContext } from './context.ts';

const NEGOTIATED = Symbol('kiln.negotiatedContentType');
type NegotiatedRequest = { [NEGOTIATED]?: string };

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
