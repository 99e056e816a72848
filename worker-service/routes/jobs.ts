// GET /jobs/:id, GET /jobs/:id/log (replayed, then live until the job ends), POST /jobs/:id/cancel.
// Whichever queue is behind them (one host's or a fleet's): see pool/service.ts.
import Type from 'typebox';
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, JobIdParamsSchema, JobStatusSchema } from '../../shared/protocol.js';
import { WorkerError } from '../pool/errors.js';

// A query string is text, and this service's validator never coerces types: the digits are checked here, converted below.
const LogQuerySchema = Type.Object({ offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'byte offset to resume from' })) }, { additionalProperties: false });

const jobs: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/jobs/:id', { schema: { params: JobIdParamsSchema, response: { 200: JobStatusSchema, '4xx': ErrorBodySchema } } }, async (req) => {
    const status = await app.jobs.status(req.params.id);
    if (!status) throw new WorkerError('NOT_FOUND', `no job ${req.params.id}`, 404);
    return status;
  });

  app.post('/jobs/:id/cancel', { schema: { params: JobIdParamsSchema, response: { 200: JobStatusSchema, '4xx': ErrorBodySchema } } }, async (req) => {
    return app.jobs.cancel(req.params.id);
  });

  // ?offset=N resumes at byte N of the log (what a reader had received before its connection dropped).
  app.get('/jobs/:id/log', { schema: { params: JobIdParamsSchema, querystring: LogQuerySchema } }, async (req, reply) => {
    const offset = Number(req.query.offset ?? 0);
    const out = new PassThrough();
    const stop = await app.jobs.followLog(req.params.id, offset, { write: (d) => out.write(d), end: () => out.end() });
    const close = () => {
      stop();
      out.end();
    };
    req.raw.on('close', close);
    // Gone while the log was being opened (a round trip to Redis in a fleet): nothing would call close.
    if (req.raw.destroyed || req.raw.socket.destroyed) close();
    reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').header('x-log-offset', String(offset));
    return reply.send(out);
  });
};

export default jobs;
