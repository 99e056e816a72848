// GET /metrics: Prometheus metrics (metrics/workerMetrics.ts), for the worker token's
// holder or a scraper holding KIRO_METRICS_TOKEN, which is good for this route only (the
// auth plugin never takes it as a caller, so every other route answers it 401). The
// figures move on events the worker already emits: the job service's `job` events, its
// slot host's agent and run events, webhook deliveries, Redis outages; the queue, the
// slots and the open streams are read at each scrape; HTTP timings come from onResponse.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { JobStatus } from '../../shared/protocol.js';
import type { WorkerConfig } from '../config.js';
import type { Job } from '../jobs/job.js';
import { WorkerMetrics } from '../metrics/workerMetrics.js';
import { tokenMatches } from './auth.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: WorkerMetrics;
  }
}

const ErrorSchema = Type.Object({ code: Type.String(), message: Type.String() });

export default fp<{ config: WorkerConfig }>(
  async function metricsPlugin(app: FastifyInstance, opts) {
    const { config } = opts;
    const hostId = config.fleet?.workerId;
    const metrics = new WorkerMetrics({ preset: config.agentPreset, hostId, openStreams: () => app.streams.byRoute });
    app.decorate('metrics', metrics);

    const jobs = app.jobs;
    const host = jobs.host;
    const onJob = (status: JobStatus) => metrics.job(status);
    const onStart = (job: Job, at: number) => metrics.agentStarted(job.id, at);
    const onExit = (job: Job, at: number) => metrics.agentExited(job.id, at);
    const onRun = (job: Job, phases: Readonly<Record<string, number>>) => metrics.runEnded(job.id, phases);
    const onRedis = (connection: string) => metrics.redisDown(connection);
    const onDelivery = (event: string, result: string) => metrics.delivery(event, result);
    jobs.on('job', onJob);
    jobs.on('redis-down', onRedis);
    host.on('agent-started', onStart);
    host.on('agent-exited', onExit);
    host.on('run-ended', onRun);
    app.steering?.deliveries.on('delivery', onDelivery);
    app.addHook('onClose', async () => {
      jobs.off('job', onJob);
      jobs.off('redis-down', onRedis);
      host.off('agent-started', onStart);
      host.off('agent-exited', onExit);
      host.off('run-ended', onRun);
      app.steering?.deliveries.off('delivery', onDelivery);
    });

    // The route's pattern, never the URL (ids, query strings); requests that matched no route share one label.
    app.addHook('onResponse', async (req, reply) => {
      metrics.http(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
    });

    const mayScrape = async (req: FastifyRequest, reply: FastifyReply) => {
      if (req.caller?.kind === 'admin') return;
      if (config.metricsToken && tokenMatches(config.metricsToken, req.headers.authorization)) return;
      if (req.caller)
        return reply
          .code(403)
          .send({ code: 'FORBIDDEN', message: 'metrics are for the worker token (KIRO_WORKER_TOKEN) or KIRO_METRICS_TOKEN' });
      return reply.code(401).header('www-authenticate', 'Bearer realm="kiro-worker"').send({
        code: 'UNAUTHORIZED',
        message: 'a valid bearer token is required (Authorization: Bearer <KIRO_WORKER_TOKEN or KIRO_METRICS_TOKEN>)',
      });
    };

    app.get(
      '/metrics',
      {
        onRequest: mayScrape,
        schema: {
          summary: 'Prometheus metrics (text exposition format); the worker token or KIRO_METRICS_TOKEN',
          response: { 200: Type.String(), '4xx': ErrorSchema },
        },
      },
      async (req, reply) => {
        try {
          metrics.slots(await jobs.slots(), hostId ?? 'local');
        } catch (e) {
          // The queue out of reach: the rest still tells what happened (kiro_redis_outages_total among it).
          req.log.warn({ err: String(e) }, 'metrics: the queue and slots could not be read');
        }
        return reply.type(metrics.contentType).send(await metrics.text());
      },
    );
  },
  { name: 'metrics', dependencies: ['auth', 'pool', 'streams'] },
);
