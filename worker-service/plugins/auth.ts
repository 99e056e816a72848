// Bearer-token auth on every route but GET /healthz. The token is compared in
// constant time and never logged (the logger redacts the header).
import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function tokenMatches(expected: string, header: string | undefined): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  // Comparing fixed-length digests keeps the comparison constant-time whatever the lengths.
  return !!m?.[1] && timingSafeEqual(digest(m[1]), digest(expected));
}

export default fp<{ token: string | undefined }>(async function auth(app: FastifyInstance, opts) {
  const { token } = opts;
  if (!token) {
    app.log.warn('no KIRO_WORKER_TOKEN set: accepting unauthenticated requests (allowed on loopback only)');
    return;
  }
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' && req.url === '/healthz') return;
    if (!tokenMatches(token, req.headers.authorization)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="kiro-worker"').send({ code: 'UNAUTHORIZED', message: 'a valid bearer token is required (Authorization: Bearer <KIRO_WORKER_TOKEN>)' });
    }
  });
}, { name: 'auth' });
