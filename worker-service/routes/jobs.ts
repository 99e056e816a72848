// GET /jobs/:id, GET /jobs/:id/log (replayed, then live until the job ends), POST /jobs/:id/cancel.
import { createReadStream, existsSync, statSync } from 'node:fs';
import Type from 'typebox';
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, JobIdParamsSchema, JobStatusSchema, isFinalState } from '../../shared/protocol.js';
import { logPath } from '../jobs/log.js';
import { jobStatusOf } from '../jobs/status.js';
import { WorkerError } from '../pool/errors.js';

// A query string is text, and this service's validator never coerces types: the digits are checked here, converted below.
const LogQuerySchema = Type.Object({ offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'byte offset to resume from' })) }, { additionalProperties: false });

const jobs: FastifyPluginAsyncTypebox<{ stateDir: string }> = async (app, opts) => {
  const find = (id: string) => {
    const job = app.pool.jobs.get(id);
    if (!job) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
    return job;
  };

  app.get('/jobs/:id', { schema: { params: JobIdParamsSchema, response: { 200: JobStatusSchema, '4xx': ErrorBodySchema } } }, async (req) => {
    return jobStatusOf(app.pool, find(req.params.id));
  });

  app.post('/jobs/:id/cancel', { schema: { params: JobIdParamsSchema, response: { 200: JobStatusSchema, '4xx': ErrorBodySchema } } }, async (req) => {
    return jobStatusOf(app.pool, await app.pool.cancel(find(req.params.id).id));
  });

  // ?offset=N resumes at byte N of the log (what a reader had received before its connection dropped).
  app.get('/jobs/:id/log', { schema: { params: JobIdParamsSchema, querystring: LogQuerySchema } }, async (req, reply) => {
    const job = find(req.params.id);
    const offset = Number(req.query.offset ?? 0);
    reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').header('x-log-offset', String(offset));
    const file = logPath(opts.stateDir, job.id);
    const fromFile = () => (existsSync(file) && statSync(file).size > offset ? createReadStream(file, { start: offset }) : null);
    // A job that just ended may still be writing its last lines: the live log knows them, the file may not yet.
    if (isFinalState(job.state) && !app.pool.logOf(job.id)) return reply.send(fromFile() ?? '');
    // Running: replay and follow. Queued: wait for a slot, then the same.
    const out = new PassThrough();
    let stop = () => {};
    const attach = (): boolean => {
      const live = app.pool.logOf(job.id);
      if (live) {
        stop = live.follow((d) => out.write(d), () => out.end(), offset);
        return true;
      }
      if (isFinalState(job.state)) {
        const rest = fromFile();
        if (rest) rest.pipe(out);
        else out.end();
        return true;
      }
      return false;
    };
    if (!attach()) {
      const onJob = (changed: { id: string }) => {
        if (changed.id === job.id && attach()) app.pool.off('job', onJob);
      };
      app.pool.on('job', onJob);
      stop = () => app.pool.off('job', onJob);
    }
    req.raw.on('close', () => {
      stop();
      out.end();
    });
    return reply.send(out);
  });
};

export default jobs;
