// GET /jobs/:id, GET /jobs/:id/log (replayed, then live until the job ends), POST /jobs/:id/cancel.
import { createReadStream, existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, JobIdParamsSchema, JobStatusSchema, isFinalState } from '../../shared/protocol.js';
import { toStatus } from '../jobs/job.js';
import { logPath } from '../jobs/log.js';
import { WorkerError } from '../pool/errors.js';

const jobs: FastifyPluginAsyncTypebox<{ stateDir: string }> = async (app, opts) => {
  const find = (id: string) => {
    const job = app.pool.jobs.get(id);
    if (!job) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
    return job;
  };

  app.get('/jobs/:id', { schema: { params: JobIdParamsSchema, response: { 200: JobStatusSchema, '4xx': ErrorBodySchema } } }, async (req) => {
    const job = find(req.params.id);
    const live = app.pool.logOf(job.id);
    return toStatus(live ? { ...job, outputTail: live.lines() } : job, app.pool.position(job));
  });

  app.post('/jobs/:id/cancel', { schema: { params: JobIdParamsSchema, response: { 200: JobStatusSchema, '4xx': ErrorBodySchema } } }, async (req) => {
    const job = await app.pool.cancel(find(req.params.id).id);
    return toStatus(job, app.pool.position(job));
  });

  app.get('/jobs/:id/log', { schema: { params: JobIdParamsSchema } }, async (req, reply) => {
    const job = find(req.params.id);
    reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
    const file = logPath(opts.stateDir, job.id);
    if (isFinalState(job.state)) return reply.send(existsSync(file) ? createReadStream(file) : '');
    // Running: replay and follow. Queued: wait for a slot, then the same.
    const out = new PassThrough();
    let stop = () => {};
    const attach = (): boolean => {
      const live = app.pool.logOf(job.id);
      if (live) {
        stop = live.follow((d) => out.write(d), () => out.end());
        return true;
      }
      if (isFinalState(job.state)) {
        if (existsSync(file)) createReadStream(file).pipe(out);
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
