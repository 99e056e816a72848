// GET /jobs?mine=1, GET /jobs/:id, GET /jobs/:id/log (replayed, then live until the job ends), POST /jobs/:id/cancel;
// each job only for those who may see it (identity/guard.ts).
// Whichever queue is behind them (one host's or a fleet's): see queue/service.ts.
import Type from 'typebox';
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import {
  ErrorBodySchema,
  JobIdParamsSchema,
  JobListQuerySchema,
  JobListSchema,
  JobStatusSchema,
  MAX_JOBS_PAGE,
} from '../../shared/protocol.js';
import { WorkerError } from '../errors.js';
import { newestFirst, type LogSink } from '../queue/service.js';

// A query string is text, and this service's validator never coerces types: the digits are checked here, converted below.
/** Bytes a log reader may leave unread before it is cut off (it reconnects at its offset). */
const MAX_UNSENT_LOG_BYTES = 4 * 1024 * 1024;

const LogQuerySchema = Type.Object(
  { offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'byte offset to resume from' })) },
  { additionalProperties: false },
);

const jobs: FastifyPluginAsyncTypebox = async (app) => {
  /** The job, if the caller may see it; to anyone else it does not exist. */
  const readable = async (caller: FastifyRequest['caller'], id: string) => {
    const status = await app.jobs.status(id);
    if (!status || !(await app.guard.mayRead(caller, status))) throw new WorkerError('NOT_FOUND', `no job ${id}`, 404);
    return status;
  };

  app.get(
    '/jobs',
    { schema: { querystring: JobListQuerySchema, response: { 200: JobListSchema, '4xx': ErrorBodySchema } } },
    async (req) => {
      const caller = req.caller;
      if (caller?.kind !== 'user')
        throw new WorkerError(
          'BAD_REQUEST',
          "mine=1 lists a signed-in user's jobs (KIRO_AUTH=github); the worker token names nobody",
          400,
          'mine',
        );
      const limit = Number(req.query.limit ?? MAX_JOBS_PAGE);
      const page = await app.jobs.byRequester(caller.login, { limit, cursor: req.query.cursor });
      // Rounds others started on GitHub on this user's pull requests (steering/): on the first page.
      if (req.query.cursor || !app.steering) return page;
      const mine = new Set(page.jobs.map((j) => j.jobId));
      const extra = [];
      for (const id of await app.steering.store.delegatedTo(caller.login, 20)) {
        if (mine.has(id)) continue;
        const job = await app.jobs.status(id);
        if (job && (await app.guard.mayRead(caller, job))) extra.push(job);
      }
      return extra.length ? { ...page, jobs: [...page.jobs, ...extra].sort(newestFirst) } : page;
    },
  );

  app.get('/jobs/:id', { schema: { params: JobIdParamsSchema, response: { 200: JobStatusSchema, '4xx': ErrorBodySchema } } }, async (req) =>
    readable(req.caller, req.params.id),
  );

  app.post(
    '/jobs/:id/cancel',
    { schema: { params: JobIdParamsSchema, response: { 200: JobStatusSchema, '4xx': ErrorBodySchema } } },
    async (req) => {
      const status = await app.jobs.status(req.params.id);
      if (!status) throw new WorkerError('NOT_FOUND', `no job ${req.params.id}`, 404);
      await app.guard.mayCancel(req, status);
      const ended = await app.jobs.cancel(req.params.id);
      await app.guard.record(req, 'cancel', {
        outcome: 'ok',
        owner: status.owner,
        repo: status.repo,
        branch: status.branch,
        prNumber: status.prNumber,
        jobId: status.jobId,
      });
      return ended;
    },
  );

  // ?offset=N resumes at byte N of the log (what a reader had received before its connection dropped).
  app.get(
    '/jobs/:id/log',
    {
      schema: {
        params: JobIdParamsSchema,
        querystring: LogQuerySchema,
        response: {
          200: {
            description: "The agent's output from `offset` on, streamed while the job runs (X-Log-Offset: where it starts)",
            content: { 'text/plain': { schema: Type.String() } },
          },
          '4xx': ErrorBodySchema,
        },
      },
    },
    async (req, reply) => {
      await readable(req.caller, req.params.id);
      const offset = Number(req.query.offset ?? 0);
      const release = app.streams.open(req);
      const out = new PassThrough();
      // Quiet this long: closed; the client resumes at the byte it reached.
      let idle = setTimeout(() => out.end(), app.streams.idleMs);
      let stop: () => void = () => undefined;
      const sink: LogSink = {
        write: (d) => {
          if (out.destroyed || out.writableEnded) return;
          clearTimeout(idle);
          idle = setTimeout(() => out.end(), app.streams.idleMs);
          out.write(d);
          // A reader that does not read: cut rather than hold the log for it (it resumes at its offset).
          if (out.writableLength > MAX_UNSENT_LOG_BYTES) {
            req.log.warn({ unsent: out.writableLength }, 'log reader too slow; closing its connection');
            stop();
            out.destroy();
          }
        },
        end: () => out.end(),
        // The reader waits for room before it reads on (a file replay, Redis), so a slow client costs no memory.
        ready: () =>
          out.writableNeedDrain && !out.destroyed
            ? new Promise<void>((r) => {
                out.once('drain', r);
                out.once('close', r);
              })
            : Promise.resolve(),
      };
      try {
        stop = await app.jobs.followLog(req.params.id, offset, sink);
      } catch (e) {
        release();
        clearTimeout(idle);
        throw e;
      }
      const close = () => {
        stop();
        clearTimeout(idle);
        release();
        out.end();
      };
      req.raw.on('close', close);
      // Gone while the log was being opened (a round trip to Redis in a fleet): nothing would call close.
      if (req.raw.destroyed || req.raw.socket.destroyed) close();
      reply
        .header('content-type', 'text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .header('x-log-offset', String(offset));
      // Fastify sends a stream as it is; the response schema describes its bytes (a string), which the type provider then expects.
      return reply.send(out as unknown as string);
    },
  );
};

export default jobs;
