// GET /healthz (liveness, no token, says nothing else), GET /readyz (readiness, no token,
// names no job: shared/readiness.ts) and GET /health (the pool,
// and this host's agent: its preset, whether it is installed, its version).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PoolHealthSchema } from '../../shared/protocol.js';
import { HealthzSchema } from '../../shared/readiness.js';
import { ReadyzSchema, type Readyz } from '../../shared/readiness.js';
import { AgentHealth } from '../agent/health.js';
import type { WorkerConfig } from '../config.js';

export interface HealthOptions {
  config: WorkerConfig;
  /** The environment the agent is looked up in (its PATH) and drawn from. */
  env?: NodeJS.ProcessEnv;
}

const health: FastifyPluginAsyncTypebox<HealthOptions> = async (app, opts) => {
  const agent = new AgentHealth(opts.config, opts.env ?? process.env);
  const auth = opts.config.identity.mode;
  app.get('/healthz', { config: { rateLimit: false }, schema: { response: { 200: HealthzSchema } } }, async () => ({ ok: true, auth }));
  /** Why this host should get no traffic now, or null. */
  const notReady = async (): Promise<Required<Omit<Readyz, 'ready'>> | null> => {
    if (app.jobs.draining)
      return { code: 'DRAINING', message: 'this host is shutting down: it finishes its running jobs and takes no new ones' };
    const pool = await app.jobs.health().catch(() => undefined);
    if (!pool?.accepting)
      return {
        code: 'QUEUE_UNAVAILABLE',
        message: 'the job queue (Redis) is out of reach: jobs cannot be stored; this host is ready again once Redis answers',
      };
    const sandbox = await app.sandbox.usable();
    if (sandbox) return { code: 'SANDBOX_UNAVAILABLE', message: sandbox };
    return null;
  };
  app.get(
    '/readyz',
    {
      config: { rateLimit: false },
      schema: {
        summary: 'Readiness: 503 while the host drains, its queue is out of reach, or agents cannot be confined',
        response: { 200: ReadyzSchema, 503: ReadyzSchema },
      },
    },
    async (_req, reply) => {
      const problem = await notReady();
      return problem ? reply.code(503).send({ ready: false, ...problem }) : { ready: true };
    },
  );
  app.get('/health', { schema: { response: { 200: PoolHealthSchema } } }, async (req) => {
    const health = await app.jobs.health();
    // A busy slot names its job only to those who may read that job.
    const slots =
      req.caller?.kind === 'admin'
        ? health.slots
        : await Promise.all(
            health.slots.map(async (slot) => {
              const job = slot.jobId ? await app.jobs.status(slot.jobId).catch(() => undefined) : undefined;
              return slot.jobId && !(job && (await app.guard.mayRead(req.caller, job))) ? { ...slot, jobId: null } : slot;
            }),
          );
    return { ...health, slots, auth, agent: await agent.report() };
  });
};

export default health;
