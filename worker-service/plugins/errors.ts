// One error shape for every failure: { code, message, field? }. Validation errors
// name the field; 5xx messages are hidden (they are logged instead).
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { WorkerError, QueueFullError } from '../errors.js';

interface AjvLikeError {
  instancePath?: string;
  params?: { missingProperty?: string; additionalProperty?: string };
  message?: string;
}

export function fieldOf(err: FastifyError): string | undefined {
  const v = (err.validation as AjvLikeError[] | undefined)?.[0];
  if (!v) return undefined;
  const path = v.params?.missingProperty ?? v.params?.additionalProperty ?? v.instancePath?.replace(/^\//, '').split('/')[0];
  return path || undefined;
}

export default fp(
  async function errors(app: FastifyInstance) {
    app.setErrorHandler((err: FastifyError, req, reply) => {
      if (err instanceof QueueFullError) {
        return reply.code(503).header('retry-after', String(err.retryAfterSeconds)).send({ code: err.code, message: err.message });
      }
      if (WorkerError.is(err) && 'retryAfterSeconds' in err && typeof err.retryAfterSeconds === 'number')
        reply.header('retry-after', String(err.retryAfterSeconds));
      if (WorkerError.is(err))
        return reply.code(err.status).send({ code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) });
      if (err.validation) {
        const field = fieldOf(err);
        const detail = (err.validation as AjvLikeError[])[0]?.message ?? 'is invalid';
        return reply
          .code(400)
          .send({ code: 'BAD_REQUEST', message: field ? `${field} ${detail}` : err.message, ...(field ? { field } : {}) });
      }
      const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      if (status >= 500) {
        req.log.error({ err }, 'request failed');
        return reply.code(status).send({ code: 'INTERNAL', message: 'the worker failed to handle this request; see its log' });
      }
      const code =
        status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST';
      return reply.code(status).send({ code, message: err.message });
    });
    app.setNotFoundHandler((req, reply) =>
      reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
    );
  },
  { name: 'errors' },
);
